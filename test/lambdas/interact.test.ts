/**
 * The Slack interactivity function end to end: a real HTTP server on 127.0.0.1 stands in for its
 * function URL (test/helpers/function-url.ts), another for Slack's `response_url`
 * (test/helpers/fake-slack.ts); the clicked message is the thread reply lib/notify/slack-app.ts
 * formats for a Paused task, as Slack sends it back in the payload; the clock is injected.
 */
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Paused, Pending, Running } from "../../lib/core/states";
import type { ApprovalDecision, ApprovalOutcome, Approvals } from "../../lib/aws/approvals";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from "../../lib/notify/approval-buttons";
import { digestLine } from "../../lib/notify/digest";
import { formatThreadReply } from "../../lib/notify/slack-app";
import { createInteractHandler } from "../../lambdas/interact/index";
import type { Flow } from "../../lib/core/flow";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { serveFunctionUrl, type FunctionUrlServer } from "../helpers/function-url";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:run-7";
const STATE_MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders-flow";
const APPROVER = "U0APPROVER";
const NOW_S = 1_780_000_000;

/** An approval store in memory: idempotent as the contract says, counting the answers it "sent". */
export function memoryApprovals(paused: { executionArn: string; task: string }[]) {
  const answers = new Map<string, ApprovalDecision | undefined>(paused.map((p) => [`${p.executionArn}|${p.task}`, undefined]));
  const sent: { executionArn: string; task: string; decision: ApprovalDecision }[] = [];
  let calls = 0;
  const approvals: Approvals = {
    async answer(executionArn, task, decision): Promise<ApprovalOutcome> {
      calls++;
      const key = `${executionArn}|${task}`;
      if (!answers.has(key)) return "not-paused";
      if (answers.get(key)) return "already-answered";
      answers.set(key, decision);
      sent.push({ executionArn, task, decision });
      return "answered";
    },
  };
  return { approvals, sent, calls: () => calls };
}

/** The thread reply Slack shows: `approve` Paused, `load-eu` Failed, formatted by the Slack app target with buttons on. */
function threadReply() {
  const base = { flow: "orders", executionId: EXECUTION, kind: "task" as const, at: new Date(NOW_S * 1000 - 60_000) };
  const lines = [
    digestLine({ ...base, task: "approve", oldState: new Pending(), newState: new Paused("Waiting for approval.", { startTime: base.at }) }),
    digestLine({ ...base, task: "load-eu", oldState: new Running(), newState: new Failed("Error during execution of task", { result: new Error("boom") }), attempt: 1, maxAttempts: 1 }),
  ];
  return formatThreadReply({ flow: "orders", executionId: EXECUTION }, lines, 0, true);
}

function buttons(message: ReturnType<typeof threadReply>) {
  const actions = message.attachments[0]!.blocks.filter((b) => b.type === "actions") as { block_id: string; elements: { action_id: string; value: string }[] }[];
  return actions.flatMap((a) => a.elements.map((e) => ({ ...e, block_id: a.block_id })));
}

