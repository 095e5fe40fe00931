import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { slackChannel } from "../../../lib/notify/slack";
import { snsChannel } from "../../../lib/notify/sns";
import { flowFinalKey, InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord } from "../../fixtures/index";
import { harness } from "./harness";

/** A Slack-like webhook on 127.0.0.1 that answers 503 `downFor` times, then 200 "ok". */
function fakeSlack(downFor: number) {
  const accepted: any[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests++;
      if (requests <= downFor) {
        res.writeHead(503).end("service unavailable");
        return;
      }
      accepted.push(JSON.parse(body));
      res.writeHead(200).end("ok");
    });
  });
  return {
    accepted,
    requests: () => requests,
    start: () => new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXX`))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let slack: ReturnType<typeof fakeSlack>;
let h: ReturnType<typeof harness>;
afterEach(async () => {
  h?.sfnMock.restore();
  await slack?.stop();
});

describe("handler Lambda: alert delivery", () => {
  beforeEach(() => {
    slack = fakeSlack(3);
  });

  it("Slack down for three deliveries then up: the record is retried by SQS and the alert arrives once", async () => {
    const url = await slack.start();
    h = harness({ channels: [slackChannel({ webhookUrl: url, maxAttempts: 1 })] });
    const record = sqsRecord(eventBridgeEvent("sfn-failed"), "msg-1");
    const results = [];
    for (let delivery = 1; delivery <= 5; delivery++) results.push(await h.handler(sqsEvent(record)));

    expect(results.map((r) => r.batchItemFailures.map((f) => f.itemIdentifier))).toEqual([["msg-1"], ["msg-1"], ["msg-1"], [], []]);
    expect(slack.requests()).toBe(4);
    expect(slack.accepted).toHaveLength(1);
    expect(JSON.stringify(slack.accepted[0])).toContain("orders");
    const failedLines = h.logs.filter((l) => l.message === "Record failed; SQS will deliver it again.");
    expect(failedLines.map((l) => [l.level, l.executionArn, l.messageId])).toEqual(Array(3).fill(["error", EXECUTION_ARN, "msg-1"]));
    expect(h.logs.every((l) => "executionArn" in l)).toBe(true);
  });

  it("with two channels, the one that succeeded is not sent the alert again while the other is retried", async () => {
    const url = await slack.start();
    const published: unknown[] = [];
    const sns = snsChannel({
      topicArn: "arn:aws:sns:us-east-1:123456789012:orders-alerts",
      client: { send: async (command: any) => (published.push(command.input), { MessageId: "1" }) } as any,
    });
    h = harness({ channels: [sns, slackChannel({ webhookUrl: url, maxAttempts: 1 })] });
    const record = sqsRecord(eventBridgeEvent("sfn-timed-out"), "msg-2");
    for (let delivery = 1; delivery <= 4; delivery++) await h.handler(sqsEvent(record));
    expect(published).toHaveLength(1);
    expect(slack.accepted).toHaveLength(1);
  });

  it("another record in the same batch is not held back by a failing alert", async () => {
    const url = await slack.start();
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
