/**
 * The typed contract between the state machine (lib/compile), the task Lambda (lambdas/task) and
 * the handler Lambda: what Step Functions sends a task function, what it returns, and the
 * EventBridge event it emits per task transition. Pure: no AWS SDK, no CDK.
 */
import { State, type StateJSON } from "../../lib/core/states";
import { TASK_EVENT_SOURCE, TASK_STATE_CHANGE } from "../../lib/aws/events";
import { taskInfrastructureState } from "../../lib/aws/state-mapping";
import { failedOrChildFailed } from "../../lib/core/map";

export { FLOW_FAILED_ERROR, LOOPED_ERROR, RETRYING_ERROR } from "../../lib/aws/state-mapping";

export { PRUNED_FLAG } from "../../lib/aws/state-names";

/** The slice of the Step Functions context object (`$$`) the task Lambda reads. */
export interface StepFunctionsContext {
  Execution: { Id: string; Input?: unknown; Name?: string; StartTime?: string };
  State: { Name?: string; EnteredTime?: string; RetryCount?: number };
  StateMachine?: { Id?: string; Name?: string };
}

/** What a task state sends its Lambda function (`Parameters.Payload`). */
export interface TaskPayload {
  /** The task's name (checked against the function's `FLOWHOOKS_TASK`). */
  task: string;
  /** The flow's parameters: the execution input. */
  parameters: Record<string, unknown>;
  /** The upstream tasks' outputs, by task name, read from their static paths in the execution JSON. */
  upstream: Record<string, TaskOutput>;
  /** The slice of the Step Functions context object the function reads (execution id, retry count). */
  context: StepFunctionsContext;
  /** What a loop of this task reads (`LOOP_PATH` of lib/compile). @default - absent: no bound, the first iteration */
  loop?: LoopSlot | null;
}

/** What a task state passes its function as `loop`. */
export interface LoopSlot {
  /**
   * History events a loop may use: Step Functions' 25,000 less what lib/compile estimates the rest
   * of the flow takes. @default - no bound
   */
  budget?: number;
  /** The `flowhooks.Looped` error the task state caught when the loop's previous iteration ended. @default - absent: the first iteration */
  caught?: { Error?: string; Cause?: string };
}

/**
 * History events one entry of a Task state adds besides its attempts (TaskStateEntered, and
 * TaskStateExited or the caught failure), and each attempt of its Lambda invocation (TaskScheduled,
 * TaskStarted, TaskSucceeded or TaskFailed): what a deployed loop's iterations are counted in.
 */
export const HISTORY_EVENTS_PER_STATE_ENTRY = 2;
export const HISTORY_EVENTS_PER_LAMBDA_ATTEMPT = 3;
/** History events one loop iteration adds besides the task state's: the `<task>.Loop` Pass back to it (entered, exited). */
export const HISTORY_EVENTS_PER_LOOP_HOP = 2;

/** How a mapped task's children run (compile option `mapMode`, sent in the prepare payload). */
export type MapMode = "auto" | "inline" | "distributed";

/** One child of a mapped task as the Map state carries it: per input position, its item's state (null where unmapped). */
export interface MapItem {
  index: number;
  /** Each item's result is stored (a `$flowhooksResultRef`) when larger than the result threshold. */
  items: (StateJSON | null)[];
}

/**
 * What the prepare invocation returns, at `$.flowhooksMap` of the task's branch. Every field is
 * always present (null when unused): the state's `ResultSelector` picks them one by one.
 */
export interface MapPrepareOutput {
  /** How many children run (0 with a verdict). */
  count: number;
  /** True when the children run in the Distributed Map (`t.MapDistributed`). */
  distributed: boolean;
  /** The children's items, for the inline Map; null when distributed or with a verdict. */
  items: MapItem[] | null;
  /** The result store key of the items (one JSON array of `MapItem`) for the Distributed Map's ItemReader. */
  itemsKey: string | null;
  /** The parent's output when it ended without children (Skipped, TriggerFailed, Failed). */
  verdict: TaskResultOutput | null;
}

