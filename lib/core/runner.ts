/**
 * The engine. `runTaskAttempt` is the one code path that decides a task's next state; the local
 * runner (`runFlow`) and the task Lambda both call it. Every state change goes through
 * `transition`, which runs the state-handler chain and tells observers.
 */
import { systemClock, type Clock } from "./clock";
export { systemClock, type Clock } from "./clock";
import { getRunContext, withRunContext, type RunContext } from "./context";
import { FlowDefinitionError, SecretNotFoundError } from "./errors";
import type { FlowGraph, FlowNode, RunnableFlow } from "./graph";
import {
  chainError,
  isThenable,
  LastHandlerPending,
  preflightChecks,
  runChain,
  runStateHandlers,
  type ChainOutcome,
  type PreflightCheck,
  type StateHandler,
} from "./handlers";
import { hasRetriesLeft, retryDelaySeconds } from "./retry";
import { RETRY, Signal } from "./signals";
import {
  Failed,
  Pending,
  Retrying,
  Running,
  Scheduled,
  Skipped,
  State,
  Success,
  TimedOut,
  TriggerFailed,
} from "./states";
import type { Task } from "./task";
import {
  childInputs,
  childUpstreamStates,
  expandStates,
  mappedState,
  planMap,
  upstreamResult,
  UPSTREAM_SKIPPED_MESSAGE,
  type MapPlan,
} from "./map";
export { UPSTREAM_SKIPPED_MESSAGE } from "./map";

/** One state change of a task or a flow, after its handler chain ran. */
export interface TransitionEvent {
  kind: "task" | "flow";
  /** The task's or the flow's name. */
  name: string;
  object: Task<any, any> | RunnableFlow;
  oldState: State;
  newState: State;
  /** The task's attempt (1-based); absent for flows. */
  attempt?: number;
  /** A mapped task's child: its index (the child is named `name[mapIndex]`); absent otherwise. */
  mapIndex?: number;
  at: Date;
}

export type TransitionListener = (event: TransitionEvent) => void;

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
}

interface TransitionContext {
  clock: Clock;
  onTransition?: TransitionListener;
}

type TransitionEventContext = TransitionContext & { kind: "task" | "flow"; attempt?: number };

/**
 * A state change: runs the handler chain, then tells the listener what the object ended in.
 * Synchronous while every handler is (see `runStateHandlers`); `await` the result either way.
 */
export function transition<T extends Task<any, any> | RunnableFlow>(
  obj: T,
  handlers: readonly StateHandler<T>[],
  oldState: State,
  newState: State,
  ctx: TransitionEventContext,
): ChainOutcome | Promise<ChainOutcome> {
  const outcome = runStateHandlers(obj, handlers, oldState, newState);
  if (!ctx.onTransition) return outcome;
  if (isThenable(outcome)) return outcome.then((o) => tell(obj, oldState, o, ctx));
  return tell(obj, oldState, outcome, ctx);
}

function tell(obj: Task<any, any> | RunnableFlow, oldState: State, outcome: ChainOutcome, ctx: TransitionEventContext): ChainOutcome {
  const event: TransitionEvent = {
    kind: ctx.kind,
    name: obj.name,
    object: obj,
    oldState,
    newState: outcome.state,
    attempt: ctx.attempt,
    at: ctx.clock.now(),
  };
  if (ctx.kind === "task") {
    const mapIndex = getRunContext()?.mapIndex;
    if (mapIndex !== undefined) event.mapIndex = mapIndex;
  }
  ctx.onTransition?.(event);
  return outcome;
}

/** The message of the state that follows failed attempt `attempt`. */
export function retryingMessage(attempt: number, maxRetries: number): string {
  return `Retrying Task (after attempt ${attempt} of ${maxRetries + 1})`;
}

/** The `Retrying` state after failed attempt `attempt`, with the next attempt's start time. */
export function retryingState(
  task: Task<any, any>,
  attempt: number,
  now: Date,
  random: () => number = Math.random,
  options: { message?: string; result?: unknown } = {},
): Retrying {
  const delayMs = retryDelaySeconds(task.retry, attempt, random) * 1000;
  return new Retrying(options.message ?? retryingMessage(attempt, task.retry.maxRetries), {
    runCount: attempt,
    startTime: new Date(now.getTime() + delayMs),
    result: options.result,
  });
}

/** Final states of upstream tasks by task name (a `Map` will do). */
export interface UpstreamStates {
  get(name: string): State | undefined;
}

