/**
 * Reading an execution's history (`GetExecutionHistory`, paged) and turning it into flowhooks
 * transitions: the timeline `flowhooks history` prints, and the task transitions no code of ours
 * reported (Lambda timeout, out of memory, crash, throttling, abort mid-task), which the handler
 * Lambda runs through the task's state handlers after the fact.
 */
import type { HistoryEvent, SFNClient } from "@aws-sdk/client-sfn";
import { loadSfn } from "./sdk";
import { APPROVAL_ANSWER_ERRORS, APPROVAL_NOT_PAUSED_ERROR, isApprovalState } from "./approvals";
import { flowRunStateNames, mapStateNames } from "./state-names";
import { childName } from "../core/map";
import { maskSecrets } from "../core/mask";
import { Failed, Looped, Paused, Pending, Resume, Retrying, Running, State, Success, TimedOut, type StateJSON } from "../core/states";
import { WAITING_FOR_APPROVAL } from "../core/attempt";
import {
  flowEndTransition,
  flowStartTransition,
  isInfrastructureError,
  loopRecordOf,
  RETRYING_ERROR,
  taskInfrastructureState,
  taskInterruptedState,
} from "./state-mapping";

export interface HistoryReadOptions {
  /** Events per GetExecutionHistory call (1 to 1000). @default 1000 */
  pageSize?: number;
  /**
   * Whether events carry their input and output. Without them a history holds error names and
   * causes (what reconstructing failures needs) but no task results. @default true
   */
  includeExecutionData?: boolean;
  /** Turns each event into what is kept (applied page by page, so a page's data is freed before the next). @default - kept whole */
  keep?: (event: HistoryEvent) => HistoryEvent;
}

/** Every event of an execution, oldest first, following `nextToken` until the last page. */
export async function getExecutionHistory(
  client: Pick<SFNClient, "send">,
  executionArn: string,
  options: HistoryReadOptions = {},
): Promise<HistoryEvent[]> {
  const { GetExecutionHistoryCommand } = await loadSfn();
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new GetExecutionHistoryCommand({
        executionArn,
        nextToken,
        maxResults: options.pageSize ?? 1000,
        includeExecutionData: options.includeExecutionData ?? true,
      }),
    );
    for (const event of page.events ?? []) events.push(options.keep ? options.keep(event) : event);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** Longest error cause kept per event when reading a history for alerts. */
const KEPT_CAUSE_CHARS = 4_000;

const FAILURE_DETAILS = [
  "taskFailedEventDetails",
  "taskStartFailedEventDetails",
  "taskSubmitFailedEventDetails",
  "taskTimedOutEventDetails",
  "lambdaFunctionFailedEventDetails",
  "lambdaFunctionStartFailedEventDetails",
  "lambdaFunctionScheduleFailedEventDetails",
  "lambdaFunctionTimedOutEventDetails",
  "executionFailedEventDetails",
  "executionTimedOutEventDetails",
  "executionAbortedEventDetails",
] as const;

/** An event reduced to what the timeline reads: type, links, time, state name, Map iteration index, error and (cut) cause. */
export function compactHistoryEvent(e: HistoryEvent): HistoryEvent {
  const out: HistoryEvent = { id: e.id, previousEventId: e.previousEventId, type: e.type, timestamp: e.timestamp };
  if (e.stateEnteredEventDetails) out.stateEnteredEventDetails = { name: e.stateEnteredEventDetails.name };
  // Names a mapped child `t[i]`: the iteration its events run in.
  if (e.mapIterationStartedEventDetails) out.mapIterationStartedEventDetails = { index: e.mapIterationStartedEventDetails.index };
  for (const key of FAILURE_DETAILS) {
    const d = e[key] as { error?: string; cause?: string } | undefined;
    // Masked before it is cut (the cause may quote a secret a task function read), so the cut leaves no part of it.
    const cause = d?.cause === undefined ? undefined : maskSecrets(d.cause);
    if (d) (out as unknown as Record<string, unknown>)[key] = { error: d.error, cause: cause && cause.length > KEPT_CAUSE_CHARS ? `${cause.slice(0, KEPT_CAUSE_CHARS)}…` : cause };
  }
  return out;
}