/** The fields of `MapPrepareOutput`, in the order the compiled `ResultSelector` lists them. */
export const MAP_PREPARE_FIELDS = ["count", "distributed", "items", "itemsKey", "verdict"] as const;

/** The prepare invocation of a mapped task (state `t`): plan the children or end the parent. */
export interface MapPreparePayload extends TaskPayload {
  mode: "prepare";
  mapMode: MapMode;
}

/** One child attempt (state `t.Child`): `upstream` holds the outputs of the upstream tasks not mapped over. */
export interface MapChildPayload extends TaskPayload {
  mode: "child";
  item: MapItem;
}

/** What a Distributed Map with a `ResultWriter` leaves at its `ResultPath`. */
export interface DistributedMapWritten {
  MapRunArn?: string;
  ResultWriterDetails: { Bucket?: string; Key: string };
}

/** The collect invocation (state `t.Collect`): the prepare output plus the inline Map's results or the Distributed Map's. */
export interface MapCollectPayload extends TaskPayload {
  mode: "collect";
  map: MapPrepareOutput & {
    /** The inline Map's result: each child's output, in item order. */
    children?: TaskOutput[];
    /** The Distributed Map's result: where its ResultWriter wrote the manifest. */
    written?: DistributedMapWritten;
  };
}

/** What a task function returns: its final state, and flags the final `Choice` state reads. */
export interface TaskResultOutput {
  state: StateJSON;
  failed: boolean;
  skipped: boolean;
  /** A space and `` `name` `` when failed, else "": joined into the `Fail` state's cause. */
  failedLabel: string;
  /**
   * The attempt that ended the task, when it was not the first: the handler then knows this task
   * alerted Retrying, and checks from the history, at the ending, that those alerts went out.
   */
  attempt?: number;
  /** A mapped task's child: its index (the child is named `task[mapIndex]`); absent otherwise. */
  mapIndex?: number;
}

/**
 * What the state machine records for a task that died where no flowhooks code could report it
 * (Lambda timeout, crash, out of memory, throttling): the `Catch` error, marked `infrastructure`.
 */
export interface InfrastructureFailureOutput {
  /** The task's name (its key in the execution JSON is a sanitised identifier). */
  task?: string;
  /** The error output of the task state's `Catch`, as Step Functions wrote it. */
  infrastructure: { Error?: string; Cause?: string };
  failed: true;
  skipped: false;
  failedLabel: string;
  /** A crashed child of a mapped task: its index (`t.ChildInfra` records it). */
  mapIndex?: number;
}

/** A task's output at its static path in the execution JSON. */
export type TaskOutput = TaskResultOutput | InfrastructureFailureOutput;

/** The EventBridge `source` and `detail-type` of task transitions (defined with the parser, lib/aws/events.ts). */
export const EVENT_SOURCE = TASK_EVENT_SOURCE;
export { TASK_STATE_CHANGE };

/** The `detail` of a "flowhooks Task State Change" event: one task transition, after its handler chain. */
export interface TaskStateChangeDetail {
  flow: string;
  task: string;
  executionArn: string;
  attempt: number;
  oldState: StateJSON;
  newState: StateJSON;
  /** ISO 8601 time of the transition. */
  at: string;
  /**
   * When the task's state was entered (`$$.State.EnteredTime`): the same for every attempt of one
   * run of the state, new after a redrive, and in the execution history, so the handler can tell
   * which transitions of the history were alerted. @default - absent where the context lacks it
   */
  stateEnteredTime?: string;
  /** A mapped task's child: its index (alerts and the CLI name it `task[mapIndex]`); absent for the parent and ordinary tasks. */
  mapIndex?: number;
  /**
   * The loop iteration (`signals.LOOP`, 1-based) the transition belongs to, when not the first: a
   * deployed loop's iterations are entries of the same task state, each counting attempts from 1.
   * @default - absent: the first iteration
   */
  loopCount?: number;
  /**
   * True when no code of the task reported the transition: a Distributed Map's child that crashed
   * (Lambda timeout, out of memory, throttling), reported by the collect step from the map run's
   * results. The transition is final (no retry follows it) and its alert is marked reconstructed.
   * @default - absent: the task's own code reported it
   */
  observedAfterTheFact?: boolean;
}