export interface TaskAttemptRequest {
  node: FlowNode;
  /** 1-based attempt number (Step Functions' `$$.State.RetryCount` + 1). */
  attempt: number;
  /** The state before this attempt: `Pending()` for the first, the `Retrying` state for later ones. */
  initialState: State;
  /** Final states of the node's upstream tasks, by task name. */
  upstreamStates: UpstreamStates;
  /**
   * A mapped task's child: its upstream states (in `node.upstream` order) and arguments, from
   * `childUpstreamStates` / `childInputs`, instead of reading `upstreamStates` by name.
   * @default - the node's own, from `upstreamStates`
   */
  mapChild?: { upstream: State[]; inputs: unknown[] };
  /** The flow's parameters. */
  parameters: Readonly<Record<string, unknown>>;
  clock: Clock;
  random?: () => number;
  onTransition?: TransitionListener;
}

/**
 * Runs one attempt of a task: trigger and skip checks (first attempt only), Running, the body with
 * its timeout, then Retrying if the attempt failed and retries remain. Resolves to the state the
 * attempt ended in: a finished state, or `Retrying` with the next attempt's `startTime`.
 */
export function runTaskAttempt(req: TaskAttemptRequest): Promise<State> {
  const outer = getRunContext();
  // Entering the attempt's context directly (not by re-calling this function) saves an async frame per attempt.
  if (outer && outer.attempt !== req.attempt) return withRunContext({ ...outer, attempt: req.attempt }, () => runAttempts(req, req.node, req.attempt, req.initialState));
  return runAttempts(req, req.node, req.attempt, req.initialState);
}

/** What every task of a run shares (the local runner passes one object for all its tasks). */
type AttemptEnvironment = Omit<TaskAttemptRequest, "node" | "attempt" | "initialState">;

/** What the local runner adds to an attempt: retries in-process, and whom to tell about the final state. */
interface LocalTask {
  /** The task's own run context (entered once per task); its `attempt` is updated before each attempt. */
  context: RunContext;
  /** The node's index in the flow's topological order. */
  index: number;
  run: LocalRun;
  /** The upstream tasks' final states, in `node.upstream` order (all known when the task starts). */
  upstream: State[];
  /** The body's arguments. */
  inputs: unknown[];
  /** The transition context every task of the run shares when there is no `onTransition` listener. */
  shared: TransitionEventContext;
}

interface LocalRun {
  /** Records a task's final state and starts the downstream tasks it made ready. */
  finished(index: number, state: State): void;
  /** An error escaped a task (a definition error): the run rejects with it. */
  fail(error: unknown): void;
}

/**
 * One attempt (Lambda: `local` absent) or, for the local runner, the task's whole run: attempts
 * until a final state, sleeping until each `Retrying` state's
 * `startTime`. One async frame per task, so nothing sits between a task finishing and its
 * downstream starting. Each step is awaited only when it returned a thenable: a quick task with
 * synchronous handlers and body goes through an attempt without a microtask hop.
 */
