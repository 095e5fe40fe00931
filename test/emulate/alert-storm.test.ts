import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { emulate } from "../../lib/emulate/index";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { SHARDS } from "./fixtures/forty-failures";
import { fixtureTarget } from "./helpers";

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

/** How many accepted messages name `task` (as a digest line `*task*`). */
function messagesNaming(messages: unknown[], task: string): number {
  return messages.filter((m) => JSON.stringify(m).includes(`*${task}*`)).length;
}

describe("an alert storm through the emulator, Slack allowing one message per second", () => {
  it("40 failing tasks of one execution: each named in exactly one digest, at most 10 messages, none lost", async () => {
    const clock = virtualClock(new Date());
    slack = await startFakeSlack({ perSecond: 1, now: () => clock.now() });
    const result = await emulate({ target: await fixtureTarget("forty-failures"), slackWebhookUrl: slack.url, clock, write: () => undefined });

    expect(result.status).toBe("FAILED");
    expect(result.deadLettered).toEqual([]);
    const accepted = slack.accepted();
    expect(accepted.length).toBeLessThanOrEqual(10);
    for (const task of SHARDS) expect(messagesNaming(accepted, task), task).toBe(1);
    // The ending is one message, last: counts and the link, no names repeated.
    const ending = accepted.at(-1);
    expect(ending.blocks[0].text.text).toBe("Flow forty-failures failed");
    expect(JSON.stringify(ending)).toContain("40 failed (named above)");
    expect(messagesNaming([ending], "shard-01")).toBe(0);
    // Slack's pace held: accepted posts at least a second apart on the shared clock, the 429s deferred, not lost.
    expect(accepted.length).toBe(2);
    expect(JSON.stringify(accepted[0])).toContain("shard-07 could not reach the warehouse");
  });
});