/**
 * What the handler Lambda reads of a history: no execution data, compacted page by page, so a flow
 * of thousands of tasks with large results costs a few MB, not the whole execution JSON.
 */
export function readHistoryForAlerts(client: Pick<SFNClient, "send">, executionArn: string): Promise<HistoryEvent[]> {
  return getExecutionHistory(client, executionArn, { includeExecutionData: false, keep: compactHistoryEvent });
}

/** One task or flow transition, as the history shows it. */
export interface TimelineEntry {
  kind: "task" | "flow";
  /** The task's name as alerts name it (`t[3]` for a mapped task's child), or the flow's (or "flow" when the flow's name is unknown). */
  object: string;
  /** A task entry: the task's name (`t` for its child `t[3]` too). */
  task?: string;
  /** A mapped task's child: its index, read from the inline Map iteration the child's state ran in. */
  mapIndex?: number;
  /** The task's attempt (1-based); absent for flows. */
  attempt?: number;
  /** The loop iteration (`signals.LOOP`) when not the first: each is an entry of the task state, attempts counted from 1. @default - the first */
  loop?: number;
  oldState: State;
  newState: State;
  at: Date;
  /**
   * True when no flowhooks code ran for this transition (the task Lambda timed out, ran out of
   * memory, crashed, was throttled, or the execution stopped mid-task): only the history knows it.
   */
  reconstructed: boolean;
  /** A task entry: when its Task state was entered (the `$$.State.EnteredTime` its attempts saw). */
  enteredAt?: Date;
  /** The run it happened in: the execution's redrive count then (0 before the first `ExecutionRedriven`). */
  run: number;
  /** A `flowRun` task's ending: the ARN of the sub-flow's execution that attempt ran (its own history has the rest). */
  subFlowExecutionArn?: string;
}

export interface TimelineOptions {
  /** The flow's name, used as the flow entries' `object`. @default "flow" */
  flowName?: string;
  /** Only these states count as tasks (a flow's task names). @default - every Task state */
  taskNames?: ReadonlySet<string>;
  /**
   * Only the transitions of this run (redrive count): a redriven run's ending must not reconstruct
   * (and alert again) what an earlier run's ending already did. @default - every run
   */
  run?: number;
}

type AttemptEnd =
  | { how: "succeeded"; at: Date; output?: string }
  | { how: "failed" | "timed-out"; at: Date; error?: string; cause?: string };

interface Attempt {
  scheduledAt: Date;
  startedAt?: Date;
  end?: AttemptEnd;
}

interface TaskRun {
  task: string;
  /** A mapped task's child: its index (the Map iteration's). */
  mapIndex?: number;
  /** A mapped task's collect step (`t.Collect`): it ends the parent (a flowRun task's collect step ends an attempt). */
  collect?: boolean;
  /** A flowRun task's `t.Run` (startExecution.sync:2): the sub-flow's execution, not an attempt. */
  subFlow?: boolean;
  enteredAt?: Date;
  attempts: Attempt[];
  /** The redrive count of the run the Task state was entered in. */
  run: number;
  /** A `triggers.manualOnly` task: when its approval state paused it (its `t.Approval` entered). */
  pausedAt?: Date;
  /**
   * The approval invocation died where no flowhooks code could report it (Lambda timeout, crash,
   * throttling past its retries): the state's `Catch` recorded an infrastructure failure, and the
   * task state never ran. @default - none
   */
  approvalCrash?: { how: "failed" | "timed-out"; at: Date; error?: string; cause?: string };
}

/**
 * The states lib/compile gives a mapped task `t` besides `t` (its prepare step): `t.Child` runs one
 * child inside the inline Map's ItemProcessor, `t.Collect` ends the parent (names from
 * `mapStateNames`, with an empty task name: their suffixes). Task names cannot contain ".".
 */