async function runAttempts(
  req: AttemptEnvironment,
  node: FlowNode,
  firstAttempt: number,
  initialState: State,
  local?: LocalTask,
  /** The first attempt already ran (in `startLocalTask`) and ended in `initialState`: go on from there. */
  resumed?: { policyRetrying: State | undefined },
): Promise<State> {
  const { clock, random = Math.random } = req;
  const task = node.task;
  const handlers = node.stateHandlers;
  // The attempt in `ctx` is read only by the listener; without one, the run's shared object will do.
  const ctx = req.onTransition ? { clock, onTransition: req.onTransition, kind: "task" as const, attempt: firstAttempt } : (local?.shared ?? { clock, kind: "task" as const, attempt: firstAttempt });
  let state = initialState;
  // The Retrying this code made from the retry policy (any other one came from a state handler).
  let policyRetrying: State | undefined = resumed?.policyRetrying;

  try {
    for (let attempt = firstAttempt; ; attempt++) {
      ctx.attempt = attempt;
      if (local) local.context.attempt = attempt;
      attempt: {
        if (resumed && attempt === firstAttempt) break attempt;
        // Upstream states never change within a run, so after attempt 1 these checks pass again;
        // they fail there only when the platform counted a transient retry (Lambda throttling) as an attempt.
        {
          const upstream = local ? local.upstream : (req.mapChild?.upstream ?? upstreamStatesOf(node, req.upstreamStates));
          let verdict: State | undefined;
          if (task.skipOnUpstreamSkip && anySkipped(upstream)) verdict = new Skipped(UPSTREAM_SKIPPED_MESSAGE);
          else if (!task.trigger.check(expandStates(upstream))) verdict = new TriggerFailed(task.trigger.failureMessage);
          if (verdict) {
            const ended = transition(task, handlers, attempt === 1 ? state : new Pending(), verdict, ctx);
            state = (isThenable(ended) ? await ended : ended).state;
            break attempt;
          }
        }

        // Without a listener the chain runs directly, and a pending last handler is awaited here (see LastHandlerPending).
        const starting = ctx.onTransition ? transition(task, handlers, state, new Running("Starting task run."), ctx) : runChain(task, handlers, state, new Running("Starting task run."));
        let toRunning: ChainOutcome;
        if (starting instanceof LastHandlerPending) {
          try {
            toRunning = starting.settle(await starting.returned);
          } catch (error) {
            toRunning = chainError(error);
          }
        } else toRunning = isThenable(starting) ? await starting : starting;
        state = toRunning.state;
        // A handler that failed, or signalled another state, ends the attempt before the body runs.
        if (toRunning.final || !state.isRunning()) break attempt;

        const running = state;
        const ran = runBody(task, local ? local.inputs : (req.mapChild?.inputs ?? resolveInputs(node, req.upstreamStates, req.parameters)), clock);
        const bodyState = isThenable(ran) ? await ran : ran;
        const proposed = bodyState instanceof Retrying ? retryFromSignal(task, attempt, bodyState, clock, random) : bodyState;
        policyRetrying = proposed;
        const finishing = ctx.onTransition ? transition(task, handlers, running, proposed, ctx) : runChain(task, handlers, running, proposed);
        let afterBody: ChainOutcome;
        if (finishing instanceof LastHandlerPending) {
          try {
            afterBody = finishing.settle(await finishing.returned);
          } catch (error) {
            afterBody = chainError(error);
          }
        } else afterBody = isThenable(finishing) ? await finishing : finishing;
        state = afterBody.state;
        if (afterBody.final) break attempt;

        if (state.isFailed() && hasRetriesLeft(task.retry, attempt)) {
          policyRetrying = retryingState(task, attempt, clock.now(), random);
          const retrying = transition(task, handlers, state, policyRetrying, ctx);
          state = (isThenable(retrying) ? await retrying : retrying).state;
        }
      }
      // A Retrying that a state handler produced (threw RETRY, or returned one) obeys the retry policy too.
      if (state instanceof Retrying && state !== policyRetrying) state = await settleRetrying(task, handlers, state, attempt, ctx, random);
      if (!local) return state;
      if (!(state instanceof Retrying)) {
        local.run.finished(local.index, state);
        return state;
      }
      await clock.sleep(state.startTime.getTime() - clock.now().getTime());
    }
  } catch (error) {
    if (!local) throw error;
    // The local runner holds no promise per task: the run itself rejects.
    local.run.fail(error);
    return state;
  }
}

/**
 * One task of the local runner, and its first attempt written as steps instead of an async
 * function: each step runs synchronously, or as a reaction when a handler or the body returned a
 * thenable. The same steps as `runAttempts`, which takes over for a verdict from the trigger
 * checks, an `onTransition` listener, and everything after a `Retrying` (retry policy, sleeps,
 * later attempts). No suspended async frame, promise or named closure per task: with esbuild's
 * `keepNames` (the package build and every Lambda bundle) each named closure costs a
 * `defineProperty` call, and the async frame was most of the runner's own cost.
 */
class LocalTaskRun implements LocalTask {
  /** Which step `resume` continues with. */
  private step: 0 | 1 | 2 | 3 = 0;
  private running!: State;
  private proposed!: State;

  constructor(
    private readonly env: AttemptEnvironment,
    private readonly node: FlowNode,
    readonly context: RunContext,
    readonly index: number,
    readonly run: LocalRun,
    readonly upstream: State[],
    readonly inputs: unknown[],
    readonly shared: TransitionEventContext,
  ) {}

  start(): void {
    const task = this.node.task;
    if (this.env.onTransition || (task.skipOnUpstreamSkip && anySkipped(this.upstream)) || !task.trigger.check(expandStates(this.upstream))) {
      void runAttempts(this.env, this.node, 1, new Pending(), this);
      return;
    }
    this.step = 1;
    this.chain(runChain(task, this.node.stateHandlers, new Pending(), new Running("Starting task run.")));
  }

  private chain(outcome: ChainOutcome | Promise<ChainOutcome> | LastHandlerPending): void {
    if (outcome instanceof LastHandlerPending) {
      outcome.returned.then(
        (value) => this.resume(outcome.settle(value)),
        (error: unknown) => this.resume(chainError(error)),
      );
    } else if (isThenable(outcome)) outcome.then((o) => this.resume(o), (error: unknown) => this.fail(error));
    else this.resume(outcome);
  }

