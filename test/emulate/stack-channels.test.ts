import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { emulate, type EmulatorEvent } from "../../lib/emulate/index";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
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