const MAP_CHILD_SUFFIX = mapStateNames("").child;
const MAP_COLLECT_SUFFIX = mapStateNames("").collect;
/** A flowRun task's `t.Run`; its start (`t`) and collect (`t.Collect`) steps read as the task's own (flowRunStateNames). */
const FLOW_RUN_RUN_SUFFIX = flowRunStateNames("").run;

/** The task a Task state runs, and whether it is a mapped child's state: `t.Child` → (t, child). */
function taskOfState(name: string): { task: string; child: boolean; collect?: boolean; subFlow?: boolean } {
  if (name.endsWith(FLOW_RUN_RUN_SUFFIX)) return { task: name.slice(0, -FLOW_RUN_RUN_SUFFIX.length), child: false, subFlow: true };
  if (name.endsWith(MAP_CHILD_SUFFIX)) return { task: name.slice(0, -MAP_CHILD_SUFFIX.length), child: true };
  if (name.endsWith(MAP_COLLECT_SUFFIX)) return { task: name.slice(0, -MAP_COLLECT_SUFFIX.length), child: false, collect: true };
  return { task: name, child: false };
}

/** How far back a child's state entry is searched for its Map iteration (it is the iteration's first state). */
const MAX_ITERATION_LOOKBACK = 16;

/**
 * The index of the inline Map iteration an event ran in: `MapIterationStarted` (its
 * `mapIterationStartedEventDetails.index`) is found by following `previousEventId` back.
 */
function iterationIndex(e: HistoryEvent, byId: ReadonlyMap<number, HistoryEvent>): number | undefined {
  let current: HistoryEvent | undefined = e;
  for (let step = 0; current && step < MAX_ITERATION_LOOKBACK; step++) {
    if (current.type === "MapIterationStarted") return current.mapIterationStartedEventDetails?.index;
    if (current.type === "ExecutionStarted" || current.type === "MapStateStarted" || current.previousEventId === undefined) return undefined;
    current = byId.get(current.previousEventId);
  }
  return undefined;
}

const ENTERED = new Set(["TaskStateEntered"]);
const SCHEDULED = new Set(["TaskScheduled", "LambdaFunctionScheduled"]);
const STARTED = new Set(["TaskStarted", "LambdaFunctionStarted"]);
const SUCCEEDED = new Set(["TaskSucceeded", "LambdaFunctionSucceeded"]);
const FAILED = new Set([
  "TaskFailed",
  "TaskStartFailed",
  "TaskSubmitFailed",
  "LambdaFunctionFailed",
  "LambdaFunctionStartFailed",
  "LambdaFunctionScheduleFailed",
]);
const TIMED_OUT = new Set(["TaskTimedOut", "LambdaFunctionTimedOut"]);

function failureDetails(e: HistoryEvent): { error?: string; cause?: string } {
  const d =
    e.taskFailedEventDetails ??
    e.taskStartFailedEventDetails ??
    e.taskSubmitFailedEventDetails ??
    e.taskTimedOutEventDetails ??
    e.lambdaFunctionFailedEventDetails ??
    e.lambdaFunctionStartFailedEventDetails ??
    e.lambdaFunctionScheduleFailedEventDetails ??
    e.lambdaFunctionTimedOutEventDetails;
  return { error: d?.error, cause: d?.cause };
}

/**
 * Groups task events into runs of one Task state: each run starts at `TaskStateEntered` and holds
 * one attempt per `TaskScheduled` (a retry is another Scheduled/Started/Failed group under the same
 * entry). Events are linked through `previousEventId`, so parallel branches do not mix.
 */