export function isInfrastructureFailure(output: TaskOutput): output is InfrastructureFailureOutput {
  return typeof (output as InfrastructureFailureOutput).infrastructure === "object" && (output as InfrastructureFailureOutput).infrastructure !== null;
}

/** The label a failed task adds to the flow's `Fail` cause. */
export function failedLabel(taskName: string): string {
  return ` \`${taskName}\``;
}

/** The output a task function returns for its final (or `Retrying`) state. */
export function toTaskOutput(taskName: string, state: State): TaskResultOutput {
  // A mapped task whose child failed fails the flow as a reference task, as locally.
  const failed = failedOrChildFailed(state);
  return { state: state.toJSON(), failed, skipped: state.isSkipped(), failedLabel: failed ? failedLabel(taskName) : "" };
}

/**
 * The state a task output stands for: the task's own state, or, for a failure the state machine
 * caught, the state lib/aws/state-mapping.ts (the one Step Functions ↔ flowhooks mapping) gives it.
 */
export function taskOutputState(output: TaskOutput): State {
  if (isInfrastructureFailure(output)) return taskInfrastructureState("failed", output.infrastructure.Error, output.infrastructure.Cause);
  return State.fromJSON(output.state);
}

/**
 * A deployed `flowRun` task's steps (lib/compile's `t` and `t.Collect` states): start runs the
 * attempt to `Running` and hands the sub-flow's input to `t.Run` (`states:startExecution.sync:2`);
 * collect ends the attempt with the sub-flow's final state. `attempt` is carried in the state
 * (`$.flowhooksRun.attempt`), since a retry goes back through `t.Wait` rather than a `Retry` field.
 */
export interface FlowRunStartPayload extends TaskPayload {
  mode: "flowRunStart";
  attempt: number;
}

/** What `t.Run` leaves for the collect step: the child execution's description, or the error it failed with. */
export interface FlowRunCollectPayload extends TaskPayload {
  mode: "flowRunCollect";
  attempt: number;
  run: {
    /** `startExecution.sync:2`'s output when the child execution succeeded (its `Output` parsed). */
    child?: { ExecutionArn?: string; Output?: unknown; Status?: string };
    /** The `Catch` error when it did not (a failed, timed-out or aborted child; a refused start). */
    error?: { Error?: string; Cause?: string };
  };
}

/** What both steps return at `$.flowhooksRun`: every field present (null when unused), for the `ResultSelector`. */
export interface FlowRunStepOutput {
  /** The attempt these fields belong to. */
  attempt: number;
  /** The task's output when the attempt ended (a verdict at start, the sub-flow's outcome at collect). */
  output: TaskResultOutput | null;
  /** The child execution's input (the flow's `parameters` option) when the sub-flow is to run. */
  input: Record<string, unknown> | null;
  /** The next attempt, and the seconds to wait before it, when the attempt ended `Retrying`. */
  retry: { attempt: number; waitSeconds: number } | null;
}

/** The fields of `FlowRunStepOutput`, in the order the compiled `ResultSelector` lists them. */
export const FLOW_RUN_FIELDS = ["attempt", "output", "input", "retry"] as const;

/**
 * Each task's key in the execution JSON: a plain identifier (task names may hold "-" or start with a
 * digit, and bracket paths such as `$.L0['fetch-data']` are the kind of JSONPath least exercised in
 * Step Functions), unique in the flow. Only the data's keys change; state names, events, alerts and
 * graphs keep the task names.
 */
export function stateKeys(names: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base = /^[A-Za-z_]/.test(name) ? name.replace(/[^A-Za-z0-9_]/g, "_") : `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    let key = base;
    for (let i = 2; taken.has(key); i++) key = `${base}_${i}`;
    taken.add(key);
    keys.set(name, key);
  }
  return keys;
}
