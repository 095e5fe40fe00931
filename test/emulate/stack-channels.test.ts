import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../lib/cli/errors";
import { virtualClock } from "../../lib/core/clock";
import { emulate, type EmulatorEvent } from "../../lib/emulate/index";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { errorOf } from "../notify/reject";
import { fixtureTarget } from "./helpers";

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

describe("the emulator's alert channels are the stack's", () => {
  it("an alert whose digest Slack never takes is dead-lettered and never reported as sent", async () => {
    slack = await startFakeSlack();
    // Slack answers every post `no_service` (a removed webhook): each flush fails until the record is dead-lettered.
    slack.replies.push(...Array.from({ length: 50 }, () => ({ status: 404, body: "no_service" })));
    const events: EmulatorEvent[] = [];
    const result = await emulate({
      target: await fixtureTarget("retries-exhausted"),
      fastRetries: true,
      slackWebhookUrl: slack.url,
      clock: virtualClock(new Date()),
      write: () => undefined,
      onEvent: (e) => events.push(e),
    });
    expect(result.status).toBe("FAILED");
    expect(slack.requests.length).toBeGreaterThan(0);
    expect(result.deadLettered.length).toBeGreaterThan(0);
    expect(result.alerts.filter((a) => a.channel === "slack")).toEqual([]);
    expect(events.filter((e) => e.type === "alert")).toEqual([]);
  });

});

describe("the notifiers' secrets, checked as the task functions will read them, before the execution starts", () => {
  it("snsNotifier's topicArnSecret: the stack gives it, a missing local value and a malformed ARN stop the emulation before any task runs", async () => {
    const target = await fixtureTarget("sns-topic-secret");
    await expect(emulate({ target, write: () => undefined })).rejects.toThrow(/export FLOWHOOKS_SECRET_ALERT_TOPIC_ARN=…/);
    process.env.FLOWHOOKS_SECRET_ALERT_TOPIC_ARN = "not-an-arn";
    try {
      const events: EmulatorEvent[] = [];
      const error = await errorOf(emulate({ target, write: () => undefined, onEvent: (e) => events.push(e) }));
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toBe('The secret "ALERT_TOPIC_ARN" does not hold an SNS topic ARN; store one like arn:aws:sns:eu-west-1:123456789012:alerts.');
      expect(events.filter((e) => e.type === "transition")).toEqual([]);
    } finally {
      delete process.env.FLOWHOOKS_SECRET_ALERT_TOPIC_ARN;
    }
  });
});