function taskRuns(events: readonly HistoryEvent[], taskNames?: ReadonlySet<string>): TaskRun[] {
  const runs: TaskRun[] = [];
  const runOfEvent = new Map<number, TaskRun>();
  const open = new Set<TaskRun>();
  /** Events of state entries of tasks not asked for, followed by `previousEventId`. */
  const ignored = new Set<number>();
  /** Events of approval states, by the run of the task they pause; tasks whose wait has not reached their task state yet. */
  const approvalOf = new Map<number, TaskRun>();
  const awaiting = new Map<string, TaskRun>();
  let byId: Map<number, HistoryEvent> | undefined;
  let redrives = 0;
  for (const e of events) {
    const type = e.type ?? "";
    if (type === "ExecutionRedriven") {
      redrives++;
      // A redrive starts after the run ended: nothing of the run before it is still in flight.
      open.clear();
      continue;
    }
    if (ENTERED.has(type)) {
      const stateName = e.stateEnteredEventDetails?.name ?? "";
      if (isApprovalState(stateName)) {
        // The wait is no attempt of the task: the task goes Pending → Paused here, and its task state (entered next) is its run.
        const task = approvalTask(stateName);
        if (taskNames && !taskNames.has(task)) continue;
        const waiting: TaskRun = { task, enteredAt: e.timestamp, attempts: [], run: redrives, pausedAt: e.timestamp ?? new Date(0) };
        runs.push(waiting);
        awaiting.set(task, waiting);
        if (e.id !== undefined) approvalOf.set(e.id, waiting);
        continue;
      }
      const { task, child, collect, subFlow } = taskOfState(stateName);
      if (taskNames && !taskNames.has(task)) {
        if (e.id !== undefined) ignored.add(e.id);
        continue;
      }
      const waited = awaiting.get(task);
      if (waited && !child && !collect) {
        awaiting.delete(task);
        waited.enteredAt = e.timestamp;
        open.add(waited);
        if (e.id !== undefined) runOfEvent.set(e.id, waited);
        continue;
      }
      let mapIndex: number | undefined;
      if (child) {
        byId ??= new Map(events.flatMap((x) => (x.id === undefined ? [] : [[x.id, x] as const])));
        mapIndex = iterationIndex(e, byId);
      }
      const run: TaskRun = { task, ...(mapIndex === undefined ? {} : { mapIndex }), ...(collect ? { collect } : {}), ...(subFlow ? { subFlow } : {}), enteredAt: e.timestamp, attempts: [], run: redrives };
      runs.push(run);
      open.add(run);
      if (e.id !== undefined) runOfEvent.set(e.id, run);
      continue;
    }
    const isTaskEvent = SCHEDULED.has(type) || STARTED.has(type) || SUCCEEDED.has(type) || FAILED.has(type) || TIMED_OUT.has(type) || type === "TaskStateExited";
    if (!isTaskEvent) continue;
    if (e.previousEventId !== undefined && ignored.has(e.previousEventId)) {
      if (e.id !== undefined) ignored.add(e.id);
      continue;
    }
    const waiting = e.previousEventId !== undefined ? approvalOf.get(e.previousEventId) : undefined;
    if (waiting) {
      if (e.id !== undefined) approvalOf.set(e.id, waiting);
      // The chain did not pause (an upstream task was skipped…): the task state's output says what it did.
      const failed = FAILED.has(type) || TIMED_OUT.has(type);
      const error = failed ? failureDetails(e).error : undefined;
      if (error === APPROVAL_NOT_PAUSED_ERROR) waiting.pausedAt = undefined;
      if (SCHEDULED.has(type)) waiting.approvalCrash = undefined; // a retry: the previous failure was transient
      // The answer's errors go on to the task state; any other failure of the wait is the invocation's own.
      else if (failed && !(APPROVAL_ANSWER_ERRORS as readonly (string | undefined)[]).includes(error)) {
        waiting.approvalCrash = { how: TIMED_OUT.has(type) ? "timed-out" : "failed", at: e.timestamp ?? new Date(0), ...failureDetails(e) };
      }
      continue;
    }
    let run = e.previousEventId !== undefined ? runOfEvent.get(e.previousEventId) : undefined;
    // Histories without usable links still group correctly when only one task is in flight.
    if (!run && open.size === 1) run = [...open][0];
    if (!run) continue;
    if (e.id !== undefined) runOfEvent.set(e.id, run);
    const at = e.timestamp ?? new Date(0);
    const current = run.attempts[run.attempts.length - 1];
    if (SCHEDULED.has(type)) run.attempts.push({ scheduledAt: at });
    else if (type === "TaskStateExited") open.delete(run);
    else if (!current) continue;
    else if (STARTED.has(type)) current.startedAt = at;
    else if (SUCCEEDED.has(type)) {
      current.end = { how: "succeeded", at, output: e.taskSucceededEventDetails?.output ?? e.lambdaFunctionSucceededEventDetails?.output };
    } else current.end = { how: TIMED_OUT.has(type) ? "timed-out" : "failed", at, ...failureDetails(e) };
  }
  return runs;
}