  private resume(outcome: ChainOutcome): void {
    try {
      const state = outcome.state;
      if (this.step === 1) {
        // Pending → Running ran: the body, unless a handler failed or chose another state.
        if (outcome.final || !state.isRunning()) return this.tail(state, undefined);
        this.running = state;
        const ran = runBody(this.node.task, this.inputs, this.env.clock);
        if (isThenable(ran)) ran.then((s) => this.afterBody(s), (error: unknown) => this.fail(error));
        else this.afterBody(ran);
      } else if (this.step === 2) {
        // Running → the body's state ran: retry a failure while retries remain.
        const task = this.node.task;
        if (outcome.final || !(state.isFailed() && hasRetriesLeft(task.retry, 1))) return this.tail(state, this.proposed);
        this.step = 3;
        this.proposed = retryingState(task, 1, this.env.clock.now(), this.env.random ?? Math.random);
        this.chain(runChain(task, this.node.stateHandlers, state, this.proposed));
      } else this.tail(state, this.proposed);
    } catch (error) {
      this.fail(error);
    }
  }

  private afterBody(bodyState: State): void {
    try {
      const task = this.node.task;
      this.proposed = bodyState instanceof Retrying ? retryFromSignal(task, 1, bodyState, this.env.clock, this.env.random ?? Math.random) : bodyState;
      this.step = 2;
      this.chain(runChain(task, this.node.stateHandlers, this.running, this.proposed));
    } catch (error) {
      this.fail(error);
    }
  }

  /** The first attempt ended in `state`: done, or (a `Retrying`) on to `runAttempts`. */
  private tail(state: State, policyRetrying: State | undefined): void {
    if (state instanceof Retrying) void runAttempts(this.env, this.node, 1, state, this, { policyRetrying });
    else this.run.finished(this.index, state);
  }

  private fail(error: unknown): void {
    this.run.fail(error);
  }
}

function upstreamStatesOf(node: FlowNode, states: UpstreamStates): State[] {
  const upstream = node.upstream;
  const out: State[] = new Array(upstream.length);
  for (let i = 0; i < upstream.length; i++) {
    const s = states.get(upstream[i]!.name);
    if (!s) throw new FlowDefinitionError(`${String(node.task)} has no state for its upstream task \`${upstream[i]!.name}\`.`);
    out[i] = s;
  }
  return out;
}

function anySkipped(states: readonly State[]): boolean {
  for (let i = 0; i < states.length; i++) if (states[i]!.isSkipped()) return true;
  return false;
}

/**
 * A `Retrying` from a state handler: with retries left, the policy's run count and start time (unless
 * the handler chose a start time itself); without, `Failed` through the chain, and `Failed` regardless
 * if the chain insists on retrying.
 */
async function settleRetrying(
  task: Task<any, any>,
  handlers: readonly StateHandler<Task<any, any>>[],
  state: Retrying,
  attempt: number,
  ctx: Parameters<typeof transition>[4],
  random: () => number,
): Promise<State> {
  if (hasRetriesLeft(task.retry, attempt)) {
    if (!(state.result instanceof RETRY)) return state;
    return retryingState(task, attempt, ctx.clock.now(), random, { message: state.message, result: state.result });
  }
  const failed = noRetriesLeft(task, attempt, state);
  const ended = await transition(task, handlers, state, failed, ctx);
  return ended.state instanceof Retrying ? failed : ended.state;
}

/** What a retry asked for after the last attempt becomes: `Failed`, keeping its message and result. */
function noRetriesLeft(task: Task<any, any>, attempt: number, asked: Retrying): Failed {
  return new Failed(asked.message ?? `RETRY raised with no retries left (attempt ${attempt} of ${task.retry.maxRetries + 1}).`, {
    result: asked.result,
  });
}

/** RETRY raised by the body: `Retrying` with the policy's timing if retries remain, else `Failed`. */
function retryFromSignal(task: Task<any, any>, attempt: number, raised: Retrying, clock: Clock, random: () => number): State {
  if (!hasRetriesLeft(task.retry, attempt)) return noRetriesLeft(task, attempt, raised);
  return retryingState(task, attempt, clock.now(), random, { message: raised.message, result: raised.result });
}

const TIMED_OUT = Symbol("timed out");

/**
 * Runs the task's body once and turns what happened into the proposed next state. A body that
 * returns (or throws) synchronously is done before any timeout could fire, so it gets its state
 * at once; only a returned thenable is raced against the timeout.
 */
