/**
 * A mapped task's three steps in Step Functions (lib/compile's `t`, `t.Child` and `t.Collect`
 * states): prepare plans the children with `planMap`, each child is one attempt of the engine's
 * `runTaskAttempt` with `mapChild`, collect ends the parent `Pending → Mapped(children)`. The
 * decisions are lib/core/map.ts's, the same the local runner's `runMappedTask` makes; this file
 * only moves items and results through the execution JSON and the result store.
 */
import { systemClock, type Clock } from "../../lib/core/clock";
import { withRunContext } from "../../lib/core/context";
import type { FlowNode } from "../../lib/core/flow";
import { childInputs, childUpstreamStates, mappedState, planMap, type MapChild } from "../../lib/core/map";
import { boundStateJSON, crashedChildrenKey, DEFAULT_RESULT_THRESHOLD_BYTES, eachLimited, offloadResult, resolveResult, resolveStateResults, type ResultStore } from "../../lib/core/results";
import { transition } from "../../lib/core/runner";
import { Failed, Pending, Running, State, type StateJSON } from "../../lib/core/states";
import { taskInfrastructureState } from "../../lib/aws/state-mapping";
import {
  isInfrastructureFailure,
  taskOutputState,
  type InfrastructureFailureOutput,
  type MapChildPayload,
  type MapCollectPayload,
  type MapItem,
  type MapPrepareOutput,
  type MapPreparePayload,
  type TaskOutput,
  type TaskPayload,
  type TaskResultOutput,
} from "./payload";
import {
  carriedOutput,
  checkParametersError,
  invocationScope,
  limitOutputSize,
  resolveUpstream,
  runAttempt,
  TaskPayloadError,
  type RunTaskOptions,
} from "./attempt";

/**
 * History events one inline child adds when it succeeds first time (Step Functions' history of an
 * inline Map iteration: MapIterationStarted, TaskStateEntered, TaskScheduled, TaskStarted,
 * TaskSucceeded, TaskStateExited, MapIterationSucceeded).
 */
export const HISTORY_EVENTS_PER_INLINE_CHILD = 7;
/** History events each retry of a child adds (TaskFailed, TaskScheduled, TaskStarted). */
export const HISTORY_EVENTS_PER_CHILD_RETRY = 3;
/**
 * The history events an inline map may take at most: 7,000 of an execution's 25,000, leaving the
 * rest for the flow's other tasks, retries beyond the estimate and other maps.
 */
export const INLINE_MAX_HISTORY_EVENTS = 7_000;
/** The most children `mapMode: "auto"` runs inline for a task without retries (fewer with retries: `inlineMaxItems`). */
export const INLINE_MAX_ITEMS = INLINE_MAX_HISTORY_EVENTS / HISTORY_EVENTS_PER_INLINE_CHILD;
/**
 * The bytes an inline map's items and children's outputs may take in the execution JSON (Step
 * Functions allows 256 KiB per state; the rest is left to the parameters and the other outputs).
 */
export const INLINE_MAX_BYTES = 160 * 1024;
/**
 * A child's output besides its result and its message: state type, flags, index, attempt, the
 * failed label (the task's name, at most 64 characters). Checked against the worst case by
 * test/lambdas/task/map-budget.test.ts.
 */
export const CHILD_OUTPUT_ENVELOPE_BYTES = 512;
/**
 * A child's message is cut to this many bytes (as JSON, UTF-8) in its output, so a Failed child
 * weighs no more than a successful one. Its events, alerts and own state handlers saw the whole
 * message; the parent's `Mapped` state and downstream tasks get the cut one.
 */
export const MAP_CHILD_MESSAGE_BYTES = 256;
/**
 * The largest stored-result reference a child carries instead of a result above the threshold:
 * `{"$flowhooksResultRef":{"key":"<state machine>/<execution>/<task>/child-<i>/attempt-<n>.json","bytes":…}}`,
 * with names of 80, 80 and 64 characters.
 */
export const MAX_RESULT_REF_BYTES = 384;

