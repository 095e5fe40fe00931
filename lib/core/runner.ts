/**
 * The local runner: `flow.run()`. Schedules the flow's tasks as their upstream tasks finish, runs
 * each (and each mapped child) as a `TaskRun` (attempt.ts, the same attempt the task Lambda runs),
 * and takes the flow through Scheduled → Running → its final state from the reference tasks.
 */
import { systemClock, type Clock } from "./clock";
export { systemClock, type Clock } from "./clock";
import { getRunContext, withRunContext, type AlertListener, type RunContext } from "./context";
export type { AlertEvent, AlertListener } from "./context";
import { FlowDefinitionError, SecretNotFoundError } from "./errors";
import type { FlowGraph, FlowNode, RunnableFlow } from "./graph";
import { preflightChecks, type PreflightCheck } from "./handlers";
import { Failed, Pending, Running, Scheduled, State, Success } from "./states";
import type { Task } from "./task";
import { childInputs, childUpstreamStates, expandStates, mappedState, planMap, upstreamResult, type MapPlan } from "./map";
import { FIRST_LOOP, TaskRun, type ApproveFunction, type AttemptEnvironment, type TaskRunOwner, type UpstreamStates } from "./attempt";
import { transition, type TransitionEventContext, type TransitionListener } from "./transition";
export { UPSTREAM_SKIPPED_MESSAGE } from "./map";
export {
  type ApproveFunction,
  resolveInputs,
  retryingMessage,
  retryingState,
  runTaskAttempt,
  type TaskAttemptRequest,
  type UpstreamStates,
} from "./attempt";
export { transition, type TransitionEvent, type TransitionListener } from "./transition";

export interface RunOptions {
  /** Values for the flow's `parameter(...)`s. @default {} */
  parameters?: Record<string, unknown>;
  /** The clock used for retry waits, timeouts and state times. @default systemClock */
  clock?: Clock;
  /** Source of randomness for FULL jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Called after every task and flow transition (live progress, traces, events). @default - none */
  onTransition?: TransitionListener;
  /**
   * At most this many tasks run at once; ready tasks beyond it wait their turn, in topological
   * order. Caps memory and CPU for very wide flows (100,000 tasks off one root). A cap also delays
   * tasks whose bodies wait on I/O, so set it only for flows that need it.
   * @default - no cap: every task starts as soon as its upstream tasks finished
   */
  maxConcurrency?: number;
  /**
   * Answers each task that waits for approval (`trigger: triggers.manualOnly`): return `true` to
   * approve, or a string to reject with that reason (the task ends `Cancelled("Rejected: …")`;
   * `false` rejects as "not approved").
   * Sub-flows run by `flowRun` are answered by it too.
   * @default - none: a run that reaches such a task rejects with an error naming this option
   */
  approve?: ApproveFunction;
  /**
   * Called after each alert a notifier in the run delivered (`slackNotifier`, `consoleNotifier`, …,
   * any `channelNotifier`), with its channel, subject, state and time; a failed delivery is not
   * reported. Sub-flows run by `flowRun` report to it too. `flowhooks run --report` lists these.
   * @default - none
   */
  onAlert?: AlertListener;
}

/** The flow's final state from its reference tasks' final states (Prefect's `determine_final_state`). */
export function flowFinalState(referenceStates: readonly State[], result?: unknown): State {
  // A mapped reference task stands for its children (Prefect 1.x).
  const states = expandStates(referenceStates);
  if (states.some((s) => s.isFailed())) return new Failed("Some reference tasks failed.", { result });
  if (states.every((s) => s.isSuccessful())) return new Success("All reference tasks succeeded.", { result });
  return new Success("No reference tasks failed.", { result });
}