function runBody(task: Task<any, any>, inputs: unknown[], clock: Clock): State | Promise<State> {
  let value: unknown;
  try {
    value = task.run(...inputs);
  } catch (error) {
    return bodyErrorState(error);
  }
  if (!isThenable(value)) return new Success("Task run succeeded.", { result: value });
  return awaitBody(value, task.timeoutSeconds, clock);
}

async function awaitBody(pending: PromiseLike<unknown>, timeoutSeconds: number | undefined, clock: Clock): Promise<State> {
  try {
    let value: unknown;
    if (timeoutSeconds === undefined) value = await pending;
    else {
      const body = Promise.resolve(pending);
      // Cancel the timer once the body settles, so a long timeout never keeps the process alive.
      const timer = new AbortController();
      try {
        value = await Promise.race([body, clock.sleep(timeoutSeconds * 1000, timer.signal).then(() => TIMED_OUT)]);
      } finally {
        timer.abort();
      }
      if (value === TIMED_OUT) {
        body.catch(() => undefined); // the abandoned body may still reject; it no longer matters
        return new TimedOut("Task timed out during execution.");
      }
    }
    return new Success("Task run succeeded.", { result: value });
  } catch (error) {
    return bodyErrorState(error);
  }
}

function bodyErrorState(error: unknown): State {
  if (error instanceof RETRY) return new Retrying(error.stateMessage, { result: error });
  if (error instanceof Signal) return error.toState();
  return new Failed(`Error during execution of task: ${String(error)}`, { result: error });
}

/** The arguments of a task call: upstream results, flow parameters and constants, in order. */
export function resolveInputs(
  node: FlowNode,
  upstreamStates: UpstreamStates,
  parameters: Readonly<Record<string, unknown>>,
): unknown[] {
  const inputs = node.inputs;
  const args: unknown[] = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input.kind === "task") args[i] = upstreamResult(upstreamStates.get(input.task.name));
    else if (input.kind === "parameter") args[i] = Object.hasOwn(parameters, input.name) ? parameters[input.name] : input.default;
    else args[i] = input.value;
  }
  return args;
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
  const known = new Set(graph.parameters);
  for (const name of Object.keys(parameters)) {
    if (!known.has(name)) {
      const list = graph.parameters.length ? graph.parameters.map((p) => `\`${p}\``).join(", ") : "none";
      throw new FlowDefinitionError(`Flow \`${flow.name}\` has no parameter \`${name}\`; its parameters are: ${list}.`);
    }
  }
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input.kind === "parameter" && !input.hasDefault && !Object.hasOwn(parameters, input.name)) {
        throw new FlowDefinitionError(
          `Flow \`${flow.name}\` needs the parameter \`${input.name}\`; pass run({ parameters: { ${input.name}: … } }) ` +
            `or --param ${input.name}=…, or give it a default: parameter("${input.name}", defaultValue).`,
        );
      }
    }
  }
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
    return withRunContext({ flowName: flow.name, executionId, runtime: "local" }, () => runFlow(flow, options));
  }
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
  const taskContext: RunContext = { ...outer, attempt: 1 };
  const env: AttemptEnvironment = { upstreamStates: EMPTY_STATES, parameters, clock, random, onTransition: options.onTransition };
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
    // Each task enters its own context once; concurrent tasks never share the object whose attempt changes.
    const context: RunContext = { ...taskContext };
    const local = new LocalTaskRun(env, node, context, i, run, upstream, localInputs(node, schedule.inputs[i]!, finals, parameters), shared);
    inFlight++;
    withRunContext(context, () => local.start());
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
  const run: LocalRun = {
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
 * A mapped task in the local runner: the parent ends at once when `planMap` said so; else its
 * children run (each a full task run, in its own context with `mapIndex`), at most
 * `mapConcurrency` at once and at most START_BATCH started per event-loop turn, and the parent
 * goes `Pending → Mapped` once they all finished.
 */
async function runMappedTask(
  env: AttemptEnvironment,
  node: FlowNode,
  index: number,
  run: LocalRun,
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
      const childRun: LocalRun = {
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
          const local = new LocalTaskRun(
            env,
            node,
            context,
            child.index,
            childRun,
            childUpstreamStates(node, child, whole),
            childInputs(node, child, whole, env.parameters),
            shared,
          );
          withRunContext(context, () => local.start());
        },
      );
      pump();
    });
    run.finished(index, (await transition(task, node.stateHandlers, new Pending(), mappedState(states), ctx)).state);
  } catch (error) {
    run.fail(error);
  }
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
