/**
 * What a Slack approval button carries: its `action_id`s and its `value` (the execution ARN and the
 * task, no secret: the task token stays in the approval store). The Slack app target draws the
 * buttons (slack-app.ts); the interactivity endpoint reads them (lib/aws/slack-interact.ts).
 */

/** The Approve button's `action_id`. */
export const APPROVE_ACTION_ID = "flowhooks.approve";
/** The Reject button's `action_id`. */
export const REJECT_ACTION_ID = "flowhooks.reject";
/** Slack's limit on a button's `value`. */
export const BUTTON_VALUE_MAX_CHARS = 2000;

/** Which Paused task a button answers. */
export interface ApprovalButtonTarget {
  executionArn: string;
  task: string;
}

/** A button's `value`: the execution ARN and the task name (a mapped child's is `task[i]`), as compact JSON. */
export function approvalButtonValue(target: ApprovalButtonTarget): string {
  const value = JSON.stringify({ e: target.executionArn, t: target.task });
  if (value.length > BUTTON_VALUE_MAX_CHARS) {
    throw new RangeError(`The approval button for task \`${target.task}\` would carry ${value.length} characters, over Slack's ${BUTTON_VALUE_MAX_CHARS}; shorten the task's name.`);
  }
  return value;
}

/** The task a button's `value` names, or undefined when it is not one of ours. */
export function parseApprovalButtonValue(value: unknown): ApprovalButtonTarget | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const parsed = JSON.parse(value) as { e?: unknown; t?: unknown };
    if (typeof parsed?.e !== "string" || typeof parsed.t !== "string" || !parsed.e.startsWith("arn:") || parsed.t === "") return undefined;
    return { executionArn: parsed.e, task: parsed.t };
  } catch {
    return undefined;
  }
}