/** Checks run parameters against the flow's `parameter(...)`s, so a typo fails before any task runs. */
export function checkParameters(flow: RunnableFlow, parameters: Readonly<Record<string, unknown>>): void {
  const graph = flow.graph();
  const given = Object.keys(parameters);
  for (let i = 0; i < given.length; i++) {
    const name = given[i]!;
    if (!knownParameters(graph).has(name)) {
      const list = graph.parameters.length ? graph.parameters.map((p) => `\`${p}\``).join(", ") : "none";
      throw new FlowDefinitionError(`Flow \`${flow.name}\` has no parameter \`${name}\`; its parameters are: ${list}.`);
    }
  }
  const needed = requiredParameters(graph);
  for (let i = 0; i < needed.length; i++) {
    const name = needed[i]!;
    if (!Object.hasOwn(parameters, name)) {
      throw new FlowDefinitionError(
        `Flow \`${flow.name}\` needs the parameter \`${name}\`; pass run({ parameters: { ${name}: … } }) ` +
          `or --param ${name}=…, or give it a default: parameter("${name}", defaultValue).`,
      );
    }
  }
}

const known = new WeakMap<FlowGraph, ReadonlySet<string>>();

/** The flow's parameter names (cached per graph: the task Lambda checks them on every first attempt). */
function knownParameters(graph: FlowGraph): ReadonlySet<string> {
  let names = known.get(graph);
  if (!names) known.set(graph, (names = new Set(graph.parameters)));
  return names;
}

const required = new WeakMap<FlowGraph, string[]>();

/** The parameters without a default that some task reads, in the order tasks read them (cached per graph). */
function requiredParameters(graph: FlowGraph): string[] {
  let names = required.get(graph);
  if (!names) {
    const found = new Set<string>();
    for (const node of graph.nodes) for (const input of node.inputs) if (input.kind === "parameter" && !input.hasDefault) found.add(input.name);
    names = [...found];
    required.set(graph, names);
  }
  return names;
}

const preflights = new WeakMap<FlowGraph, PreflightCheck[]>();

/** The distinct preflight checks of the flow's and its tasks' state handlers (cached per graph). */
function preflightsOf(flow: RunnableFlow, graph: FlowGraph): PreflightCheck[] {
  let checks = preflights.get(graph);
  if (!checks) {
    checks = preflightChecks([...flow.stateHandlers, ...graph.nodes.flatMap((n) => n.stateHandlers)]);
    preflights.set(graph, checks);
  }
  return checks;
}

/**
 * Runs the state handlers' preflight checks (a notifier's secret) before the flow starts: what
 * would fail the first alert, and with it a task that still had retries, fails here, once.
 */
async function runPreflight(flow: RunnableFlow, checks: readonly PreflightCheck[]): Promise<void> {
  const results = await Promise.allSettled(checks.map((c) => c.check()));
  const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (errors.length === 0) return;
  if (errors.length === 1) throw errors[0];
  const message = `Flow \`${flow.name}\` cannot start; its state handlers need:\n${errors.map((e) => `  - ${e instanceof Error ? e.message : String(e)}`).join("\n")}`;
  throw errors.every((e) => e instanceof SecretNotFoundError) ? new SecretNotFoundError(message) : new FlowDefinitionError(message);
}

/** Checks what the flow's state handlers need (a notifier's secret) as `flow.run()` does first; one error for all that is missing. */
export async function checkPreflight(flow: RunnableFlow): Promise<void> {
  const checks = preflightsOf(flow, flow.graph());
  if (checks.length > 0) await runPreflight(flow, checks);
}

