/**
 * A `triggers.manualOnly` task deployed (lib/compile `approvalState`): two invocations of the task's
 * function around a Step Functions task token, both through the engine's one attempt (`runAttempt`):
 *
 * 1. `t.Approval` (`mode: "approval"`, `.waitForTaskToken`): keeps the token, then runs
 *    `Pending → Paused("Waiting for approval.")`. Paused: the invocation returns and the state waits
 *    for the token's answer. Not paused (an upstream task was skipped, a state handler chose another
 *    state): it fails with `flowhooks.NotPaused`, its message the task's output, and the wait ends.
 * 2. `t` with `approval` (what the wait ended with): approved → `Paused → Resume → Running → …`;
 *    rejected → `Cancelled("Rejected: <reason>")`; timed out → `TimedOut`; not paused → the
 *    output of step 1, returned as it is (its transitions were sent then).
 */
import { APPROVAL_NOT_PAUSED_ERROR, APPROVAL_REJECTED_ERROR } from "../../lib/aws/approvals";
import { keepApprovalToken } from "../../lib/aws/approval-store";
import { systemClock } from "../../lib/core/clock";
import type { ApprovalAnswer } from "../../lib/core/attempt";
import type { FlowNode } from "../../lib/core/flow";
import { resolveUpstream, runAttempt, TaskPayloadError, type RunTaskOptions } from "./attempt";
import type { TaskPayload, TaskResultOutput } from "./payload";

/** The approval invocation's payload (`t.Approval`). */
export interface ApprovalPayload extends TaskPayload {
  mode: "approval";
  /** `$$.Task.Token`: a secret; kept encrypted, never logged. */
  taskToken: string;
}

/** What the wait left at `APPROVAL_PATH`: `SendTaskSuccess`'s output, or the caught error. */
export type ApprovalWaitOutcome = { approved: true; by?: string } | { Error: string; Cause?: string };

/** Ends the approval invocation's task output as its error (Step Functions names the error by `name`). */
export class ApprovalNotPausedError extends Error {
  override name = APPROVAL_NOT_PAUSED_ERROR;
  constructor(readonly output: TaskResultOutput) {
    super(JSON.stringify(output));
  }
}

/** Step 1: keep the token, run to Paused; anything else ends the wait at once. */
export async function runApprovalStep(node: FlowNode, payload: ApprovalPayload, options: RunTaskOptions): Promise<TaskResultOutput> {
  if (typeof payload.taskToken !== "string" || payload.taskToken === "") {
    throw new TaskPayloadError(`Task \`${node.name}\`'s approval step was sent no task token; redeploy so the state machine and the functions come from the same flow.`);
  }
  if (!options.approvals) {
    throw new TaskPayloadError(
      `Task \`${node.name}\` waits for approval but this function has no results bucket to keep the task token in; ` +
        "deploy it with FlowStateMachine (it sets FLOWHOOKS_RESULTS_BUCKET).",
    );
  }
  const clock = options.clock ?? systemClock;
  // Before the chain: an answer that comes as soon as Paused is alerted finds the token.
  await keepApprovalToken(options.approvals, payload.context.Execution.Id, node.name, payload.taskToken, clock.now());
  // One approval per entry of the state: a transient retry of this invocation is still the first attempt.
  const first = { ...payload, context: { ...payload.context, State: { ...payload.context.State, RetryCount: 0 } } };
  const upstreamStates = await resolveUpstream(payload.upstream, options.results);
  const output = await runAttempt(node, first, options, { upstreamStates, checkParameters: true, approval: "pause" });
  if (output.state.type === "Paused") return output;
  throw new ApprovalNotPausedError(output);
}

/** Step 2's answer from what the wait ended with, or the not-paused output to return as it is. */
export function approvalFromWait(node: FlowNode, wait: unknown): ApprovalAnswer | { ended: TaskResultOutput } {
  const bad = () =>
    new TaskPayloadError(
      `Task \`${node.name}\` was sent an approval it cannot read (${JSON.stringify(wait)?.slice(0, 200)}); answer Paused tasks with ` +
        "`flowhooks resume` (or the Slack buttons), which send { approved: true } or the error flowhooks.Rejected.",
    );
  if (typeof wait !== "object" || wait === null) throw bad();
  const w = wait as Record<string, unknown>;
  if (w.approved === true) return { approved: true };
  if (w.Error === APPROVAL_REJECTED_ERROR) return { rejected: typeof w.Cause === "string" && w.Cause !== "" ? w.Cause : "no reason given" };
  if (w.Error === "States.Timeout") return { timedOut: node.task.approvalTimeoutSeconds ?? 0 };
  if (w.Error === APPROVAL_NOT_PAUSED_ERROR && typeof w.Cause === "string") {
    // Lambda's error cause: { errorType, errorMessage, trace }; the message is the output.
    const cause = JSON.parse(w.Cause) as { errorMessage?: string };
    if (typeof cause.errorMessage === "string") return { ended: JSON.parse(cause.errorMessage) as TaskResultOutput };
  }
  throw bad();
}

/** Step 2: the task state after the wait. */
export async function runAfterApproval(node: FlowNode, payload: TaskPayload & { approval: unknown }, options: RunTaskOptions): Promise<TaskResultOutput> {
  const answer = approvalFromWait(node, payload.approval);
  if ("ended" in answer) return answer.ended;
  const upstreamStates = await resolveUpstream(payload.upstream, options.results);
  return runAttempt(node, payload, options, { upstreamStates, checkParameters: false, approval: answer });
}
