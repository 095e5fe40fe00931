/**
 * Slack approval buttons on the Slack app's thread replies (issue 26): a Paused task's alert
 * carries Approve and Reject, through the real digest channel and a fake Web API on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { Failed, Paused, Pending, Running } from "../../lib/core/states";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, parseApprovalButtonValue } from "../../lib/notify/approval-buttons";
import type { Alert } from "../../lib/notify/alert";
import { digestChannel, digestLine, parseFlushRecord } from "../../lib/notify/digest";
import { formatThreadReply, slackAppTarget } from "../../lib/notify/slack-app";
import { startFakeSlackApi, type FakeSlackApi } from "../helpers/fake-slack";
import { recordingQueue } from "../lambdas/handler/harness";
import { readHandlerEnv } from "../../lambdas/handler/env";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:run-7";
const base = { flow: "orders", executionId: EXECUTION };
let api: FakeSlackApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const paused = (task: string, at: Date): Alert => ({ ...base, kind: "task", task, oldState: new Pending(), newState: new Paused("Waiting for approval.", { startTime: at }), at });

type Button = { action_id: string; value: string; style: string; text: { text: string }; confirm?: unknown };
function actionBlocks(message: { attachments: { blocks: Record<string, unknown>[] }[] }) {
  return message.attachments[0]!.blocks.filter((b) => b.type === "actions") as { block_id: string; elements: Button[] }[];
}

async function postedReply(approvalButtons: boolean) {
  const clock = virtualClock(new Date("2026-01-01T00:00:00Z"));
  api = await startFakeSlackApi({ now: () => clock.now() });
  const queue = recordingQueue();
  const channel = digestChannel({
    target: slackAppTarget({ botToken: api.token, channel: "C0ALERTS01", apiBaseUrl: api.url, approvalButtons }),
    store: new InMemoryDocumentStore(),
    queue,
    now: () => clock.now(),
  });
  await channel.send(paused("approve", clock.now()));
  const group = parseFlushRecord(queue.sent.at(-1)!.body)!.group;
  for (let r = await channel.flush(group); r.deferSeconds !== undefined; r = await channel.flush(group)) await clock.sleep(r.deferSeconds * 1000);
  const [parent] = api.parents();
  return api.replies(parent!.ts)[0]!.posted;
}

describe("Slack app: approval buttons on a Paused task's alert", () => {
  it("with approvals deployed, the thread reply of a Paused task carries Approve and Reject naming the execution and the task", async () => {
    const reply = await postedReply(true);
    const [block] = actionBlocks(reply);
    expect(block!.elements.map((e) => [e.action_id, e.style, e.text.text])).toEqual([
      [APPROVE_ACTION_ID, "primary", "Approve approve"],
      [REJECT_ACTION_ID, "danger", "Reject approve"],
    ]);
    expect(block!.elements.map((e) => parseApprovalButtonValue(e.value))).toEqual([
      { executionArn: EXECUTION, task: "approve" },
      { executionArn: EXECUTION, task: "approve" },
    ]);
    // Reject asks first: its reason is fixed (who rejected, in Slack).
    expect(JSON.stringify(block!.elements[1]!.confirm)).toContain('flowhooks resume … --reject \\"reason\\"');
    // No secret: the value is the execution ARN and the task name, nothing else.
    expect(Object.keys(JSON.parse(block!.elements[0]!.value))).toEqual(["e", "t"]);
  });

  it("without an interactivity endpoint there are no buttons (they would answer nothing)", async () => {
    expect(actionBlocks(await postedReply(false))).toEqual([]);
  });

  it("the handler Lambda turns the buttons on only when the construct says an endpoint answers them (FLOWHOOKS_SLACK_APPROVAL_BUTTONS=1)", () => {
    const env = { FLOWHOOKS_DEDUPE_TABLE: "claims", FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bot", FLOWHOOKS_SLACK_CHANNEL: "C0ALERTS01" };
    expect(readHandlerEnv(env, { needStateMachine: false }).slackApprovalButtons).toBe(false);
    expect(readHandlerEnv({ ...env, FLOWHOOKS_SLACK_APPROVAL_BUTTONS: "1" }, { needStateMachine: false }).slackApprovalButtons).toBe(true);
  });

  it("only Paused lines get buttons, one block each, within Slack's 50 blocks; the rest are named with the fix", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    const failed = digestLine({ ...base, kind: "task", task: "load", oldState: new Running(), newState: new Failed("boom"), at });
    const lines = [failed, ...Array.from({ length: 60 }, (_, i) => digestLine(paused(`approve[${i}]`, at)))];
    const message = formatThreadReply(base, lines, 0, true);
    const blocks = message.attachments[0]!.blocks;
    expect(blocks.length).toBeLessThanOrEqual(50);
    const actions = actionBlocks(message);
    expect(new Set(actions.map((a) => a.block_id)).size).toBe(actions.length);
    expect(actions.every((a) => parseApprovalButtonValue(a.elements[0]!.value)!.task.startsWith("approve["))).toBe(true);
    const shown = actions.length;
    expect(JSON.stringify(blocks.at(-1))).toContain(`${60 - shown} more Paused tasks without buttons (Slack's 50 blocks): answer with \`flowhooks resume\``);
  });
});
