import { afterEach, describe, expect, it } from "vitest";
import { slackChannel } from "../../../lib/notify/slack";
import { snsChannel } from "../../../lib/notify/sns";
import { flowFinalKey, InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord } from "../../fixtures/index";
import { startFakeSlack, type FakeSlack } from "../../helpers/fake-slack";
import { harness } from "./harness";

let slack: FakeSlack | undefined;
let h: ReturnType<typeof harness>;
afterEach(async () => {
  h?.sfnMock.restore();
  await slack?.close();
  slack = undefined;
});

describe("handler Lambda: alert delivery", () => {
  /** Slack answers 503 to the first three posts, then 200 "ok". */
  async function slackDownThrice(): Promise<string> {
    slack = await startFakeSlack();
    slack.replies.push(...Array.from({ length: 3 }, () => ({ status: 503, body: "service unavailable" })));
    return slack.url;
  }

  it("Slack down for three deliveries then up: the record is retried by SQS and the alert arrives once", async () => {
    const url = await slackDownThrice();
    h = harness({ channels: [slackChannel({ webhookUrl: url, maxAttempts: 1 })] });
    const record = sqsRecord(eventBridgeEvent("sfn-failed"), "msg-1");
    const results = [];
    for (let delivery = 1; delivery <= 5; delivery++) results.push(await h.handler(sqsEvent(record)));

    expect(results.map((r) => r.batchItemFailures.map((f) => f.itemIdentifier))).toEqual([["msg-1"], ["msg-1"], ["msg-1"], [], []]);
    expect(slack!.requests).toHaveLength(4);
    expect(slack!.accepted()).toHaveLength(1);
    expect(JSON.stringify(slack!.accepted()[0])).toContain("orders");
    const failedLines = h.logs.filter((l) => l.message === "Record failed; SQS will deliver it again.");
    expect(failedLines.map((l) => [l.level, l.executionArn, l.messageId])).toEqual(Array(3).fill(["error", EXECUTION_ARN, "msg-1"]));
    expect(h.logs.every((l) => "executionArn" in l)).toBe(true);
  });

  it("with two channels, the one that succeeded is not sent the alert again while the other is retried", async () => {
    const url = await slackDownThrice();
    const published: unknown[] = [];
    const sns = snsChannel({
      topicArn: "arn:aws:sns:us-east-1:123456789012:orders-alerts",
      client: { send: async (command: any) => (published.push(command.input), { MessageId: "1" }) } as any,
    });
    h = harness({ channels: [sns, slackChannel({ webhookUrl: url, maxAttempts: 1 })] });
    const record = sqsRecord(eventBridgeEvent("sfn-timed-out"), "msg-2");
    for (let delivery = 1; delivery <= 4; delivery++) await h.handler(sqsEvent(record));
    expect(published).toHaveLength(1);
    expect(slack!.accepted()).toHaveLength(1);
  });

  it("another record in the same batch is not held back by a failing alert", async () => {
    const url = await slackDownThrice();
    h = harness({ channels: [slackChannel({ webhookUrl: url, maxAttempts: 1 })] });
    const failing = sqsRecord(eventBridgeEvent("sfn-failed"), "msg-3");
    const quiet = sqsRecord(eventBridgeEvent("sfn-succeeded", { executionArn: "arn:aws:states:us-east-1:123456789012:execution:orders-flow:other" }), "msg-4");
    const result = await h.handler(sqsEvent(failing, quiet));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "msg-3" }]);
    expect(h.callLines().filter((l) => l.includes("Success"))).toHaveLength(1);
  });
});

describe("handler Lambda: a crash between claim and delivery", () => {
  it("postpones the record while the crashed invocation's lease runs, then delivers the alert once", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const store = new InMemoryTransitionStore({ leaseSeconds: 60, now: () => now });
    h = harness({ deps: { store } });
    await store.claim(flowFinalKey(EXECUTION_ARN, 0)); // an invocation that timed out right after claiming
    const record = sqsRecord(eventBridgeEvent("sfn-failed"), "msg-5");

    expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([{ itemIdentifier: "msg-5" }]);
    expect(h.logs.some((l) => l.level === "warn" && /Record postponed: .*being processed by another invocation/.test(l.message))).toBe(true);
    expect(h.channel.sent).toEqual([]);

    now = new Date("2026-01-01T00:01:01Z");
    expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);
    expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
  });
});