/** Slack's block_actions payload for a click on `actionId`, as a signed form-encoded request. */
function click(options: { actionId: string; user?: string; responseUrl: string; timestamp?: number; secret?: string; value?: string }) {
  const message = threadReply();
  const button = buttons(message).find((b) => b.action_id === options.actionId)!;
  const payload = {
    type: "block_actions",
    user: { id: options.user ?? APPROVER, username: "alice", team_id: "T0TEAM" },
    response_url: options.responseUrl,
    message: { type: "message", text: message.text, blocks: message.blocks, attachments: message.attachments },
    actions: [{ type: "button", action_id: button.action_id, block_id: button.block_id, value: options.value ?? button.value, action_ts: String(NOW_S) }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(options.timestamp ?? NOW_S);
  const signature = `v0=${createHmac("sha256", options.secret ?? SECRET).update(`v0:${timestamp}:${body}`).digest("hex")}`;
  return { body, headers: { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": timestamp, "x-slack-signature": signature } };
}

let slack: FakeSlack | undefined;
let endpoint: FunctionUrlServer | undefined;
afterEach(async () => {
  await slack?.close();
  await endpoint?.close();
  slack = endpoint = undefined;
});

async function setup(options: { approvals?: Approvals | null; nowS?: () => number } = {}) {
  slack = await startFakeSlack();
  const store = memoryApprovals([{ executionArn: EXECUTION, task: "approve" }]);
  const handler = createInteractHandler({} as Flow, {
    env: { FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing", FLOWHOOKS_SLACK_APPROVERS: `${APPROVER},U0SECOND`, FLOWHOOKS_STATE_MACHINE_ARN: STATE_MACHINE },
    secrets: { get: async () => SECRET },
    approvals: options.approvals === null ? undefined : (options.approvals ?? store.approvals),
    now: () => (options.nowS?.() ?? NOW_S) * 1000,
    logger: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
  });
  endpoint = await serveFunctionUrl(handler);
  const post = (request: { body: string; headers: Record<string, string> }) => fetch(endpoint!.url, { method: "POST", headers: request.headers, body: request.body });
  return { store, post, slack };
}

describe("Slack approval buttons: the interactivity function", () => {
  it("an approver's Approve answers the task once and the message shows who approved where the buttons were", async () => {
    const { store, post, slack } = await setup();
    const started = Date.now();
    const response = await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(response.status).toBe(200);
    expect(store.sent).toEqual([{ executionArn: EXECUTION, task: "approve", decision: { approve: true, by: `alice (${APPROVER}) in Slack` } }]);
    expect(slack.requests).toHaveLength(1);
    const update = slack.requests[0]!.json;
    expect(update.replace_original).toBe(true);
    const blocks = update.attachments[0].blocks as { type: string; elements?: { text?: string }[] }[];
    expect(blocks.some((b) => b.type === "actions")).toBe(false);
    expect(JSON.stringify(blocks)).toContain(`:white_check_mark: *approve* approved by <@${APPROVER}> at 2026-05-28T20:26:40Z`);
    // The rest of the reply (the failed task) is kept.
    expect(JSON.stringify(blocks)).toContain("*load-eu* Failed");
  });

  it("Reject answers with who rejected as the reason (a reason of one's own goes through flowhooks resume)", async () => {
    const { store, post, slack } = await setup();
    expect((await post(click({ actionId: REJECT_ACTION_ID, responseUrl: slack.url }))).status).toBe(200);
    expect(store.sent.map((s) => s.decision)).toEqual([{ approve: false, reason: `by alice (${APPROVER}) in Slack`, by: `alice (${APPROVER}) in Slack` }]);
    expect(JSON.stringify(slack.requests[0]!.json)).toContain(`:no_entry: *approve* rejected by <@${APPROVER}>`);
  });

  it("a forged signature (signed with another secret) is refused with 401: nothing answered, nothing posted", async () => {
    const { store, post, slack } = await setup();
    const response = await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url, secret: "not-the-apps-signing-secret" }));
    expect(response.status).toBe(401);
    expect(await response.text()).toBe("The request is not signed by Slack with this app's signing secret.");
    expect(store.calls()).toBe(0);
    expect(slack.requests).toHaveLength(0);
  });

  it("a replayed request (the same signed body twice) answers once and updates the message once", async () => {
    const { store, post, slack } = await setup();
    const request = click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url });
    expect((await post(request)).status).toBe(200);
    expect((await post(request)).status).toBe(200);
    expect(store.calls()).toBe(1);
    expect(store.sent).toHaveLength(1);
    expect(slack.requests).toHaveLength(1);
  });

  it("a stale request (timestamp more than 5 minutes from the injected clock, either way) is refused; one at 5 minutes passes", async () => {
    let nowS = NOW_S;
    const { store, post, slack } = await setup({ nowS: () => nowS });
    nowS = NOW_S + 301;
    expect((await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url }))).status).toBe(401);
    nowS = NOW_S - 301;
    expect((await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url }))).status).toBe(401);
    expect(store.calls()).toBe(0);
    nowS = NOW_S + 300;
    expect((await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url }))).status).toBe(200);
    expect(store.sent).toHaveLength(1);
  });

  it("a user who is not an approver is told so, only to them, and nothing is answered", async () => {
    const { store, post, slack } = await setup();
    expect((await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url, user: "U0INTRUDER" }))).status).toBe(200);
    expect(store.calls()).toBe(0);
    expect(slack.requests.map((r) => r.json)).toEqual([
      {
        response_type: "ephemeral",
        replace_original: false,
        text: "Only the flow's approvers can answer `approve` (alerts.slack.approvals.approvers); ask one of them, or have your Slack user id (U0INTRUDER) added.",
      },
    ]);
  });

  it("a second click after the answer (a new signed request) says it was already answered and sends nothing", async () => {
    let nowS = NOW_S;
    const { store, post, slack } = await setup({ nowS: () => nowS });
    await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url }));
    nowS = NOW_S + 5;
    await post(click({ actionId: REJECT_ACTION_ID, responseUrl: slack.url, user: "U0SECOND", timestamp: NOW_S + 5 }));
    expect(store.calls()).toBe(2);
    expect(store.sent).toHaveLength(1);
    expect(JSON.stringify(slack.requests[1]!.json)).toContain("*approve* was already answered; <@U0SECOND>'s click at 2026-05-28T20:26:45Z sent nothing");
  });

  it("a click on a task that no longer waits (timed out, stopped, answered with flowhooks resume) says so and sends nothing", async () => {
    const { store, post, slack } = await setup();
    const value = JSON.stringify({ e: EXECUTION, t: "approve" });
    await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url, value: value.replace('"approve"', '"approve-old"') }));
    expect(store.calls()).toBe(1);
    expect(store.sent).toEqual([]);
    expect(JSON.stringify(slack.requests[0]!.json)).toContain("*approve-old* is no longer waiting (timed out, stopped, or answered with flowhooks resume)");
  });

  it("a button of another state machine's execution is refused, naming one Slack app per flow", async () => {
    const { store, post, slack } = await setup();
    const value = JSON.stringify({ e: "arn:aws:states:eu-west-1:123456789012:execution:billing-flow:run-1", t: "approve" });
    await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url, value }));
    expect(store.calls()).toBe(0);
    expect(slack.requests[0]!.json.text).toMatch(/belongs to another flow's executions.*Give each flow with approval buttons a Slack app of its own/);
  });

  it("a body the function URL hands over base64-encoded is checked as the bytes Slack signed", async () => {
    const store = memoryApprovals([{ executionArn: EXECUTION, task: "approve" }]);
    slack = await startFakeSlack();
    const handler = createInteractHandler({} as Flow, {
      env: { FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing", FLOWHOOKS_SLACK_APPROVERS: APPROVER, FLOWHOOKS_STATE_MACHINE_ARN: STATE_MACHINE },
      secrets: { get: async () => SECRET },
      approvals: store.approvals,
      now: () => NOW_S * 1000,
      logger: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
    });
    const request = click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url });
    const result = (await handler({ body: Buffer.from(request.body).toString("base64"), isBase64Encoded: true, headers: request.headers } as never)) as { statusCode: number };
    expect(result.statusCode).toBe(200);
    expect(store.sent).toHaveLength(1);
  });

  it("without an approval store in the build, the clicker is told the fix (flowhooks resume) and Slack still gets its 200", async () => {
    const { post, slack } = await setup({ approvals: null });
    expect((await post(click({ actionId: APPROVE_ACTION_ID, responseUrl: slack.url }))).status).toBe(200);
    expect(slack.requests[0]!.json).toMatchObject({ response_type: "ephemeral", text: expect.stringContaining("flowhooks resume") });
  });
});
