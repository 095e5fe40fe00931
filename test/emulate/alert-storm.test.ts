import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { emulate } from "../../lib/emulate/index";
import { startFakeSlack, startFakeSlackApi, type FakeSlack } from "../helpers/fake-slack";
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
    expect(JSON.stringify(ending)).toMatch(/\*Duration\*\\n\d+(\.\d)? s/);
    expect(messagesNaming([ending], "shard-01")).toBe(0);
    // Paced by the shared rate limit: two messages, Slack never had to refuse one.
    expect(accepted.length).toBe(2);
    expect(slack.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(JSON.stringify(accepted[0])).toContain("shard-07 could not reach the warehouse");
  });
});

describe("an alert storm through the emulator, as a Slack app (one thread per execution)", () => {
  it("40 failing tasks: one parent updated in place to the outcome, every task named in exactly one thread reply, none lost", async () => {
    const clock = virtualClock(new Date());
    const api = await startFakeSlackApi({ perSecond: 1, now: () => clock.now() });
    try {
      const result = await emulate({
        target: await fixtureTarget("forty-failures"),
        slackApp: { botToken: api.token, channel: "C0ALERTS01", apiBaseUrl: api.url },
        // No window: the first alert's flush runs while the storm does, as when a deployed window ends mid-execution.
        alertWindowSeconds: 0,
        clock,
        write: () => undefined,
      });
      expect(result.status).toBe("FAILED");
      expect(result.deadLettered).toEqual([]);
      const [parent, ...others] = api.parents();
      expect(others).toEqual([]);
      const replies = api.replies(parent!.ts);
      expect(api.messages.length).toBeLessThanOrEqual(10);
      for (const task of SHARDS) expect(messagesNaming(replies.map((r) => r.posted), task), task).toBe(1);
      // The parent: posted while the storm ran, updated in place to the outcome, naming the failed tasks.
      expect(parent!.updates.length).toBeGreaterThanOrEqual(1);
      const shown = JSON.stringify(parent!.current);
      expect(shown).toContain("Flow forty-failures failed: shard-01, shard-02");
      expect(shown).toContain("Task alerts: 40 failed");
      expect(parent!.current.attachments[0].color).toBe("#eb0000");
      expect(JSON.stringify(api.calls)).not.toContain(api.token);
      // Paced by the shared rate limit: Slack never had to refuse a post.
      expect(api.calls.every((c) => c.status === 200)).toBe(true);
      // The parent went up while tasks were still failing, and was updated in place at the end.
      expect(JSON.stringify(parent!.posted)).toContain("Flow forty-failures running — ");
      expect(api.calls.at(-1)!.method).toBe("chat.update");
    } finally {
      await api.close();
    }
  });
});

describe("the emulator on the real clock", () => {
  it("does not wait out the digest window once the execution has ended; it keeps Slack's pace", async () => {
    slack = await startFakeSlack({ perSecond: 1 });
    const target = await fixtureTarget("retries-exhausted");
    const started = Date.now();
    const result = await emulate({ target, fastRetries: true, slackWebhookUrl: slack.url, write: () => undefined });
    const took = Date.now() - started;
    expect(result.status).toBe("FAILED");
    // The digest, then the ending one slot (a second) later: the 5 s window did not hold the run.
    expect(slack.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(took).toBeLessThan(4_500);
  });
});
