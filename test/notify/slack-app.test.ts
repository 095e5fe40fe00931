import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { NotificationError } from "../../lib/core/errors";
import { Failed, Retrying, Running, Success } from "../../lib/core/states";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { digestChannel, parseFlushRecord, type DigestChannel } from "../../lib/notify/digest";
import { slackAppTarget } from "../../lib/notify/slack-app";
import { startFakeSlackApi, type FakeSlackApi } from "../helpers/fake-slack";
import { recordingQueue } from "../lambdas/handler/harness";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:run-7";
let api: FakeSlackApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const base = { flow: "orders", executionId: EXECUTION, consoleUrl: executionConsoleUrl(EXECUTION) };

async function setup(token?: string) {
  const clock = virtualClock(new Date("2026-01-01T00:00:00Z"));
  api = await startFakeSlackApi({ perSecond: 1, now: () => clock.now() });
  const queue = recordingQueue();
  const channel = digestChannel({
    target: slackAppTarget({ botToken: token ?? api.token, channel: "C0ALERTS01", apiBaseUrl: api.url }),
    store: new InMemoryDocumentStore(),
    queue,
    now: () => clock.now(),
  });
  /** Runs the flush record until done, as SQS would hand it back after each deferral. */
  const drain = async () => {
    const group = parseFlushRecord(queue.sent.at(-1)!.body)!.group;
    for (let r = await channel.flush(group); r.deferSeconds !== undefined; r = await channel.flush(group)) await clock.sleep(r.deferSeconds * 1000);
  };
  return { clock, channel, drain, api };
}

function retrying(channel: DigestChannel, at: Date) {
  const state = new Retrying("Retrying Task (after attempt 1 of 3)", { startTime: new Date(at.getTime() + 10_000), runCount: 1, result: new Error("database unavailable") });
  return channel.send({ ...base, kind: "task", task: "load", oldState: new Failed("x"), newState: state, attempt: 1, maxAttempts: 3, at } satisfies Alert);
}

describe("Slack app: one thread per execution, its parent updated in place", () => {
  it("a task that retried and a flow that recovered: parent, one reply, then the parent says it recovered", async () => {
    const { clock, channel, drain, api } = await setup();
    await retrying(channel, clock.now());
    await drain();
    const [parent] = api.parents();
    expect(parent!.posted.attachments[0].color).toBe("#f66a0a");
    expect(JSON.stringify(parent!.posted)).toContain("Flow orders running — 1 retrying");
    expect(JSON.stringify(parent!.posted)).toContain(`<${base.consoleUrl}|run-7>`);
    expect(api.replies(parent!.ts).map((r) => JSON.stringify(r.posted))).toEqual([expect.stringContaining("*load* Retrying, attempt 1 of 3, next attempt 2026-01-01T00:00:10Z — Error: database unavailable")]);

    const end = new Date(clock.now().getTime() + 65_000);
    await channel.send({ ...base, kind: "flow", oldState: new Running(), newState: new Success("All reference tasks succeeded."), at: end, startedAt: new Date(end.getTime() - 65_000) });
    await drain();
    expect(api.parents()).toHaveLength(1);
    expect(parent!.updates).toHaveLength(1);
    const shown = JSON.stringify(parent!.current);
    expect(shown).toContain("Flow orders recovered after 1 retry");
    expect(shown).toContain("Took 1 min 5 s");
    expect(parent!.current.attachments[0].color).toBe("#28a745");
  });

  it("an execution whose only alert is its ending: one parent showing the outcome, no thread, no update", async () => {
    const { clock, channel, drain, api } = await setup();
    await channel.send({ ...base, kind: "flow", oldState: new Running(), newState: new Failed("Execution failed: States.Timeout"), at: clock.now() });
    await drain();
    expect(api.calls.map((c) => c.method)).toEqual(["chat.postMessage"]);
    expect(JSON.stringify(api.parents()[0]!.posted)).toContain("Flow orders failed");
  });

  it("a Web API refusal names the fix and never the token", async () => {
    const { clock, channel, api } = await setup();
    const wrong = digestChannel({
      target: slackAppTarget({ botToken: "xoxb-wrong-token", channel: "C0ALERTS01", apiBaseUrl: api.url }),
      store: new InMemoryDocumentStore(),
      queue: recordingQueue(),
      now: () => clock.now(),
    });
    await retrying(wrong, clock.now());
    const error = await wrong.flush(EXECUTION).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationError);
    expect((error as Error).message).toMatch(/invalid_auth.*store a valid Bot User OAuth Token/);
    expect((error as Error).message).not.toContain("xoxb-wrong-token");
    void channel;
  });

  it("refuses a Web API URL that is neither Slack's nor loopback, and a channel name instead of an id", () => {
    expect(() => slackAppTarget({ botToken: "xoxb-1", channel: "C0ALERTS01", apiBaseUrl: "https://example.com/api" })).toThrow(/Slack's Web API .* or a loopback http URL/);
    expect(() => slackAppTarget({ botToken: "xoxb-1", channel: "#alerts" })).toThrow(/channel id such as "C0123ABCDEF"/);
  });
});
