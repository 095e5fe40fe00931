/**
 * The typed contract between the state machine (lib/compile), the task Lambda (lambdas/task) and
 * the handler Lambda: what Step Functions sends a task function, what it returns, and the
 * EventBridge event it emits per task transition. Pure: no AWS SDK, no CDK.
 */
import { State, type StateJSON } from "../../lib/core/states";
import { TASK_EVENT_SOURCE, TASK_STATE_CHANGE } from "../../lib/aws/events";
import { taskInfrastructureState } from "../../lib/aws/state-mapping";

export { FLOW_FAILED_ERROR, RETRYING_ERROR } from "../../lib/aws/state-mapping";

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
  /** A mapped task's child: its index (0-based); absent for the parent and for unmapped tasks. */
  mapIndex?: number;
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
  const failed = state.isFailed();
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
