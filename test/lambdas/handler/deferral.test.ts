import { afterEach, expect, it } from "vitest";
import { virtualClock } from "../../../lib/core/clock";
import { InMemoryDocumentStore } from "../../../lib/aws/documents";
import { digestChannel } from "../../../lib/notify/digest";
import { slackDigestTarget } from "../../../lib/notify/slack-digest";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { startFakeSlack, type FakeSlack } from "../../helpers/fake-slack";
import { REQUEUE_AFTER_RECEIVES } from "../../../lambdas/handler/index";
import { harness, recordingQueue } from "./harness";

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

it("a Slack 429 (Retry-After 30) defers the flush record through SQS and ends the invocation at once", async () => {
  const clock = virtualClock();
  slack = await startFakeSlack();
  slack.replies.push({ status: 429, body: "rate_limited", headers: { "retry-after": "30" } });
  const queue = recordingQueue();
  const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: new InMemoryDocumentStore(), queue, now: () => clock.now() });
  const h = harness({ channels: [channel], deps: { queue } });
  try {
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "msg-1")));
    const flush = sqsRecord(queue.sent[0]!.body, "flush-1");
    const started = Date.now();
    const out = await h.handler(sqsEvent(flush), { getRemainingTimeInMillis: () => 55_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "flush-1" }]);
    expect(queue.deferred).toEqual([{ receiptHandle: flush.receiptHandle, seconds: 30 }]);
    expect(h.logs.some((l) => l.message === "Digest deferred 30s (destination busy)." && l.level === "info")).toBe(true);

    // SQS hands it back 30 s later: the ending goes out once.
    await clock.sleep(30_000);
    expect((await h.handler(sqsEvent(flush))).batchItemFailures).toEqual([]);
    expect(slack.accepted().map((m) => m.blocks[0].text.text)).toEqual(["Flow orders failed"]);
  } finally {
    h.sfnMock.restore();
  }
});

it("a flush deferred again and again is sent anew as a fresh record, so its receive count never reaches the dead-letter queue", async () => {
  const clock = virtualClock();
  slack = await startFakeSlack();
  const queue = recordingQueue();
  const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: new InMemoryDocumentStore(), queue, now: () => clock.now() });
  const h = harness({ channels: [channel], deps: { queue } });
  try {
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "msg-1")));
    slack.replies.push({ status: 429, body: "rate_limited", headers: { "retry-after": "2" } });
    const flush = sqsRecord(queue.sent[0]!.body, "flush-1");
    flush.attributes.ApproximateReceiveCount = String(REQUEUE_AFTER_RECEIVES);
    const out = await h.handler(sqsEvent(flush));
    // Done with this record (deleted); the same flush waits as a new record for the destination's time.
    expect(out.batchItemFailures).toEqual([]);
    expect(queue.deferred).toEqual([]);
    expect(queue.sent.slice(1)).toEqual([{ body: flush.body, delaySeconds: 2 }]);
  } finally {
    h.sfnMock.restore();
  }
});