/** `flow.run()`: Scheduled → Running → the final state from the reference tasks, tasks run as their upstreams finish. */
export async function runFlow(
  flow: RunnableFlow,
  options: RunOptions = {},
): Promise<State & { result: Map<Task<any, any>, State> }> {
  const outer = getRunContext();
  if (!outer) {
    const executionId = `local:${flow.name}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const context: RunContext = { flowName: flow.name, executionId, runtime: "local" };
    if (options.onAlert) context.onAlert = options.onAlert;
    return withRunContext(context, () => runFlow(flow, options));
  }
  // A run started inside another run's context (a test's, the emulator's) still hears its own alerts.
  if (options.onAlert && outer.onAlert !== options.onAlert) return withRunContext({ ...outer, onAlert: options.onAlert }, () => runFlow(flow, options));
  const graph = flow.graph();
  const parameters = options.parameters ?? {};
  checkParameters(flow, parameters);
  const checks = preflightsOf(flow, graph);
  if (checks.length > 0) await runPreflight(flow, checks);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const ctx = { clock, onTransition: options.onTransition, kind: "flow" as const };
  const taskStates = new Map<Task<any, any>, State>();

  const started = await transition(flow, flow.stateHandlers, new Scheduled(undefined, { startTime: clock.now() }), new Running("Running flow."), ctx);
  if (started.final || !started.state.isRunning()) {
    return withResult(started.state, taskStates);
  }
  const running = started.state;

  const nodes = graph.nodes;
  const schedule = scheduleOf(graph);
  // Final states by topological position.
  const finals: State[] = new Array(nodes.length);
  const cap = concurrencyCap(options.maxConcurrency);
  // Tasks start when their last upstream task finishes, not as promises parked on their upstream:
  // a wide fan-out keeps no suspended frame per waiting task.
  const waiting = schedule.upstreamCount.slice();
  // Ready tasks, first in first started (in topological order among those readied together).
  const ready: number[] = [];
  let nextReady = 0;
  let inFlight = 0;
  let left = nodes.length;
  let settle!: (error?: unknown) => void;
  const allDone = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  // Spreading one template (same shape every time) is a fast clone; `{ ...outer, attempt: 1 }` per task is not.
  const taskContext: RunContext = { ...outer, attempt: 1, loop: FIRST_LOOP };
  const env: AttemptEnvironment = {
    upstreamStates: EMPTY_STATES,
    parameters,
    clock,
    random,
    onTransition: options.onTransition,
    approve: options.approve,
    runSubFlow: (sub, subParameters) => runSubFlow(sub, { parameters: { ...subParameters }, clock, random, approve: options.approve }),
  };
  const shared: TransitionEventContext = { clock, kind: "task", attempt: 1 };
  const start = (i: number) => {
    const node = nodes[i]!;
    if (node.mapped) {
      inFlight++;
      const whole = (name: string) => finals[schedule.position.get(name)!];
      const plan = planMap(node, { state: whole, parameters });
      withRunContext({ ...taskContext }, () => void runMappedTask(env, node, i, run, plan, whole, taskContext, shared));
      return;
    }
    const up = schedule.upstream[i]!;
    const upstream: State[] = new Array(up.length);
    for (let k = 0; k < up.length; k++) upstream[k] = finals[up[k]!]!;
    const taskRun = new TaskRun(env, node, {
      index: i,
      owner: run,
      attempt: 1,
      initialState: new Pending(),
      retriesInProcess: true,
      upstream,
      inputs: localInputs(node, schedule.inputs[i]!, finals, parameters),
    });
    inFlight++;
    // First attempts share one context (nothing changes it; a later attempt enters its own).
    withRunContext(taskContext, startTaskRun, taskRun);
  };
  // Ready tasks start from a loop, never from inside the frame of the task that readied them, so a
  // long chain of synchronous tasks does not grow the stack; a task that finishes after an await
  // starts its downstream tasks at once (no microtask hop per task).
  const drain = batchedStarter(
    () => nextReady < ready.length && inFlight < cap,
    () => start(ready[nextReady++]!),
    () => {
      if (nextReady === ready.length) {
        ready.length = 0;
        nextReady = 0;
      }
    },
  );
  const run: TaskRunOwner = {
    finished(index, state) {
      finals[index] = state;
      inFlight--;
      for (const d of schedule.downstream[index]!) if (--waiting[d] === 0) ready.push(d);
      if (--left === 0) settle();
      else drain();
    },
    fail: (error) => settle(error ?? new Error(String(error))),
  };
  for (let i = 0; i < nodes.length; i++) if (waiting[i] === 0) ready.push(i);
  if (left === 0) settle();
  else drain();
  await allDone;

  // Report states in the flow's topological order, whatever order tasks finished in.
  const ordered = new Map<Task<any, any>, State>();
  for (let i = 0; i < nodes.length; i++) ordered.set(nodes[i]!.task, finals[i]!);
  const proposed = flowFinalState(graph.referenceTasks.map((t) => ordered.get(t)!), ordered);
  const ended = await transition(flow, flow.stateHandlers, running, proposed, ctx);
  return withResult(ended.state, ordered);
}

/**
 * A `flowRun` task's body: the other flow's `flow.run()`, in a run context of its own (its flow
 * name, an execution id under this run's, the flows above it). A flow already running above this
 * one is refused: that would never end.
 */
function runSubFlow(sub: RunnableFlow, options: RunOptions): Promise<State> {
  const outer = getRunContext();
  const parentFlows = outer ? [...(outer.parentFlows ?? []), outer.flowName] : [];
  if (parentFlows.includes(sub.name)) {
    return Promise.reject(
      new FlowDefinitionError(
        `Flow \`${sub.name}\` is already running above this flowRun (${[...parentFlows, sub.name].map((n) => `\`${n}\``).join(" → ")}), a cycle; remove that flowRun.`,
      ),
    );
  }
  const context: RunContext = {
    flowName: sub.name,
    executionId: `${outer?.executionId ?? "local"}/${sub.name}`,
    runtime: outer?.runtime ?? "local",
    parentFlows,
  };
  if (outer?.region !== undefined) context.region = outer.region;
  if (outer?.onAlert) context.onAlert = outer.onAlert;
  return withRunContext(context, () => runFlow(sub, options));
}

/**
 * A mapped task in the local runner: the parent ends at once when `planMap` said so; else its
 * children run (each a full task run, in its own context with `mapIndex`), at most
 * `mapConcurrency` at once and at most START_BATCH started per event-loop turn, and the parent
 * goes `Pending → Mapped` once they all finished.
 */
async function runMappedTask(
  env: AttemptEnvironment,
  node: FlowNode,
  index: number,
  run: TaskRunOwner,
  plan: MapPlan,
  whole: (taskName: string) => State | undefined,
  taskContext: RunContext,
  shared: TransitionEventContext,
): Promise<void> {
  const task = node.task;
  const ctx: TransitionEventContext = env.onTransition ? { clock: env.clock, onTransition: env.onTransition, kind: "task", attempt: 1 } : shared;
  try {
    if (plan.verdict) {
      run.finished(index, (await transition(task, node.stateHandlers, new Pending(), plan.verdict, ctx)).state);
      return;
    }
    const children = plan.children;
    const count = children.length;
    const states: State[] = new Array(count);
    const cap = task.mapConcurrency ?? Infinity;
    await new Promise<void>((resolve, reject) => {
      if (count === 0) return resolve();
      let next = 0;
      let running = 0;
      let left = count;
      const childRun: TaskRunOwner = {
        finished(childIndex, state) {
          states[childIndex] = state;
          running--;
          if (--left === 0) resolve();
          else pump();
        },
        fail: reject,
      };
      const pump = batchedStarter(
        () => next < count && running < cap,
        () => {
          const child = children[next++]!;
          running++;
          const context: RunContext = { ...taskContext, mapIndex: child.index };
          const childTaskRun = new TaskRun(env, node, {
            index: child.index,
            owner: childRun,
            attempt: 1,
            initialState: new Pending(),
            retriesInProcess: true,
            upstream: childUpstreamStates(node, child, whole),
            inputs: childInputs(node, child, whole, env.parameters),
          });
          withRunContext(context, startTaskRun, childTaskRun);
        },
      );
      pump();
    });
    run.finished(index, (await transition(task, node.stateHandlers, new Pending(), mappedState(states), ctx)).state);
  } catch (error) {
    run.fail(error);
  }
}

/** Starts a task run (passed to `withRunContext` with its argument: no closure per task). */
function startTaskRun(run: TaskRun): void {
  run.start();
}

/**
 * A function that starts work while `hasNext()`, at most START_BATCH per event-loop turn (the rest
 * on the next turns). Quick tasks started together finish within the turn, so a 100,000-task
 * fan-out never holds 100,000 half-run tasks (and their promises) at once; a task waiting on I/O
 * keeps its place and the next batch starts without waiting for it. Ready tasks start from this
 * loop, never from inside the frame of the task that readied them, so a long chain of synchronous
 * tasks does not grow the stack: a call made while the loop runs returns at once.
 */
function batchedStarter(hasNext: () => boolean, startNext: () => void, afterLoop?: () => void): () => void {
  let draining = false;
  let startedThisTurn = 0;
  let nextTurn = false;
  const drain = () => {
    if (draining) return;
    draining = true;
    try {
      while (hasNext()) {
        if (startedThisTurn >= START_BATCH) {
          if (!nextTurn) {
            nextTurn = true;
            setImmediate(() => {
              nextTurn = false;
              startedThisTurn = 0;
              drain();
            });
          }
          break;
        }
        startedThisTurn++;
        startNext();
      }
    } finally {
      draining = false;
    }
    afterLoop?.();
  };
  return drain;
}

interface Schedule {
  /** Topological position of each task, by name. */
  position: Map<string, number>;
  /** Positions of each node's downstream nodes. */
  downstream: number[][];
  /** Positions of each node's upstream nodes, in `node.upstream` order. */
  upstream: number[][];
  /** For each node's inputs: the position of the task an input reads, or -1 (a parameter or a constant). */
  inputs: number[][];
  /** How many upstream tasks each node waits for. */
  upstreamCount: Int32Array;
}

/** Tasks started per event-loop turn at most (see `drain` in `runFlow`). */
const START_BATCH = 1024;

const EMPTY_STATES: UpstreamStates = { get: () => undefined };

/** What `maxConcurrency` allows at once: no cap unless it is a whole number from 1. */
function concurrencyCap(max: number | undefined): number {
  if (max === undefined) return Infinity;
  if (!Number.isInteger(max) || max < 1) {
    throw new FlowDefinitionError(`maxConcurrency is ${String(max)}; it must be a whole number from 1 (or left out for no cap).`);
  }
  return max;
}

/** `resolveInputs` for the local runner: upstream results by position. */
function localInputs(node: FlowNode, positions: readonly number[], finals: readonly State[], parameters: Readonly<Record<string, unknown>>): unknown[] {
  const inputs = node.inputs;
  const args: unknown[] = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input.kind === "task") args[i] = upstreamResult(finals[positions[i]!]);
    else if (input.kind === "parameter") args[i] = Object.hasOwn(parameters, input.name) ? parameters[input.name] : input.default;
    else args[i] = input.value;
  }
  return args;
}

const schedules = new WeakMap<FlowGraph, Schedule>();

/** The graph's edges as positions, computed once per graph (a flow's graph is cached until it changes). */
function scheduleOf(graph: FlowGraph): Schedule {
  let schedule = schedules.get(graph);
  if (schedule) return schedule;
  const nodes = graph.nodes;
  const position = new Map<string, number>();
  const downstream: number[][] = [];
  const upstream: number[][] = [];
  const inputs: number[][] = [];
  const upstreamCount = new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    position.set(node.name, i);
    downstream.push([]);
    upstreamCount[i] = node.upstream.length;
    upstream.push(node.upstream.map((u) => position.get(u.name)!));
    for (const u of upstream[i]!) downstream[u]!.push(i);
    inputs.push(node.inputs.map((input) => (input.kind === "task" ? position.get(input.task.name)! : -1)));
  }
  schedule = { position, downstream, upstream, inputs, upstreamCount };
  schedules.set(graph, schedule);
  return schedule;
}

function withResult(state: State, result: Map<Task<any, any>, State>): State & { result: Map<Task<any, any>, State> } {
  if (state.result === undefined) state.result = result;
  return state as State & { result: Map<Task<any, any>, State> };
}
