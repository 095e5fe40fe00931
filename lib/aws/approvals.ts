/**
 * Answering a Paused (`triggers.manualOnly`) task deployed: the contract between whoever answers
 * (the `flowhooks resume` CLI, the Slack interactivity endpoint) and the store that keeps each
 * Paused task's Step Functions task token (encrypted). Implementations live beside this contract.
 */

/** An answer to a Paused task: approve, or reject with a reason. `by` names who answered (alerts, logs). */
export type ApprovalDecision = { approve: true; by?: string } | { approve: false; reason: string; by?: string };

/**
 * What answering did: `answered` (the task token was sent now), `already-answered` (an earlier
 * answer won; nothing was sent: answering is idempotent), `not-paused` (no Paused task of that
 * name in that execution, or its wait ended: timed out, execution stopped).
 */
export type ApprovalOutcome = "answered" | "already-answered" | "not-paused";

/** Answers Paused tasks by execution and task name (a mapped child's name is `task[i]`). */
export interface Approvals {
  answer(executionArn: string, task: string, decision: ApprovalDecision): Promise<ApprovalOutcome>;
}

/**
 * The error a rejection is sent with (`SendTaskFailure`); its cause is the reason. The compiled
 * approval state catches it and the task ends `Cancelled("Rejected: <reason>")`.
 */
export const APPROVAL_REJECTED_ERROR = "flowhooks.Rejected";

/**
 * The error the approval invocation ends with when its chain did not pause (an upstream task was
 * skipped, a state handler chose another state): its message is the task's output, passed on to
 * the task state, which returns it.
 */
export const APPROVAL_NOT_PAUSED_ERROR = "flowhooks.NotPaused";

/** The errors of an approval wait that the task state answers (a rejection, the timeout, no pause). */
export const APPROVAL_ANSWER_ERRORS = [APPROVAL_REJECTED_ERROR, "States.Timeout", APPROVAL_NOT_PAUSED_ERROR] as const;

/** Where the approval state leaves its answer (or the caught error) for the task state. */
export const APPROVAL_PATH = "$.flowhooksApproval";

/**
 * The longest `approvalTimeoutSeconds` deployed: a Standard execution runs at most one year
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
 */
export const MAX_APPROVAL_TIMEOUT_SECONDS = 31_536_000;

/** The approval state of task `task` (task names hold no ".", so it never collides with a task's). */
export function approvalStateName(task: string): string {
  return `${task}.Approval`;
}

/** True for an approval state's name (`approvalStateName`). */
export function isApprovalState(stateName: string): boolean {
  return stateName.endsWith(".Approval");
}

/** What `SendTaskSuccess` sends when a task is approved: the task state's `approval` payload field. */
export interface ApprovedOutput {
  approved: true;
  by?: string;
}

/**
 * Where a Paused task's token is kept (the results bucket, under `approvals/`, SSE-KMS): one object
 * per (execution, task). `prefix` is `resultKeyPrefix(executionArn)` (lib/core/results.ts).
 */
export function approvalTokenKey(prefix: string, task: string): string {
  return `approvals/${prefix}/${task}/token.json`;
}

/** Where the answer that won is recorded (after it was sent), so a second answer reports `already-answered`. */
export function approvalAnswerKey(prefix: string, task: string): string {
  return `approvals/${prefix}/${task}/answer.json`;
}