/** The most bytes one child's output can take in the execution JSON: its result (or a reference), its cut message, the envelope. */
export function childOutputMaxBytes(resultThresholdBytes = DEFAULT_RESULT_THRESHOLD_BYTES): number {
  return Math.max(resultThresholdBytes, MAX_RESULT_REF_BYTES) + MAP_CHILD_MESSAGE_BYTES + CHILD_OUTPUT_ENVELOPE_BYTES;
}

/** The most children an inline map of a task with `maxRetries` runs under `mapMode: "auto"`, counted in history events. */
export function inlineMaxItems(maxRetries: number): number {
  return Math.floor(INLINE_MAX_HISTORY_EVENTS / (HISTORY_EVENTS_PER_INLINE_CHILD + HISTORY_EVENTS_PER_CHILD_RETRY * maxRetries));
}

/**
 * The most bytes an inline map can add to the execution JSON: its items, and per child the
 * largest output a child can return (`childOutputMaxBytes`), failed or not.
 */
export function inlineMapBytes(itemsBytes: number, count: number, resultThresholdBytes = DEFAULT_RESULT_THRESHOLD_BYTES): number {
  return itemsBytes + count * childOutputMaxBytes(resultThresholdBytes);
}

/** `output` with its state's message cut to `MAP_CHILD_MESSAGE_BYTES` (serialized), marking how much was cut. */
export function boundChildMessage<T extends TaskResultOutput>(output: T): T {
  const message = output.state.message;
  if (typeof message !== "string" || jsonBytes(message) <= MAP_CHILD_MESSAGE_BYTES) return output;
  const chars = Array.from(message);
  const cut = (n: number) => `${chars.slice(0, n).join("")}… [cut by flowhooks: ${chars.length - n} more characters]`;
  // The longest prefix whose cut text fits: binary search over code points (never splits a surrogate pair).
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(cut(mid)) <= MAP_CHILD_MESSAGE_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return { ...output, state: { ...output.state, message: cut(lo) } };
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * The parent's one transition, `Pending → proposed`, through its state-handler chain, and its
 * output. `carried` is the output JSON to use while the chain keeps `proposed` (collect's children
 * as they were recorded, their stored results left where the children put them).
 */
async function endParent(node: FlowNode, payload: TaskPayload, options: RunTaskOptions, proposed: State, carried?: StateJSON): Promise<TaskResultOutput> {
  const clock = options.clock ?? systemClock;
  const scope = invocationScope(node, payload, options, 1);
  const outputs = new WeakMap<State, TaskResultOutput | Promise<TaskResultOutput>>();
  const carry = (s: State) => {
    let output = outputs.get(s);
    if (!output) outputs.set(s, (output = carriedOutput(node.name, s, options, `${scope.keyDir}/attempt-1.json`, 1, undefined, s === proposed ? carried : undefined)));
    return output;
  };
  const state = await withRunContext(scope.context, async () => {
    const ctx = { clock, onTransition: scope.onTransition, attempt: 1 };
    const ended = await transition(node.task, node.stateHandlers, new Pending(), proposed, { ...ctx, kind: "task" });
    return limitOutputSize(node, ended.state, ctx, carry);
  });
  await scope.delivering;
  return carry(state);
}

/**
 * The prepare step (state `t`): the parent's verdict when it ends without children, else the
 * children's items, inline or (distributed) as one JSON array in the result store.
 */
export async function prepareMap(node: FlowNode, payload: MapPreparePayload, options: RunTaskOptions): Promise<MapPrepareOutput> {
  const store = options.results;
  // A mapped task it maps over (not flattened) gives its children's states as items: their stored results stay stored, each child reads its own.
  const keepChildRefs = new Set<string>();
  for (const input of node.inputs) if (input.kind === "task" && input.mapped && !input.flatten) keepChildRefs.add(input.task.name);
  for (const input of node.inputs) if (input.kind === "task" && (!input.mapped || input.flatten)) keepChildRefs.delete(input.task.name);
  const upstreamStates = await resolveUpstream(payload.upstream, store, keepChildRefs);
  const verdict = (state: State) => endParent(node, payload, options, state).then((output) => ({ count: 0, distributed: false, items: null, itemsKey: null, verdict: output }));

  const parameterError = checkParametersError(options.flow, payload.parameters);
  if (parameterError) return verdict(new Failed(parameterError, { result: { parameters: true } }));
  const plan = planMap(node, { state: (name) => upstreamStates.get(name), parameters: payload.parameters });
  if (plan.verdict) return verdict(plan.verdict);

  const keyDir = invocationScope(node, payload, options, 1).keyDir;
  const children = plan.children;
  const items: MapItem[] = await eachLimited(children, async (child) => ({
    index: child.index,
    // Array.from, not map: a child's items leave holes at unmapped positions, which must become nulls.
    items: await Promise.all(
      Array.from(child.items, async (state, position) => {
        if (state === undefined) return null;
        const json = boundStateJSON(state.toJSON());
        return store ? offloadResult(json, store, `${keyDir}/items/${child.index}-${position}.json`, options.resultThresholdBytes) : json;
      }),
    ),
  }));
  const count = items.length;
  const itemsBytes = jsonBytes(items);
  // No children need no child executions: an empty map always runs inline.
  const distributed =
    count > 0 &&
    (payload.mapMode === "distributed" ||
    // Without a store (a function deployed without the results bucket) auto stays inline.
    (payload.mapMode === "auto" &&
      store !== undefined &&
      (count > inlineMaxItems(node.task.retry.maxRetries) || inlineMapBytes(itemsBytes, count, options.resultThresholdBytes) > INLINE_MAX_BYTES)));
  if (!distributed) {
    if (itemsBytes > INLINE_MAX_BYTES) {
      return verdict(
        new Failed(
          `Task \`${node.name}\` maps over ${count} items taking ${itemsBytes} bytes; an inline Map carries them in the execution's JSON ` +
            `(256 KiB per state), so at most ${INLINE_MAX_BYTES} bytes. ` +
            (store
              ? 'Set the task\'s mapMode to "auto" or "distributed" (FlowStateMachine `tasks`) to run it as a Distributed Map.'
              : "Deploy with FlowStateMachine, whose results bucket stores large items and runs large maps as Distributed Maps."),
        ),
      );
    }
    return { count, distributed: false, items, itemsKey: null, verdict: null };
  }
  if (!store) {
    throw new TaskPayloadError(
      `Task \`${node.name}\` runs as a Distributed Map, whose items go through the results bucket, but this function has no result store; ` +
        "deploy with FlowStateMachine, which sets FLOWHOOKS_RESULTS_BUCKET on every task function.",
    );
  }
  const itemsKey = `${keyDir}/items.json`;
  await store.put(itemsKey, JSON.stringify(items));
  return { count, distributed: true, items: null, itemsKey, verdict: null };
}

/** One attempt of child `item.index` (state `t.Child`): a full task run of its own, with its item as input. */
export async function runMapChild(node: FlowNode, payload: MapChildPayload, options: RunTaskOptions): Promise<TaskResultOutput> {
  const upstreamStates = await resolveUpstream(payload.upstream, options.results);
  const items = await Promise.all(payload.item.items.map(async (json) => (json === null || json === undefined ? undefined : State.fromJSON(await resolveResult(json, options.results)))));
  const child: MapChild = { index: payload.item.index, items };
  const whole = (name: string) => upstreamStates.get(name);
  const output = await runAttempt(node, payload, options, {
    upstreamStates,
    checkParameters: false,
    mapIndex: child.index,
    mapChild: { upstream: childUpstreamStates(node, child, whole), inputs: childInputs(node, child, whole, payload.parameters) },
  });
  return boundChildMessage(output);
}

/** One child execution as a Distributed Map's ResultWriter records it (Transformation NONE: the output as JSON text). */
interface WrittenExecution {
  Status?: string;
  Input?: unknown;
  Output?: unknown;
  Error?: string;
  Cause?: string;
  /** When the child execution started and stopped (ISO 8601; Step Functions always writes both). */
  StartDate?: string | number;
  StopDate?: string | number;
}

/** One written child execution: its output as a task output, and when it ran. */
interface WrittenChild {
  output: TaskOutput;
  startDate?: Date;
  stopDate?: Date;
}

const parseJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);