function isStateJSON(value: unknown): value is StateJSON {
  return typeof value === "object" && value !== null && typeof (value as StateJSON).type === "string";
}

/**
 * A mapped task's prepare step's output (`MapPrepareOutput`: `count`, `distributed`, `verdict`), if
 * `output` is one: the parent's own transition is its verdict, or comes later from `t.Collect`.
 */
function prepareOutput(output: string | undefined): { verdict: StateJSON | null } | undefined {
  if (!output) return undefined;
  try {
    const data = JSON.parse(output) as Record<string, any>;
    const payload = data?.Payload ?? data;
    if (typeof payload?.count === "number" && typeof payload?.distributed === "boolean") {
      return { verdict: isStateJSON(payload.verdict?.state) ? payload.verdict.state : null };
    }
  } catch {
    // Not a prepare step's output.
  }
  return undefined;
}

/** The state the task Lambda returned, if its output carries one; else plain `Success`. */
function stateFromTaskOutput(output: string | undefined): State {
  if (output) {
    try {
      const data = JSON.parse(output) as Record<string, any>;
      for (const candidate of [data?.state, data?.Payload?.state, data?.Payload, data]) {
        if (isStateJSON(candidate)) return State.fromJSON(candidate);
      }
    } catch {
      // Not ours to interpret: fall back to what Step Functions says.
    }
  }
  return new Success("Task run succeeded.");
}

const RETRYING_MESSAGE = /^Retrying(?:\("(.*)"\))?; next attempt at (\S+)$/s;

/**
 * The state as flowhooks' task code reported it through its thrown error: `flowhooks.Retrying`
 * carries the `Retrying` state (message and next attempt time) for the task state's `Retry`;
 * `flowhooks.Looped` the `Looped` state a loop's iteration ended in (`LoopRecord`).
 */
function stateFromTaskError(attempt: number, error?: string, cause?: string): State {
  let message = cause;
  try {
    const parsed = cause ? (JSON.parse(cause) as { errorMessage?: string }) : undefined;
    if (parsed?.errorMessage) message = parsed.errorMessage;
  } catch {
    // A plain-text cause is its own message.
  }
  // A loop's iteration ended: its Looped state, as the task state's Catch handed it to the next iteration.
  const loop = loopRecordOf(error, cause);
  if (loop) return State.fromJSON(loop.state);
  const retrying = error === RETRYING_ERROR && message ? RETRYING_MESSAGE.exec(message) : null;
  if (retrying) return new Retrying(retrying[1], { runCount: attempt, startTime: new Date(retrying[2]!) });
  return new Failed(message || error || "Task failed.", { result: { error, cause } });
}

/** The task of an approval state (`t.Approval` → `t`). */
function approvalTask(stateName: string): string {
  return stateName.slice(0, -".Approval".length);
}

/** What the first attempt after a wait ended in when the answer ended the task (rejected, timed out), else undefined. */
function answeredWithoutRunning(attempt: Attempt): State | undefined {
  if (attempt.end?.how !== "succeeded") return undefined;
  const state = stateFromTaskOutput(attempt.end.output);
  const message = state.message ?? "";
  if (state.isCancelled() && message.startsWith("Rejected: ")) return state;
  if (state instanceof TimedOut && message.startsWith("No approval within ")) return state;
  return undefined;
}

