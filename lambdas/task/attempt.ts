/**
 * One attempt of a task in the task Lambda, shared by ordinary tasks (run.ts) and a mapped task's
 * steps (map.ts): upstream outputs read back, the engine's `runTaskAttempt` in the invocation's run
 * context, and the output bounded for Step Functions. Both files import it; it imports neither.
 */
import { systemClock, type Clock } from "../../lib/core/clock";
import { withRunContext } from "../../lib/core/context";
import { FlowhooksError } from "../../lib/core/errors";
import { maskJSON, maskSecrets } from "../../lib/core/mask";
import type { Flow, FlowNode } from "../../lib/core/flow";
import { checkParameters, retryingMessage, runTaskAttempt, transition, type TransitionEvent } from "../../lib/core/runner";
import { isThenable } from "../../lib/core/handlers";
import { RUNNING_MESSAGE, WAITING_FOR_APPROVAL, type ApprovalAnswer, type LoopContext, type TaskAttemptRequest } from "../../lib/core/attempt";
import { Failed, Looped, Paused, Pending, Retrying, Running, State, type StateJSON } from "../../lib/core/states";
import { loopRecordOf, type LoopRecord } from "../../lib/aws/state-mapping";
import type { EmitTaskEvent } from "./emit";
import type { ApprovalStore } from "../../lib/aws/approval-store";
import { boundStateJSON, isMissingKeyError, isResultRef, offloadResult, resolveResult, resolveStateResults, resultKeyPrefix, retryingStateKey, type ResultStore } from "../../lib/core/results";

export { resultKeyPrefix };
import type { RunContext } from "../../lib/core/context";
import {
  HISTORY_EVENTS_PER_LAMBDA_ATTEMPT,
  HISTORY_EVENTS_PER_LOOP_HOP,
  HISTORY_EVENTS_PER_STATE_ENTRY,
  isInfrastructureFailure,
  LOOPED_ERROR,
  RETRYING_ERROR,
  taskOutputState,
  toTaskOutput,
  type TaskOutput,
  type TaskPayload,
  type TaskResultOutput,
  type TaskStateChangeDetail,
} from "./payload";

/** A payload that is not what the compiled state machine sends; the message says what is wrong. */
export class TaskPayloadError extends FlowhooksError {}

/**
 * Thrown (after the state-handler chain ran) when an attempt ends `Retrying`: the task state's
 * `Retry` field matches this name and schedules the next attempt.
 */
export class TaskRetryingError extends Error {
  override name = RETRYING_ERROR;
  constructor(readonly state: Retrying) {
    super(`${String(state)}; next attempt at ${state.startTime.toISOString()}`);
  }
}

/**
 * Thrown (after the state-handler chain ran) when an attempt ends `Looped`: the task state's `Catch`
 * for this name re-enters the state, with the record as the next invocation's `loop`.
 */
export class TaskLoopedError extends Error {
  override name = LOOPED_ERROR;
  constructor(readonly record: LoopRecord) {
    super(JSON.stringify(record));
    // Lambda puts the stack into the error's Cause (32,768 characters at most): the record is all the next iteration reads.
    this.stack = `${LOOPED_ERROR}: loop iteration ${String(record.state.loopCount)} of task ${record.task}`;
  }
}

/** The longest `LoopRecord` (as JSON) a `flowhooks.Looped` error carries: Step Functions keeps 32,768 characters of an error's cause. */
export const MAX_LOOP_RECORD_CHARS = 16 * 1024;

/**
 * The largest serialized task output we return. Step Functions caps a state's input and output at
 * 256 KiB, and every task's output travels in the execution JSON, so one task may use at most this.
 */
export const MAX_TASK_OUTPUT_BYTES = 200 * 1024;

