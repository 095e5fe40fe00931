import { afterEach, describe, expect, it } from "vitest";
import type { SNSEvent } from "aws-lambda";
import { virtualClock } from "../../../lib/core/clock";
import { InMemoryDocumentStore } from "../../../lib/aws/documents";
import { digestChannel } from "../../../lib/notify/digest";
import { slackDigestTarget } from "../../../lib/notify/slack-digest";
import { ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { createReconcileHandler } from "../../../lambdas/handler/index";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord, STATE_MACHINE_ARN } from "../../fixtures/index";
import { startFakeSlack, type FakeSlack } from "../../helpers/fake-slack";
import { harness, recordingQueue } from "./harness";

let slack: FakeSlack | undefined;
let h: ReturnType<typeof harness> | undefined;
afterEach(async () => {
  h?.sfnMock.restore();
  await slack?.close();
  slack = undefined;
});

async function slackHarness() {
  const clock = virtualClock();
  slack = await startFakeSlack();
  const queue = Object.assign(recordingQueue(), { down: false });
  const send = queue.send;
  queue.send = (body, delaySeconds) => (queue.down ? Promise.reject(new Error("SQS unavailable")) : send(body, delaySeconds));
  const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: new InMemoryDocumentStore(), queue, now: () => clock.now() });
  h = harness({ channels: [channel], deps: { queue } });
  return { clock, queue, slack, h };
}

function alarmEvent(state: "ALARM" | "OK"): SNSEvent {
  const message = {
    AlarmName: "orders-DeadLettersAlarm",
    AlarmDescription: "flowhooks orders: events the handler Lambda could not process are in the dead-letter queue; read them there, fix the cause, then redrive them.",
    NewStateValue: state,
    NewStateReason: "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).",
    StateChangeTime: "2026-01-01T00:10:00.000+0000",
  };
  return { Records: [{ EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: "arn", Sns: { Message: JSON.stringify(message) } as never }] };
}

describe("dead letters are never silent", () => {
  it("the dead-letter alarm reaches Slack through the handler; its return to OK posts nothing", async () => {
    const { slack, h } = await slackHarness();
    await h.handler(alarmEvent("ALARM"));
    await h.handler(alarmEvent("OK"));
    expect(slack.accepted()).toHaveLength(1);
    const text = JSON.stringify(slack.accepted()[0]);
    expect(text).toContain("flowhooks orders: alert records are in the dead-letter queue");
    expect(text).toContain("redrive them to the events queue");
  });

  it("a flush record dead-lettered while Slack was failing, redriven later, sends every pending alert once", async () => {
    const { clock, queue, slack, h } = await slackHarness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying"), "task-1")));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "end-1")));
    const flushBody = queue.sent[1]!.body;
    // Slack answers 500 to the maxReceiveCount deliveries: the record goes to the dead-letter queue.
    slack.replies.push(...Array.from({ length: 3 }, () => ({ status: 500, body: "internal_error" })));
    for (let receive = 1; receive <= 3; receive++) {
      expect((await h.handler(sqsEvent(sqsRecord(flushBody, "flush-1")))).batchItemFailures).toEqual([{ itemIdentifier: "flush-1" }]);
      await clock.sleep(360_000); // the visibility timeout
    }
    expect(slack.accepted()).toEqual([]);
    // Redrive (SQS StartMessageMoveTask): the same body, as a new message, twice over for good measure.
    // The digest goes at once; the ending waits for the next second's slot (deferred, not waited for).
    expect((await h.handler(sqsEvent(sqsRecord(flushBody, "redriven-1")))).batchItemFailures).toEqual([{ itemIdentifier: "redriven-1" }]);
    await clock.sleep(1_000);
    expect((await h.handler(sqsEvent(sqsRecord(flushBody, "redriven-1")))).batchItemFailures).toEqual([]);
    expect((await h.handler(sqsEvent(sqsRecord(flushBody, "redriven-2")))).batchItemFailures).toEqual([]);
    const titles = slack.accepted().map((m) => m.blocks[0].text.text);
    expect(titles).toEqual(["Flow orders: 1 retrying", "Flow orders failed"]);
  });

  it("an event record dead-lettered before its alert was recorded is alerted once when redriven", async () => {
    const { queue, slack, h } = await slackHarness();
    const body = eventBridgeEvent("task-retrying");
    queue.down = true;
    for (let receive = 1; receive <= 3; receive++) {
      expect((await h.handler(sqsEvent(sqsRecord(body, "task-1")))).batchItemFailures).toHaveLength(1);
    }

    queue.down = false;
    // Redriven after SQS recovered: recorded once, flushed once.
    await h.handler(sqsEvent(sqsRecord(body, "redriven-1")));
    await h.handler(sqsEvent(sqsRecord(body, "redriven-2")));
    expect(queue.sent).toHaveLength(1);
    await h.handler(sqsEvent(sqsRecord(queue.sent[0]!.body, "flush-1")));
    expect(slack.accepted().map((m) => m.blocks[0].text.text)).toEqual(["Flow orders: 1 retrying"]);
  });
});

describe("a digest whose flush record was dead-lettered and never redriven", () => {
  it("is flushed by the next reconciler pass: every pending alert once, and a later pass arms nothing", async () => {
    const { clock, queue, slack, h } = await slackHarness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying"), "task-1")));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "end-1")));
    const flushBody = queue.sent[1]!.body;
    slack.replies.push(...Array.from({ length: 3 }, () => ({ status: 500, body: "internal_error" })));
    for (let receive = 1; receive <= 3; receive++) {
      await h.handler(sqsEvent(sqsRecord(flushBody, "flush-1")));
      await clock.sleep(360_000);
    }
    // Dead-lettered; nobody redrives it and the execution sends no further record.
    expect(slack.accepted()).toEqual([]);
    const listed = { executionArn: EXECUTION_ARN, stateMachineArn: STATE_MACHINE_ARN, name: "execution-name", status: "FAILED" as const, startDate: new Date(clock.now().getTime() - 3_600_000), stopDate: new Date(clock.now().getTime() - 1_200_000) };
    h.sfnMock.on(ListExecutionsCommand).resolves({ executions: [listed] });
    const reconciler = createReconcileHandler(h.flow, { ...h.deps, now: () => clock.now() });
    const sentBefore = queue.sent.length;
    expect(await reconciler()).toMatchObject({ recovered: [], failed: [], rearmed: [EXECUTION_ARN] });
    const armed = queue.sent.slice(sentBefore);
    expect(armed).toEqual([{ body: flushBody, delaySeconds: 0 }]);
    // A second pass while that flush record is on its way arms nothing more.
    expect((await reconciler()).rearmed).toBeUndefined();
    expect(queue.sent.length).toBe(sentBefore + 1);
    // The armed record: the digest, then the ending one slot later.
    await h.handler(sqsEvent(sqsRecord(armed[0]!.body, "swept-1")));
    await clock.sleep(1_000);
    await h.handler(sqsEvent(sqsRecord(armed[0]!.body, "swept-1")));
    expect(slack.accepted().map((m) => m.blocks[0].text.text)).toEqual(["Flow orders: 1 retrying", "Flow orders failed"]);
    await clock.sleep(600_000);
    expect((await reconciler()).rearmed).toBeUndefined();
    expect(queue.sent.length).toBe(sentBefore + 1);
  });
});