/** Turns a whole execution history into the task and flow transitions, in time order. */
export function executionTimeline(events: readonly HistoryEvent[], options: TimelineOptions = {}): TimelineEntry[] {
  const flowName = options.flowName ?? "flow";
  const entries: TimelineEntry[] = [];
  let flowState: State | undefined;
  let run = 0;
  // How each run was stopped (TIMED_OUT, ABORTED): its tasks still in flight were interrupted.
  const stops = new Map<number, { by: "ABORTED" | "TIMED_OUT"; at: Date }>();

  // Made once, not per event: bundles keep function names, which costs a call per closure made.
  const flowEnd = (at: Date, status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED", error?: string, cause?: string) => {
    const t = flowEndTransition(status, error, cause);
    entries.push({ kind: "flow", object: flowName, oldState: flowState ?? t.oldState, newState: t.newState, at, reconstructed: false, run });
    flowState = t.newState;
    if (status === "TIMED_OUT" || status === "ABORTED") stops.set(run, { by: status, at });
  };
  for (const e of events) {
    const at = e.timestamp ?? new Date(0);
    switch (e.type) {
      case "ExecutionStarted": {
        const t = flowStartTransition(at);
        entries.push({ kind: "flow", object: flowName, ...t, at, reconstructed: false, run });
        flowState = t.newState;
        break;
      }
      case "ExecutionRedriven":
        run++;
        entries.push({ kind: "flow", object: flowName, oldState: flowState ?? new Pending(), newState: new Running("Running flow."), at, reconstructed: false, run });
        flowState = new Running("Running flow.");
        break;
      case "ExecutionSucceeded":
        flowEnd(at, "SUCCEEDED");
        break;
      case "ExecutionFailed":
        flowEnd(at, "FAILED", e.executionFailedEventDetails?.error, e.executionFailedEventDetails?.cause);
        break;
      case "ExecutionTimedOut":
        flowEnd(at, "TIMED_OUT", e.executionTimedOutEventDetails?.error, e.executionTimedOutEventDetails?.cause);
        break;
      case "ExecutionAborted":
        flowEnd(at, "ABORTED", e.executionAbortedEventDetails?.error, e.executionAbortedEventDetails?.cause);
        break;
    }
  }

  const runs = taskRuns(events, options.taskNames);
  const subFlows = subFlowExecutions(runs);
  // A loop's next iteration is the next entry of the task state: it starts from the Looped the last one ended in.
  const looped = new Map<string, State>();
  for (const run of runs) {
    const stop = stops.get(run.run);
    const object = childName(run.task, run.mapIndex);
    if (run.subFlow) continue;
    const flowRunStep = flowRunStepEntry(run, object, subFlows);
    if (flowRunStep !== undefined) {
      if (flowRunStep) entries.push(flowRunStep);
      continue;
    }
    // A mapped parent goes Pending → Mapped (or its verdict) once, as in flow.run(): from the prepare
    // step's verdict or the collect step's output; the steps' own invocations are not its attempts.
    const last = run.attempts[run.attempts.length - 1];
    const prepared = last?.end?.how === "succeeded" ? (run.collect ? undefined : prepareOutput(last.end.output)) : undefined;
    if (last?.end?.how === "succeeded" && (prepared || run.collect)) {
      const verdict = run.collect ? stateFromTaskOutput(last.end.output) : prepared!.verdict ? State.fromJSON(prepared!.verdict) : undefined;
      if (verdict) entries.push({ kind: "task", object, task: run.task, attempt: 1, enteredAt: run.enteredAt, oldState: new Pending(), newState: verdict, at: last.end.at, reconstructed: false, run: run.run });
      continue;
    }
    const iterationKey = `${run.run}\0${object}`;
    const iterationStart = looped.get(iterationKey);
    looped.delete(iterationKey);
    let previous: State | undefined;
    if (run.approvalCrash && run.attempts.length === 0) {
      // No code of the task reported how its approval step ended: as for any task that died, from the history.
      const { how, at, error, cause } = run.approvalCrash;
      entries.push({ kind: "task", object, task: run.task, attempt: 1, enteredAt: run.enteredAt, oldState: new Pending(), newState: taskInfrastructureState(how, error, cause), at, reconstructed: true, run: run.run });
      continue;
    }
    if (run.pausedAt) {
      previous = new Paused(WAITING_FOR_APPROVAL, { startTime: run.pausedAt });
      entries.push({ kind: "task", object, task: run.task, attempt: 1, enteredAt: run.enteredAt, oldState: new Pending(), newState: previous, at: run.pausedAt, reconstructed: false, run: run.run });
    }
    run.attempts.forEach((attempt, index) => {
      const n = index + 1;
      const next = run.attempts[index + 1];
      const iteration = iterationStart instanceof Looped ? { loop: iterationStart.loopCount + 1 } : {};
      const base = { kind: "task" as const, object, task: run.task, ...(run.mapIndex === undefined ? {} : { mapIndex: run.mapIndex }), attempt: n, ...iteration, enteredAt: run.enteredAt, run: run.run };
      const start = attempt.startedAt ?? attempt.scheduledAt;
      // After the wait: a rejection or the timeout ends the task from Paused; an approval resumes it.
      const answered = n === 1 && run.pausedAt ? answeredWithoutRunning(attempt) : undefined;
      if (answered) {
        entries.push({ ...base, oldState: previous!, newState: answered, at: attempt.end!.at, reconstructed: false });
        previous = answered;
        return;
      }
      if (n === 1 && run.pausedAt) {
        const resume = new Resume("Approval given to resume.");
        entries.push({ ...base, oldState: previous!, newState: resume, at: start, reconstructed: false });
        previous = resume;
      }
      const before = n === 1 && iterationStart ? iterationStart : (previous ?? new Pending());
      const running = new Running("Starting task run.");
      entries.push({ ...base, oldState: before, newState: running, at: start, reconstructed: false });
      const end = attempt.end;
      let ended: State;
      let reconstructed: boolean;
      if (!end) {
        if (!stop) return; // still running, or its run failed around it
        ended = taskInterruptedState(stop.by);
        reconstructed = true;
        previous = ended;
        entries.push({ ...base, oldState: running, newState: ended, at: stop.at, reconstructed });
        return;
      }
      if (end.how === "succeeded") {
        ended = stateFromTaskOutput(end.output);
        reconstructed = false;
      } else {
        reconstructed = isInfrastructureError(end.error) || end.how === "timed-out";
        ended = reconstructed ? taskInfrastructureState(end.how, end.error, end.cause) : stateFromTaskError(n, end.error, end.cause);
      }
      entries.push({ ...base, oldState: running, newState: ended, at: end.at, reconstructed });
      previous = ended;
      if (next && ended.isFailed()) {
        // The retry waited in Step Functions; the next attempt's schedule time is when it was due.
        const retrying = new Retrying(`Retrying Task (after attempt ${n})`, { runCount: n, startTime: next.scheduledAt });
        entries.push({ ...base, oldState: ended, newState: retrying, at: end.at, reconstructed });
        previous = retrying;
      }
    });
    if (previous?.isLooped()) looped.set(iterationKey, previous);
  }

  // Stable by time: flow start first, flow end last when timestamps tie.
  const rank = (x: TimelineEntry) => (x.kind === "flow" ? (x.newState.isRunning() ? 0 : 2) : 1);
  return entries
    .filter((entry) => options.run === undefined || entry.run === options.run)
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => a.entry.at.getTime() - b.entry.at.getTime() || rank(a.entry) - rank(b.entry) || a.i - b.i)
    .map(({ entry }) => entry);
}