export interface RunTaskOptions {
  flow: Flow;
  /** The task this function was deployed for (`FLOWHOOKS_TASK`). */
  taskName: string;
  region?: string;
  clock?: Clock;
  random?: () => number;
  /** Sends each task transition (after its chain). @default - none */
  emit?: EmitTaskEvent;
  /** Where errors that must not fail the task (event delivery) are logged. @default console.error */
  log?: (line: Record<string, unknown>) => void;
  /** Where results above `resultThresholdBytes` go (and upstream references are read from). @default - none: results travel in the output */
  results?: ResultStore;
  /** @default DEFAULT_RESULT_THRESHOLD_BYTES (512) */
  resultThresholdBytes?: number;
  /** Where a Paused task keeps its task token (lib/aws/approval-store.ts). @default - none: a manualOnly task's approval step fails, naming the fix */
  approvals?: ApprovalStore;
}

const NO_CHILD_REFS: ReadonlySet<string> = new Set();

/** Upstream outputs as states, stored results read back (a mapped task's children's too), so the engine sees values. */
export function resolveUpstream(upstream: Record<string, TaskOutput>, store: ResultStore | undefined, keepChildRefs: ReadonlySet<string> = NO_CHILD_REFS): Map<string, State> | Promise<Map<string, State>> {
  const states = new Map<string, State>();
  const names = Object.keys(upstream);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const output = upstream[name]!;
    // An output that carries its result itself (the usual case) is read as it came: no store, no waiting.
    if (isInfrastructureFailure(output) || !mayHoldStoredResults(output.state)) states.set(name, taskOutputState(output));
    else return readStoredUpstream(upstream, names, i, states, store, keepChildRefs);
  }
  return states;
}

/** `resolveUpstream` from the `from`th output on, reading stored results back. */
async function readStoredUpstream(upstream: Record<string, TaskOutput>, names: string[], from: number, states: Map<string, State>, store: ResultStore | undefined, keepChildRefs: ReadonlySet<string>): Promise<Map<string, State>> {
  for (let i = from; i < names.length; i++) {
    const name = names[i]!;
    const output = upstream[name]!;
    if (isInfrastructureFailure(output) || !mayHoldStoredResults(output.state)) {
      states.set(name, taskOutputState(output));
      continue;
    }
    const json = keepChildRefs.has(name) ? await resolveResult(output.state, store) : await resolveStateResults(output.state, store);
    states.set(name, taskOutputState({ ...output, state: json }));
  }
  return states;
}

/** A reference to a stored result, or a mapped task's children, which may each hold one (`resolveStateResults`). */
function mayHoldStoredResults(state: StateJSON): boolean {
  return isResultRef(state.result) || (state.type === "Mapped" && Array.isArray(state.result));
}

/** What one attempt needs besides the payload: upstream states, and for a mapped task's child its own upstream, inputs and index. */
export interface AttemptSpec {
  upstreamStates: Map<string, State>;
  /** Refuse parameters that do not fit the flow (an ordinary task's first attempt; a map checks them in prepare). */
  checkParameters: boolean;
  mapChild?: { upstream: State[]; inputs: unknown[] };
  mapIndex?: number;
  /**
   * A `triggers.manualOnly` task deployed: `"pause"` (the approval invocation, ending at Paused) or
   * the answer the wait got (the task state after it, starting from Paused). @default - not waiting for approval
   */
  approval?: "pause" | ApprovalAnswer;
  /** A deployed `flowRun` task's steps (flow-run.ts): the attempt, and where its body runs. @default - from `$$.State.RetryCount`; here */
  flowRun?: { attempt: number; bodyElsewhere: "start" | { ran: State } };
}

/** What an invocation's events wait for before the first: nothing (one settled promise for all). */
const DELIVERED: Promise<void> = Promise.resolve();