function writtenDate(value: unknown): Date | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A written child execution as a task output: its own output, or (a child execution that failed) a crash record. */
function writtenOutput(entry: WrittenExecution, taskName: string): TaskOutput {
  if (entry.Status === "SUCCEEDED" && entry.Output !== undefined) return parseJson(entry.Output) as TaskOutput;
  const input = parseJson(entry.Input) as { item?: { index?: number } } | undefined;
  const record: InfrastructureFailureOutput = {
    task: taskName,
    infrastructure: { Error: entry.Error ?? `States.${entry.Status ?? "Runtime"}`, Cause: entry.Cause },
    failed: true,
    skipped: false,
    failedLabel: ` \`${taskName}\``,
  };
  if (typeof input?.item?.index === "number") record.mapIndex = input.item.index;
  return record;
}

/**
 * The child executions a Distributed Map wrote, with their dates: the manifest its ResultWriter left
 * (`ResultFiles` by status, each a JSON array of child executions), read from the result store.
 */
async function readWrittenExecutions(written: MapCollectPayload["map"]["written"], store: ResultStore | undefined, taskName: string): Promise<WrittenChild[]> {
  const key = written?.ResultWriterDetails?.Key;
  if (!key) throw new TaskPayloadError(`The Distributed Map of task \`${taskName}\` left no ResultWriterDetails.Key; redeploy so the state machine and the functions come from the same flow.`);
  if (!store) {
    throw new TaskPayloadError(
      `Task \`${taskName}\` ran as a Distributed Map, whose results are in the results bucket, but this function has no result store; ` +
        "deploy with FlowStateMachine, which sets FLOWHOOKS_RESULTS_BUCKET on every task function.",
    );
  }
  const manifest = JSON.parse(await store.get(key)) as { ResultFiles?: Record<string, { Key: string }[]> };
  const files = Object.values(manifest.ResultFiles ?? {}).flat();
  const executions = await eachLimited(files, async (file) => JSON.parse(await store.get(file.Key)) as WrittenExecution[]);
  return executions.flat().map((entry) => ({ output: writtenOutput(entry, taskName), startDate: writtenDate(entry.StartDate), stopDate: writtenDate(entry.StopDate) }));
}