/** Each flowRun task's sub-flow executions (`t.Run`'s), in the order they ran: its success output or failure cause names it. */
function subFlowExecutions(runs: readonly TaskRun[]): Map<string, (string | undefined)[]> {
  const arns = new Map<string, (string | undefined)[]>();
  for (const run of runs) {
    if (!run.subFlow) continue;
    const end = run.attempts[run.attempts.length - 1]?.end;
    let arn: string | undefined;
    try {
      const data = JSON.parse((end?.how === "succeeded" ? end.output : end?.cause) ?? "") as Record<string, unknown>;
      const value = data.ExecutionArn ?? data.executionArn;
      if (typeof value === "string") arn = value;
    } catch {
      // A start refused before any execution existed names none.
    }
    let list = arns.get(run.task);
    if (!list) arns.set(run.task, (list = []));
    list.push(arn);
  }
  return arns;
}

/**
 * A flowRun task's step (`t` or `t.Collect`, returning `FlowRunStepOutput`) as one transition: the
 * start step's `Pending → Running` (or its verdict), the collect step's `Running → ` the sub-flow's
 * outcome (with the sub-flow's execution ARN) or `Retrying`. Undefined when the run is no such step;
 * null when it is one that shows nothing (it has not ended).
 */
function flowRunStepEntry(run: TaskRun, object: string, subFlows: Map<string, (string | undefined)[]>): TimelineEntry | null | undefined {
  const last = run.attempts[run.attempts.length - 1];
  const step = last?.end?.how === "succeeded" ? flowRunStepOutput(last.end.output) : undefined;
  if (!step || !last?.end) return undefined;
  const base = { kind: "task" as const, object, task: run.task, attempt: step.attempt, enteredAt: run.enteredAt, at: last.end.at, reconstructed: false, run: run.run };
  const before = run.collect ? new Running("Starting task run.") : step.attempt === 1 ? new Pending() : new Retrying(undefined, { runCount: step.attempt - 1, startTime: last.scheduledAt });
  const arn = run.collect ? subFlows.get(run.task)?.shift() : undefined;
  const extra = arn ? { subFlowExecutionArn: arn } : {};
  if (step.output && isStateJSON(step.output.state)) return { ...base, ...extra, oldState: before, newState: State.fromJSON(step.output.state) };
  if (step.input) return { ...base, oldState: before, newState: new Running("Starting task run.") };
  if (step.retry) return { ...base, ...extra, oldState: before, newState: new Retrying(undefined, { runCount: step.attempt, startTime: new Date(last.end.at.getTime() + step.retry.waitSeconds * 1000) }) };
  return null;
}