/** `$$.State.EnteredTime` as `toISOString` writes it, when it is a time at all. */
function normalizedTime(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/**
 * What one invocation's transitions share: the run context, where its results go, and its events,
 * sent one after another in transition order (the body still runs meanwhile; `delivering` settles
 * once every event so far was sent, or its loss logged).
 *
 * A plain object made in one place (`invocationScope`) with module functions, not a class instance:
 * one literal, one shape (written when the emulator ran a copy of this code per container, where a
 * class gave each copy's objects a hidden class of their own; the runtime is one module for all
 * containers now, lib/cdk/bundle.ts).
 */
export interface InvocationScope {
  readonly executionArn: string;
  readonly context: RunContext;
  /** Where this invocation's results go: a child's under its own folder, so children's attempts never share a key. */
  readonly keyDir: string;
  /** `$$.State.EnteredTime`, normalized, when the payload has a valid one. */
  readonly enteredTime: string | undefined;
  readonly log: (line: Record<string, unknown>) => void;
  /** The engine's transition listener: sends each task transition's event. */
  onTransition: (e: TransitionEvent) => void;
  readonly node: FlowNode;
  readonly options: RunTaskOptions;
  readonly attempt: number;
  readonly mapIndex: number | undefined;
  readonly loopCount: number | undefined;
  /** Settles once every event so far was sent (or its loss logged). */
  delivering: Promise<void>;
}

/** The run context, event emitter and result key of one invocation for `node`. */
export function invocationScope(node: FlowNode, payload: TaskPayload, options: RunTaskOptions, attempt: number, mapIndex?: number, loopCount?: number): InvocationScope {
  const executionArn = payload.context.Execution.Id;
  const context: RunContext = { flowName: options.flow.name, executionId: executionArn, runtime: "lambda", region: options.region, attempt };
  if (mapIndex !== undefined) context.mapIndex = mapIndex;
  const scope: InvocationScope = {
    executionArn,
    context,
    keyDir: `${resultKeyPrefix(executionArn)}/${node.name}${mapIndex !== undefined ? `/child-${mapIndex}` : ""}`,
    enteredTime: normalizedTime(payload.context.State.EnteredTime),
    log: options.log ?? logToConsole,
    onTransition: ignoreTransition,
    node,
    options,
    attempt,
    mapIndex,
    loopCount,
    delivering: DELIVERED,
  };
  scope.onTransition = (e) => sendTaskEvent(scope, e);
  return scope;
}

function ignoreTransition(): void {}

/** Sends a task transition's event after the ones before it. */
function sendTaskEvent(scope: InvocationScope, e: TransitionEvent): void {
  const emit = scope.options.emit;
  if (!emit || e.kind !== "task") return;
  const detail: TaskStateChangeDetail = {
    flow: scope.options.flow.name,
    task: scope.node.name,
    executionArn: scope.executionArn,
    attempt: e.attempt ?? scope.attempt,
    oldState: eventState(e.oldState),
    newState: eventState(e.newState),
    at: e.at.toISOString(),
  };
  if (scope.enteredTime) detail.stateEnteredTime = scope.enteredTime;
  if (e.mapIndex !== undefined) detail.mapIndex = e.mapIndex;
  if (scope.loopCount !== undefined && scope.loopCount > 1) detail.loopCount = scope.loopCount;
  scope.delivering = scope.delivering.then(() => emit(detail).catch((error: unknown) => lostTaskEvent(scope, error)));
}

/** A lost event must not fail the task; the handler Lambda reconciles from the execution history. */
function lostTaskEvent(scope: InvocationScope, error: unknown): void {
  const mapIndex = scope.mapIndex;
  scope.log({ level: "ERROR", message: "Could not send the task transition event", executionArn: scope.executionArn, task: scope.node.name, attempt: scope.attempt, ...(mapIndex !== undefined ? { mapIndex } : {}), error: maskSecrets(String(error)) });
}

/** One attempt of a task or of a mapped task's child: its final state's output, or a thrown `TaskRetryingError`. */
export async function runAttempt(node: FlowNode, payload: TaskPayload, options: RunTaskOptions, spec: AttemptSpec): Promise<TaskResultOutput> {
  const { flow, clock = systemClock } = options;
  const task = node.task;
  // RetryCount counts every retry of the state, transient Lambda errors included; never exceed the policy.
  const attempt = spec.flowRun?.attempt ?? Math.min((payload.context.State.RetryCount ?? 0) + 1, task.retry.maxRetries + 1);
  const parameters = payload.parameters;
  const upstreamStates = spec.upstreamStates;
  const iteration = payload.loop?.caught ? await loopIteration(node, payload, options) : undefined;
  /** What a `Looped` ending carries to the next iteration. */
  let record: LoopRecord | undefined;
  const scope = invocationScope(node, payload, options, attempt, spec.mapIndex, iteration?.context.count);
  const { onTransition, context } = scope;
  const carry = outputCarrier(node.name, options, `${scope.keyDir}/attempt-${attempt}.json`, attempt, spec.mapIndex);

  // A later attempt starts where the previous one left off: the Retrying it ended in; a loop's next iteration, from its Looped.
  const bodyElsewhere = spec.flowRun?.bodyElsewhere;
  const initialState: State =
    typeof bodyElsewhere === "object"
      ? new Running(RUNNING_MESSAGE)
      : attempt > 1
        ? await previousRetrying(node, attempt, options, scope, clock)
        : (iteration?.looped ?? (typeof spec.approval === "object" ? new Paused(WAITING_FOR_APPROVAL, { startTime: clock.now() }) : new Pending()));
  const state = await withRunContext(context, async () => {
    // flow.run() refuses bad parameters before any task runs; here each task sees them on its first attempt.
    const parameterError = attempt === 1 && !iteration && spec.checkParameters && typeof bodyElsewhere !== "object" ? checkParametersError(flow, parameters) : undefined;
    if (parameterError) {
      const failed = new Failed(parameterError, { result: { parameters: true } });
      return (await transition(task, node.stateHandlers, initialState, failed, { clock, onTransition, attempt, kind: "task" })).state;
    }
    const request: TaskAttemptRequest = { node, attempt, initialState, upstreamStates, parameters, clock, random: options.random, onTransition };
    if (spec.mapChild) request.mapChild = spec.mapChild;
    if (spec.approval !== undefined) request.approval = spec.approval;
    if (bodyElsewhere) request.bodyElsewhere = bodyElsewhere;
    if (iteration) request.loop = iteration.context;
    const ended = await runTaskAttempt(request);
    const ctx = { clock, onTransition, attempt };
    let bounded = ended instanceof Looped ? await boundLoop(node, ended, payload, iteration, ctx) : ended;
    if (bounded instanceof Looped) {
      const carried = await loopRecord(node, bounded, payload, iteration, options, scope);
      if (typeof carried !== "string") {
        record = carried;
        return bounded;
      }
      bounded = (await transition(task, node.stateHandlers, bounded, new Failed(carried, { result: bounded.result }), { ...ctx, kind: "task" })).state;
    }
    return limitOutputSize(node, bounded, ctx, carry);
  });
  await scope.delivering;

  if (state instanceof Looped && record) throw new TaskLoopedError(record);

  if (state instanceof Retrying) {
    await keepRetrying(node, state, attempt, options, scope);
    throw new TaskRetryingError(state);
  }
  return carry(state);
}

type Scope = InvocationScope;

/** What a transition after the engine's attempt needs. */
type AttemptContext = { clock: Clock; onTransition: (e: TransitionEvent) => void; attempt: number };

/** `carriedOutput` memoized per state: the size check and the return measure and store the same output once. */
function outputCarrier(taskName: string, options: RunTaskOptions, key: string, attempt: number, mapIndex: number | undefined): (s: State) => TaskResultOutput | Promise<TaskResultOutput> {
  const carried = new WeakMap<State, TaskResultOutput | Promise<TaskResultOutput>>();
  return (s) => {
    let output = carried.get(s);
    if (!output) carried.set(s, (output = carriedOutput(taskName, s, options, key, attempt, mapIndex)));
    return output;
  };
}

function logToConsole(line: Record<string, unknown>): void {
  console.error(JSON.stringify(line));
}

/** A deployed loop's next iteration: the `Looped` the previous one ended in, `getRunContext().loop`, the history events so far. */
interface LoopIteration {
  looped: Looped;
  context: LoopContext;
  events: number;
}

/** The iteration the payload's caught `flowhooks.Looped` error starts, its stored result read back; undefined on the first. */
async function loopIteration(node: FlowNode, payload: TaskPayload, options: RunTaskOptions): Promise<LoopIteration | undefined> {
  const caught = payload.loop?.caught;
  const record = caught ? loopRecordOf(caught.Error, caught.Cause) : undefined;
  // A record another task left in the execution JSON is no iteration of this one.
  if (!record || record.task !== node.name) return undefined;
  const looped = State.fromJSON(await resolveResult(record.state, options.results));
  if (!(looped instanceof Looped)) return undefined;
  return { looped, context: { count: looped.loopCount + 1, result: looped.result }, events: record.events };
}

/** History events the loop has made once this iteration ends: the earlier iterations', this entry's and its attempts'. */
function loopEventsSoFar(payload: TaskPayload, iteration: LoopIteration | undefined): number {
  const attempts = (payload.context.State.RetryCount ?? 0) + 1;
  return (iteration?.events ?? 0) + HISTORY_EVENTS_PER_STATE_ENTRY + attempts * HISTORY_EVENTS_PER_LAMBDA_ATTEMPT + HISTORY_EVENTS_PER_LOOP_HOP;
}

/**
 * A `Looped` whose next iteration (with all its retries) could pass the execution's history budget
 * (`loop.budget`) becomes `Failed`, through the chain, before Step Functions would fail the whole
 * execution with `States.Runtime`.
 */
async function boundLoop(node: FlowNode, looped: Looped, payload: TaskPayload, iteration: LoopIteration | undefined, ctx: AttemptContext): Promise<State> {
  const budget = payload.loop?.budget;
  if (budget === undefined) return looped;
  const used = loopEventsSoFar(payload, iteration);
  const next = HISTORY_EVENTS_PER_STATE_ENTRY + (node.task.retry.maxRetries + 1) * HISTORY_EVENTS_PER_LAMBDA_ATTEMPT + HISTORY_EVENTS_PER_LOOP_HOP;
  if (used + next <= budget) return looped;
  const failed = new Failed(loopBoundMessage(node.name, looped.loopCount, used, budget), { result: looped.result });
  return (await transition(node.task, node.stateHandlers, looped, failed, { ...ctx, kind: "task" })).state;
}

/** The message of a loop stopped before Step Functions' history limit: what happened, and the fix. */
export function loopBoundMessage(task: string, iterations: number, used: number, budget: number): string {
  return (
    `Task \`${task}\` looped ${iterations} times (signals.LOOP), about ${used} of the ${budget} history events its loop may use; ` +
    `another iteration could pass Step Functions' limit of 25,000 events in one execution's history. ` +
    `Do more work per iteration so the loop ends sooner, or continue in a new execution (start the flow again with the loop's result as a parameter).`
  );
}

/**
 * What the `flowhooks.Looped` error carries: the `Looped` with its result stored above the threshold;
 * or, when that would not fit an error's cause, the message of the `Failed` the iteration ends in.
 */
async function loopRecord(node: FlowNode, looped: Looped, payload: TaskPayload, iteration: LoopIteration | undefined, options: RunTaskOptions, scope: Scope): Promise<LoopRecord | string> {
  let state = boundStateJSON(looped.toJSON());
  if (options.results) state = await offloadResult(state, options.results, `${scope.keyDir}/loop-${looped.loopCount}.json`, options.resultThresholdBytes);
  const record: LoopRecord = { task: node.name, state, events: loopEventsSoFar(payload, iteration) };
  const chars = JSON.stringify(record).length;
  if (chars <= MAX_LOOP_RECORD_CHARS) return record;
  return (
    `Task \`${node.name}\` ended loop iteration ${looped.loopCount} with a result of about ${chars} characters; a deployed loop carries at most ` +
    `${MAX_LOOP_RECORD_CHARS} to its next iteration (in the error the task state catches). Give the task function a results store ` +
    `(FlowStateMachine's results bucket, with a lower \`resultThresholdBytes\`), or pass a smaller result to signals.LOOP.`
  );
}

/** The `Retrying` attempt `attempt` starts from when nothing else was kept: the retry policy's, scheduled for `now`. */
function defaultRetrying(node: FlowNode, attempt: number, now: Date): Retrying {
  return new Retrying(retryingMessage(attempt - 1, node.task.retry.maxRetries), { runCount: attempt - 1, startTime: now });
}

/**
 * Keeps `state` in the result store for the next attempt when that attempt could not rebuild it
 * (a `RETRY("…")` or a state handler chose its message, result or run count), so its state handlers
 * and events see the `oldState` `flow.run()` gives them. Bounded and masked as it is stored; a failed
 * write is logged and the next attempt starts from the default `Retrying`.
 */
async function keepRetrying(node: FlowNode, state: Retrying, attempt: number, options: RunTaskOptions, scope: Scope): Promise<void> {
  if (!options.results) return;
  const json = state.toJSON();
  const rebuilt = defaultRetrying(node, attempt + 1, state.startTime).toJSON();
  if (json.message === rebuilt.message && json.result === undefined && json.runCount === rebuilt.runCount) return;
  const key = retryingStateKey(scope.keyDir, attempt, scope.enteredTime);
  try {
    // Masked before it is cut, so the cut leaves no part of a secret.
    await options.results.put(key, JSON.stringify(boundStateJSON(maskJSON(json))));
  } catch (error) {
    scope.log({ ...retryLogFields(node, scope, attempt), level: "WARN", message: "Could not keep the Retrying state for the next attempt, which will start from the default Retrying instead", key, error: maskSecrets(String(error)) });
  }
}

/**
 * The `Retrying` attempt `attempt` starts from: the one the previous attempt kept (`keepRetrying`),
 * with its own start time, as `flow.run()` hands it on; else (none kept, no result store, or a
 * store that could not be read, logged) the default one.
 */
async function previousRetrying(node: FlowNode, attempt: number, options: RunTaskOptions, scope: Scope, clock: Clock): Promise<State> {
  const fallback = () => defaultRetrying(node, attempt, clock.now());
  if (!options.results) return fallback();
  const key = retryingStateKey(scope.keyDir, attempt - 1, scope.enteredTime);
  const warn = (error: unknown) =>
    scope.log({ ...retryLogFields(node, scope, attempt), level: "WARN", message: "Could not read the Retrying state the previous attempt kept; starting from the default Retrying", key, error: maskSecrets(String(error)) });
  let body: string;
  try {
    body = await options.results.get(key);
  } catch (error) {
    // Nothing kept: the previous attempt's Retrying was the default one.
    if (!isMissingKeyError(error)) warn(error);
    return fallback();
  }
  try {
    const kept = State.fromJSON(body);
    if (kept instanceof Retrying) return kept;
    warn(`stored state is ${String(kept)}, not Retrying`);
  } catch (error) {
    warn(error);
  }
  return fallback();
}

function retryLogFields(node: FlowNode, scope: Scope, attempt: number): Record<string, unknown> {
  const mapIndex = scope.context.mapIndex;
  return { executionArn: scope.executionArn, task: node.name, attempt, ...(mapIndex !== undefined ? { mapIndex } : {}) };
}

/** An EventBridge entry holds at most 256 KiB; a state's result above this many bytes is left out of its event. */
export const MAX_EVENT_RESULT_BYTES = 64 * 1024;

/** A state as a task event carries it: failure text bounded, a large result replaced by its size (the output keeps it). */
function eventState(state: State): StateJSON {
  // Masked before it is cut, so the cut leaves no part of a secret.
  const json = boundStateJSON(maskJSON(state.toJSON()));
  const result = json.result;
  // A number, boolean or short string needs no measuring (a UTF-16 unit is at most 3 bytes of UTF-8).
  if (result === undefined || result === null || typeof result === "number" || typeof result === "boolean") return json;
  if (typeof result === "string" && (result.length + 2) * 6 <= MAX_EVENT_RESULT_BYTES) return json;
  const bytes = Buffer.byteLength(JSON.stringify(result));
  return bytes <= MAX_EVENT_RESULT_BYTES ? json : { ...json, result: { $flowhooksResultOmitted: { bytes } } };
}

/**
 * The output that travels in the execution JSON: failure text bounded, and a result above the
 * threshold stored, leaving a reference (lib/core/results.ts).
 */
export function carriedOutput(taskName: string, state: State, options: RunTaskOptions, key: string, attempt: number, mapIndex?: number, json?: StateJSON): TaskResultOutput | Promise<TaskResultOutput> {
  const output = toTaskOutput(taskName, state);
  const bounded = json ?? boundStateJSON(output.state);
  // Synchronous unless a result is stored (the usual case).
  const carried = options.results ? offloadResult(bounded, options.results, key, options.resultThresholdBytes) : bounded;
  return isThenable(carried) ? carried.then((stored) => withOutputState(output, stored, attempt, mapIndex)) : withOutputState(output, carried, attempt, mapIndex);
}

function withOutputState(output: TaskResultOutput, state: StateJSON, attempt: number, mapIndex: number | undefined): TaskResultOutput {
  const carried: TaskResultOutput = { ...output, state };
  if (attempt > 1) carried.attempt = attempt;
  if (mapIndex !== undefined) carried.mapIndex = mapIndex;
  return carried;
}

export function checkParametersError(flow: Flow, parameters: Record<string, unknown>): string | undefined {
  try {
    checkParameters(flow, parameters);
    return undefined;
  } catch (error) {
    if (error instanceof FlowhooksError) return `The execution input does not fit the flow's parameters: ${error.message}`;
    throw error;
  }
}

/**
 * A state whose output cannot cross Step Functions' payload limit becomes `Failed`, through the chain.
 * Synchronous while the output is at hand and fits (the usual case); `await` the result either way.
 */
export function limitOutputSize(
  node: FlowNode,
  state: State,
  ctx: AttemptContext,
  carry: (s: State) => TaskResultOutput | Promise<TaskResultOutput>,
): State | Promise<State> {
  const output = carry(state);
  if (isThenable(output)) return output.then((o) => limitMeasuredOutput(node, state, serializedBytes(o), ctx, carry));
  return limitMeasuredOutput(node, state, serializedBytes(output), ctx, carry);
}

function serializedBytes(output: TaskResultOutput): number {
  return Buffer.byteLength(JSON.stringify(output));
}

/** `limitOutputSize` once the output's size (measured as it will travel: a stored result leaves only its reference) is known. */
function limitMeasuredOutput(
  node: FlowNode,
  state: State,
  size: number,
  ctx: AttemptContext,
  carry: (s: State) => TaskResultOutput | Promise<TaskResultOutput>,
): State | Promise<State> {
  if (size <= MAX_TASK_OUTPUT_BYTES) return state;
  return failTooBig(node, state, size, ctx, carry);
}

async function failTooBig(
  node: FlowNode,
  state: State,
  size: number,
  ctx: AttemptContext,
  carry: (s: State) => TaskResultOutput | Promise<TaskResultOutput>,
): Promise<State> {
  const tooBig = new Failed(
    `Task result is ${size} bytes serialized; a task's output must stay under ${MAX_TASK_OUTPUT_BYTES} bytes because ` +
      `every result travels in the Step Functions execution JSON (256 KiB limit). Store the data elsewhere ` +
      `(e.g. S3) and return a reference such as its key.`,
  );
  const outcome = await transition(node.task, node.stateHandlers, state, tooBig, { ...ctx, kind: "task" });
  // A state handler may rewrite the state again; never return something Step Functions would reject.
  return Buffer.byteLength(JSON.stringify(await carry(outcome.state))) <= MAX_TASK_OUTPUT_BYTES ? outcome.state : tooBig;
}