/** Each child by its index (its output's `mapIndex`, else its position); a later entry for the same index wins. */
function byChildIndex<T>(entries: readonly T[], outputOf: (entry: T) => TaskOutput, count: number): (T | undefined)[] {
  const byIndex: (T | undefined)[] = new Array(count);
  entries.forEach((entry, i) => {
    const index = outputOf(entry).mapIndex ?? i;
    if (index >= 0 && index < count) byIndex[index] = entry;
  });
  return byIndex;
}

/** The children's final states in item order; a child with no output (the Map lost it) is a crashed child. */
function childStatesJSON(byIndex: readonly (TaskOutput | undefined)[], count: number): StateJSON[] {
  const states: StateJSON[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const output = byIndex[i];
    if (!output) states[i] = taskInfrastructureState("failed", "States.Runtime", `The Map returned no output for child ${i}.`).toJSON();
    else states[i] = isInfrastructureFailure(output) ? taskOutputState(output).toJSON() : output.state;
  }
  return states;
}

/**
 * A Distributed Map's crashed children: those its `t.DistChildInfra` caught (Lambda timeout, out of
 * memory, throttling past the retries) and child executions that failed outright. No code of the
 * task reported their end, and the parent execution's history, from which the handler Lambda
 * reconstructs an inline Map's crashed children, does not hold child executions; so each is
 * reported here, as the handler does for an inline one: `Running → <its state>` through the task's
 * state-handler chain, with `mapIndex` and `observedAfterTheFact` in the run context, and its task
 * event marked `observedAfterTheFact`. The event's times are the child execution's (`at` its stop,
 * `stateEnteredTime` its start, as the ResultWriter wrote them), so a retried collect step sends
 * the same event again and the handler's claim alerts it once. The attempt the crash ended is in
 * the child execution's own history only: the event says attempt 1. The events sent are also kept
 * in the result store (`crashedChildrenKey`), after they were sent: should PutEvents lose one, the
 * handler Lambda alerts it from there at the execution's ending, under the same claim.
 */