/** What a flowRun task's steps return (lambdas/task/payload.ts `FlowRunStepOutput`), as far as the history reads it. */
interface FlowRunStepOutput {
  attempt: number;
  output: { state?: unknown } | null;
  input: Record<string, unknown> | null;
  retry: { attempt: number; waitSeconds: number } | null;
}

function flowRunStepOutput(output: string | undefined): FlowRunStepOutput | undefined {
  // Every Task state's output comes here: only a text naming `retry` can be a step's, so the rest is not parsed.
  if (!output?.includes('"retry"')) return undefined;
  try {
    const data = JSON.parse(output ?? "") as Record<string, any>;
    const payload = data?.Payload ?? data;
    if (typeof payload?.attempt === "number" && "input" in payload && "retry" in payload) return payload as FlowRunStepOutput;
  } catch {
    // Not a flowRun step's output.
  }
  return undefined;
}

/** How one run of an execution ended, as its history records it. */
export interface RunEnding {
  /** The run's redrive count (0 for the first run). */
  run: number;
  status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";
  at: Date;
  error?: string;
  cause?: string;
}

/**
 * Every run's ending, oldest first: ListExecutions and DescribeExecution show only the latest run
 * of a redriven execution, so an earlier run's ending whose event was lost is found here.
 */
export function runEndings(events: readonly HistoryEvent[]): RunEnding[] {
  const endings: RunEnding[] = [];
  let run = 0;
  for (const e of events) {
    const at = e.timestamp ?? new Date(0);
    const details = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
    const status = ({ ExecutionSucceeded: "SUCCEEDED", ExecutionFailed: "FAILED", ExecutionTimedOut: "TIMED_OUT", ExecutionAborted: "ABORTED" } as const)[e.type as string];
    if (e.type === "ExecutionRedriven") run++;
    else if (status) endings.push({ run, status, at, ...(details?.error ? { error: details.error } : {}), ...(details?.cause ? { cause: details.cause } : {}) });
  }
  return endings;
}

/** The task transitions of an execution that no flowhooks code reported, oldest first. */
export function infrastructureTransitions(events: readonly HistoryEvent[], options: TimelineOptions = {}): TimelineEntry[] {
  return executionTimeline(events, options).filter((entry) => entry.kind === "task" && entry.reconstructed);
}
