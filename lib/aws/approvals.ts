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
