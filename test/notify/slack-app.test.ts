import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { NotificationError } from "../../lib/core/errors";
import { Failed, Retrying, Running, Success, TimedOut } from "../../lib/core/states";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { digestChannel, parseFlushRecord, type DigestChannel } from "../../lib/notify/digest";
import { slackAppTarget } from "../../lib/notify/slack-app";
import { startFakeSlackApi, type FakeSlackApi } from "../helpers/fake-slack";
import { harness, recordingQueue } from "../lambdas/handler/harness";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../fixtures/index";

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

describe("Slack app: the conversation after redrives, stops and a deleted parent (issue 21)", () => {
  it("a redriven run's ending and a stop after the flow's report each reach the thread once; the parent shows the latest run (item 2)", async () => {
    const { clock, channel, drain, api } = await setup();
    await retrying(channel, clock.now());
    await drain();
    const end = (state: Failed | TimedOut, at: string, transitionId: string) =>
      channel.send({ ...base, kind: "flow", oldState: new Running(), newState: state, at: new Date(at), transitionId });
    await end(new TimedOut("Execution timed out."), "2026-01-01T00:10:00Z", "flow|final:stopped|-|0");
    await drain();
    await end(new Failed("Some reference tasks failed."), "2026-01-01T01:00:00Z", "flow|final|-|1");
    await drain();
    const [parent] = api.parents();
    expect(api.parents()).toHaveLength(1);
    expect(JSON.stringify(parent!.current)).toContain("Flow orders failed");
    // Run 0's ending was shown (the parent said "timed out") before run 1 replaced it.
    expect(parent!.updates.map((u) => u.text)).toEqual([expect.stringContaining("timed out"), expect.stringContaining("failed")]);
  });

  it("a deleted parent (message_not_found) strands nothing: a new parent shows the outcome and later alerts join its thread (item 9)", async () => {
    const { clock, channel, drain, api } = await setup();
    await retrying(channel, clock.now());
    await drain();
    // Someone deletes the parent in Slack.
    api.messages.splice(api.messages.findIndex((m) => !m.threadTs), 1);
    await channel.send({ ...base, kind: "task", task: "report", oldState: new Running(), newState: new Failed("boom", { result: new Error("report broke") }), attempt: 1, maxAttempts: 1, at: clock.now() });
    await channel.send({ ...base, kind: "flow", oldState: new Running(), newState: new Failed("Some reference tasks failed."), at: new Date(clock.now().getTime() + 60_000) });
    await drain();
    const [parent] = api.parents();
    expect(JSON.stringify(parent!.current)).toContain("Flow orders failed: report");
    expect(api.replies(parent!.ts).map((r) => JSON.stringify(r.posted))).toEqual([expect.stringContaining("*report* Failed")]);
  });
});

describe("Slack app through the handler Lambda (issue 21)", () => {
  it("a succeeded execution with one retry, default alertOn: the parent ends as \"recovered after 1 retry\" (item 7)", async () => {
    const clock = virtualClock(new Date("2026-01-01T00:00:00Z"));
    api = await startFakeSlackApi({ now: () => clock.now() });
    const queue = recordingQueue();
    const channel = digestChannel({ target: slackAppTarget({ botToken: api.token, channel: "C0ALERTS01", apiBaseUrl: api.url }), store: new InMemoryDocumentStore(), queue, now: () => clock.now() });
    const h = harness({ channels: [channel], deps: { queue } });
    try {
      let n = 0;
      // As SQS would: a deferred record (Slack's pace) comes back a second later.
      const deliver = async (body: unknown) => {
        const record = sqsRecord(body, `m${n++}`);
        for (let receive = 0; (await h.handler(sqsEvent(record))).batchItemFailures.length > 0; receive++) {
          expect(receive, JSON.stringify(h.logs.filter((l) => l.level === "error"))).toBeLessThan(5);
          await clock.sleep(1_000);
        }
      };
      const drainFlushes = async () => {
        for (let i = 0; i < queue.sent.length; i++) await deliver(queue.sent[i]!.body);
      };
      await deliver(eventBridgeEvent("task-retrying"));
      await drainFlushes();
      await deliver(eventBridgeEvent("sfn-succeeded"));
      await drainFlushes();
      const [parent] = api.parents();
      expect(api.parents()).toHaveLength(1);
      expect(JSON.stringify(parent!.current)).toContain("recovered after 1 retry");
    } finally {
      h.sfnMock.restore();
    }
  });
});