async function reportCrashedChildren(node: FlowNode, payload: MapCollectPayload, options: RunTaskOptions, children: readonly (WrittenChild | undefined)[]): Promise<void> {
  const clock = options.clock ?? systemClock;
  const crashed = children.flatMap((child, index) => (child && isInfrastructureFailure(child.output) ? [{ ...child, index }] : []));
  const emit = options.emit;
  // The events as sent (masked, bounded), kept below in case PutEvents loses them.
  const sent: Parameters<NonNullable<typeof emit>>[0][] = [];
  const observed: RunTaskOptions = {
    ...options,
    emit:
      emit &&
      ((detail) => {
        const event = { ...detail, observedAfterTheFact: true };
        sent.push(event);
        return emit(event);
      }),
  };
  await eachLimited(crashed, async (child) => {
    // Step Functions writes both dates; without them (a hand-written result file) the transition is timed now.
    const at = child.stopDate ?? child.startDate ?? clock.now();
    const entered = child.startDate ?? at;
    const childPayload: TaskPayload = { ...payload, context: { ...payload.context, State: { ...payload.context.State, RetryCount: 0, EnteredTime: entered.toISOString() } } };
    const scope = invocationScope(node, childPayload, observed, 1, child.index);
    const stopped: Clock = { now: () => at, sleep: (ms, signal) => clock.sleep(ms, signal) };
    await withRunContext({ ...scope.context, observedAfterTheFact: true }, () =>
      transition(node.task, node.stateHandlers, new Running("Starting task run."), taskOutputState(child.output), { clock: stopped, onTransition: scope.onTransition, attempt: 1, kind: "task" }),
    );
    await scope.delivering;
  });
  if (sent.length > 0 && options.results) {
    // A retried collect step sends the same events and writes the same file: the handler's claims alert each child once.
    sent.sort((a, b) => (a.mapIndex ?? 0) - (b.mapIndex ?? 0));
    await options.results.put(crashedChildrenKey(sent[0]!.executionArn, node.name), JSON.stringify(sent));
  }
}

/**
 * The collect step (state `t.Collect`): the children's outputs (the inline Map's array, or the
 * Distributed Map's written results) as states, the parent `Pending → Mapped(children)`. Its output's
 * `failed` is true when a child failed; the children's states are stored as one result when large.
 */
export async function collectMap(node: FlowNode, payload: MapCollectPayload, options: RunTaskOptions): Promise<TaskResultOutput> {
  const map = payload.map;
  let outputs: (TaskOutput | undefined)[];
  if (map.distributed) {
    const written = byChildIndex(await readWrittenExecutions(map.written, options.results, node.name), (child) => child.output, map.count);
    // An inline Map's crashed children are in the parent execution's history: the handler Lambda reports those.
    await reportCrashedChildren(node, payload, options, written);
    outputs = written.map((child) => child?.output);
  } else {
    outputs = byChildIndex(map.children ?? [], (output) => output, map.count);
  }
  const recorded = childStatesJSON(outputs, map.count);
  // The parent's state handlers see the children's results themselves, as locally; the output keeps the references.
  const resolved = await resolveStateResults({ type: "Mapped", result: recorded }, options.results);
  const proposed = mappedState((resolved.result as StateJSON[]).map((json) => State.fromJSON(json)));
  return endParent(node, payload, options, proposed, { type: "Mapped", message: proposed.message, result: recorded });
}
