/**
 * The typed contract between the state machine (lib/compile), the task Lambda (lambdas/task) and
 * the handler Lambda: what Step Functions sends a task function, what it returns, and the
 * EventBridge event it emits per task transition. Pure: no AWS SDK, no CDK.
 */
import { Failed, State, TimedOut, type StateJSON } from "../../lib/core/states";

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
  /** The whole Step Functions context object (execution id, retry count). */
  context: StepFunctionsContext;
}

/** What a task function returns: its final state, and flags the final `Choice` state reads. */
export interface TaskResultOutput {
  state: StateJSON;
  failed: boolean;
  skipped: boolean;
  /** A space and `` `name` `` when failed, else "": joined into the `Fail` state's cause. */
  failedLabel: string;
}

/**
 * What the state machine records for a task that died where no flowhooks code could report it
 * (Lambda timeout, crash, out of memory, throttling): the `Catch` error, marked `infrastructure`.
 */
export interface InfrastructureFailureOutput {
  /** The error output of the task state's `Catch`, as Step Functions wrote it. */
  infrastructure: { Error?: string; Cause?: string };
  failed: true;
  skipped: false;
  failedLabel: string;
}

/** A task's output at its static path in the execution JSON. */
export type TaskOutput = TaskResultOutput | InfrastructureFailureOutput;

/** The error name a task function throws so its state's `Retry` field schedules the next attempt. */
export const RETRYING_ERROR = "flowhooks.Retrying";

/** The error name of the `Fail` state that ends a flow whose reference tasks failed. */
export const FLOW_FAILED_ERROR = "flowhooks.FlowFailed";

/** Step Functions error names that mean the function ran out of time (its own or the state's). */
export const TIMEOUT_ERRORS = ["States.Timeout", "Sandbox.Timedout"] as const;

/** The EventBridge `source` and `detail-type` of task transitions. */
export const EVENT_SOURCE = "flowhooks";
export const TASK_STATE_CHANGE = "flowhooks Task State Change";

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
 * The state a task output stands for. The one place that maps a caught Step Functions error to a
 * flowhooks state: a timeout is `TimedOut`, anything else `Failed`.
 */
export function taskOutputState(output: TaskOutput): State {
  if (isInfrastructureFailure(output)) {
    const error = output.infrastructure.Error ?? "States.Runtime";
    const cause = output.infrastructure.Cause;
    const detail = cause ? `${error}: ${cause}` : error;
    const result = { error, cause, infrastructure: true };
    return (TIMEOUT_ERRORS as readonly string[]).includes(error)
      ? new TimedOut(`Task timed out in AWS before it could report its state (${detail}).`, { result })
      : new Failed(`Task failed in AWS before it could report its state (${detail}).`, { result });
  }
  return State.fromJSON(output.state);
}
