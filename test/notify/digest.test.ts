import { afterEach, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { Failed, Retrying, Running, TimedOut } from "../../lib/core/states";
import { InMemoryDocumentStore, type DocumentStore } from "../../lib/aws/documents";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { digestChannel, parseFlushRecord, type DigestChannel } from "../../lib/notify/digest";
import { slackDigestTarget } from "../../lib/notify/slack-digest";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { recordingQueue } from "../lambdas/handler/harness";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:run-1";
let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

function taskAlert(task: string, at: Date, state = new Failed(`${task} broke`, { result: new Error(`${task}: connection refused`) })): Alert {
  return { kind: "task", flow: "orders", task, oldState: new Running(), newState: state, executionId: EXECUTION, consoleUrl: executionConsoleUrl(EXECUTION), attempt: 1, maxAttempts: state.isRetrying() ? 3 : 1, at };
}

function flowAlert(at: Date): Alert {
  return { kind: "flow", flow: "orders", oldState: new Running(), newState: new Failed("Some reference tasks failed."), executionId: EXECUTION, at, startedAt: new Date(at.getTime() - 83_000) };
}

async function setup(options: { perSecond?: number; windowSeconds?: number } = {}) {
  const clock = virtualClock();
  slack = await startFakeSlack({ perSecond: options.perSecond, now: () => clock.now() });
  const queue = recordingQueue();
  const channel = digestChannel({
    target: slackDigestTarget({ webhookUrl: slack.url }),
    store: new InMemoryDocumentStore(),
    queue,
    windowSeconds: options.windowSeconds,
    now: () => clock.now(),
  });
  const group = () => parseFlushRecord(queue.sent.at(-1)!.body)!.group;
  return { clock, queue, channel, slack, group };
}

/** The characters of text in a message's blocks (what Slack's `msg_blocks_too_long` counts). */
function blockText(message: any): number {
  let n = 0;
  const walk = (v: any): void => {
    if (typeof v === "string") return;
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) typeof x === "string" && k === "text" ? (n += x.length) : walk(x);
  };
  walk([message.blocks, message.attachments]);
  return n;
}

describe("Slack digests per execution (incoming webhook)", () => {
  it("task alerts within the window become one message naming each task; a redelivered alert is named once", async () => {
    const { clock, queue, channel, slack, group } = await setup();
    for (const task of ["load", "clean", "load"]) await channel.send(taskAlert(task, new Date("2026-01-01T00:00:00Z")));
    // Only the first alert schedules a flush, after the window.
    expect(queue.sent.map((s) => s.delaySeconds)).toEqual([5]);
    await clock.sleep(5_000);
    expect(await channel.flush(group())).toEqual({ requests: 1 });
    const [message] = slack.accepted();
    expect(message.blocks[0].text.text).toBe("Flow orders: 2 failed");
    const text = JSON.stringify(message);
    expect(text.match(/\*load\*/g)).toHaveLength(1);
    expect(text).toContain("*clean* Failed — Error: clean: connection refused");
    expect(text).toContain("Open in the Step Functions console");
  });

  it("more than 50 task alerts: 50 per message, each saying how many follow, none cut", async () => {
    const { clock, channel, slack, group } = await setup({ perSecond: 100 });
    const tasks = Array.from({ length: 120 }, (_, i) => `t${i}`);
    for (const task of tasks) await channel.send(taskAlert(task, new Date("2026-01-01T00:00:00Z")));
    let result = await channel.flush(group());
    while (result.deferSeconds !== undefined) {
      await clock.sleep(result.deferSeconds * 1000);
      result = await channel.flush(group());
    }
    const messages = slack.accepted().map((m) => JSON.stringify(m));
    expect(messages).toHaveLength(3);
    expect(messages[0]).toContain("and 70 more task alerts in the next message");
    expect(messages[1]).toContain("and 20 more task alerts in the next message");
    for (const task of tasks) expect(messages.filter((m) => m.includes(`*${task}*`)), task).toHaveLength(1);
  });

  it("a busy webhook defers the flush to its reserved slot instead of waiting, and the ending follows as one message", async () => {
    const { clock, channel, slack, group, queue } = await setup({ perSecond: 1 });
    const retrying = new Retrying("retrying", { startTime: new Date("2026-01-01T00:00:30Z"), runCount: 1, result: new Error("timeout") });
    await channel.send(taskAlert("load", clock.now(), retrying));
    await channel.send(flowAlert(clock.now()));
    // The ending schedules a flush at once.
    expect(queue.sent.map((s) => s.delaySeconds)).toEqual([5, 0]);
    const started = Date.now();
    const first = await channel.flush(group());
    expect(first).toEqual({ requests: 1, deferSeconds: 1 });
    await clock.sleep(1_000);
    expect(await channel.flush(group())).toEqual({ requests: 1 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(slack.requests.map((r) => r.status)).toEqual([200, 200]);
    const [digest, ending] = slack.accepted().map((m) => JSON.stringify(m));
    expect(digest).toContain("*load* Retrying, attempt 1 of 3, next attempt 2026-01-01T00:00:30Z — Error: timeout");
    expect(ending).toContain("Flow orders failed");
    expect(ending).toContain("1 min 23 s");
    expect(ending).toContain("1 retrying (named above)");
    // The window's own flush finds nothing left.
    expect(await channel.flush(group())).toEqual({ requests: 0 });
  });

  it("429 with Retry-After 30 defers the flush 30 s and holds every other flush of the destination off", async () => {
    const { clock, channel, slack, group } = await setup();
    slack.replies.push({ status: 429, body: "rate_limited", headers: { "retry-after": "30" } });
    await channel.send(taskAlert("load", clock.now()));
    expect(await channel.flush(group())).toEqual({ requests: 0, deferSeconds: 30 });
    await clock.sleep(10_000);
    expect(await channel.flush(group())).toEqual({ requests: 0, deferSeconds: 20 });
    await clock.sleep(20_000);
    expect(await channel.flush(group())).toEqual({ requests: 1 });
    expect(slack.accepted()).toHaveLength(1);
  });

  it("1,000 alerts with long errors: every item of the digest stays small (one page per message), each task named once", async () => {
    const clock = virtualClock();
    slack = await startFakeSlack({ perSecond: 1, now: () => clock.now() });
    const store = new InMemoryDocumentStore();
    const queue = recordingQueue();
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store, queue, now: () => clock.now() });
    const long = "x".repeat(5_000);
    for (let i = 0; i < 1_000; i++) await channel.send(taskAlert(`task-${i}`, new Date("2026-01-01T00:00:00Z"), new Failed("boom", { result: new Error(long) })));
    // Redelivered alerts, in the open page or the one before it, are not recorded again (older ones
    // never reach the channel again: the handler's claim on the transition stops them).
    for (const i of [900, 949, 950, 999]) await channel.send(taskAlert(`task-${i}`, new Date("2026-01-01T00:00:00Z"), new Failed("boom", { result: new Error(long) })));
    const largest = Math.max(...[...store.documents.values()].map((d) => Buffer.byteLength(d.json)));
    expect(largest).toBeLessThan(30 * 1024);
    const group = parseFlushRecord(queue.sent[0]!.body)!.group;
    for (let r = await channel.flush(group); r.deferSeconds !== undefined; r = await channel.flush(group)) await clock.sleep(r.deferSeconds * 1000);
    const accepted = slack.accepted();
    const messages = accepted.map((m) => JSON.stringify(m));
    // Pages are cut by text (each line carries a 300-character error), so every message stays within Slack's block text limit.
    for (const m of accepted) expect(blockText(m)).toBeLessThanOrEqual(12_000);
    expect(messages.length).toBeGreaterThan(20);
    for (let i = 0; i < 1_000; i++) expect(messages.filter((m) => m.includes(`*task-${i}*`)), `task-${i}`).toHaveLength(1);
    const first = accepted[0].attachments[0].blocks.filter((b: any) => b.type === "section").map((b: any) => b.text.text).join("\n").split("\n").length;
    expect(messages[0]).toContain(`and ${1_000 - first} more task alerts in the next message`);
  });

  it("alerts recorded while flushes run (interleaved at every await) are each sent once, none stranded", async () => {
    const clock = virtualClock();
    slack = await startFakeSlack({ perSecond: 1, now: () => clock.now() });
    const queue = recordingQueue();
    const store = new InMemoryDocumentStore();
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store, queue, now: () => clock.now(), pageSize: 7 });
    const tasks = Array.from({ length: 120 }, (_, i) => `t${i}`);
    const group = EXECUTION;
    // Every flush record is processed as SQS would: again after each deferral, until done.
    const runFlush = async () => {
      for (let r = await channel.flush(group); r.deferSeconds !== undefined; r = await channel.flush(group)) await clock.sleep(r.deferSeconds * 1000);
    };
    const sends = tasks.map((t, i) => new Promise<void>((resolve) => setImmediate(resolve)).then(() => channel.send(taskAlert(t, new Date(Date.parse("2026-01-01T00:00:00Z") + i)))));
    const flushes = [runFlush(), runFlush(), (async () => { await Promise.all(sends.slice(0, 60)); await runFlush(); })()];
    await Promise.all([...sends, ...flushes]);
    // Whatever the scheduled flush records still ask for (the queue delivers each).
    for (let i = 0; i < queue.sent.length; i++) await runFlush();
    const messages = slack.accepted().map((m) => JSON.stringify(m));
    for (const t of tasks) expect(messages.filter((m) => m.includes(`*${t}*`)), t).toHaveLength(1);
    const [head] = [...store.documents.entries()].filter(([k]) => !k.includes("|p") && k.startsWith("digest"));
    const final = JSON.parse(head![1].json);
    expect(final).toMatchObject({ pendingLines: 0, sentLines: 120 });
    // Closed: no lease held, no flush armed.
    expect(final.lease).toBeUndefined();
    expect(final.armedUntil).toBeUndefined();
  });

  it("a task error that quotes the webhook URL reaches Slack redacted; mrkdwn in task text is escaped", async () => {
    const { channel, slack, group } = await setup();
    await channel.send(taskAlert("<!channel> load & go", new Date(), new Failed("x", { result: new Error(`POST ${slack.url} failed`) })));
    await channel.flush(group());
    const body = slack.requests[0]!.body;
    expect(body).not.toContain(slack.token);
    expect(body).toContain("[redacted]");
    expect(body).toContain("&lt;!channel&gt; load &amp; go");
    expect(body).not.toContain("<!channel>");
  });

  it("never starts a request the invocation may not live to finish", async () => {
    const { channel, slack, group } = await setup();
    await channel.send(taskAlert("load", new Date()));
    expect(await channel.flush(group(), { remainingMs: () => 5_000 })).toEqual({ requests: 0, deferSeconds: 1 });
    expect(slack.requests).toHaveLength(0);
    expect(await channel.flush(group(), { remainingMs: () => 50_000 })).toEqual({ requests: 1 });
  });

  it("a digest post that got no answer counts as sent: flushing again posts nothing, and the handler is told why", async () => {
    const { channel, slack, group } = await setup();
    await channel.send(taskAlert("load", new Date()));
    slack.replies.push({ status: 200, reset: true });
    const first = await channel.flush(group());
    expect(first.ambiguous).toEqual([expect.stringContaining("may or may not have received the alert digest")]);
    expect(await channel.flush(group())).toEqual({ requests: 0 });
    expect(slack.requests).toHaveLength(1);
  });

  it("a redirect is never followed: the flush fails and nothing reaches the redirect's target", async () => {
    const { channel, slack, group } = await setup();
    await channel.send(taskAlert("load", new Date()));
    slack.replies.push({ status: 307, headers: { location: "https://evil.example/collect" } });
    await expect(channel.flush(group())).rejects.toThrow(/redirect \(HTTP 307\), which flowhooks never follows/);
    expect(slack.requests).toHaveLength(1);
  });
});

/** A store whose writes throw once `dead` is set (the container died): what was written before stays. */
function dyingStore(inner = new InMemoryDocumentStore()) {
  const state = { dead: false, writes: 0, dieAfterWrite: Number.POSITIVE_INFINITY };
  const write = async <T>(op: () => Promise<T>): Promise<T> => {
    if (state.dead) throw new Error("container is dead");
    const out = await op();
    if (++state.writes >= state.dieAfterWrite) state.dead = true;
    return out;
  };
  const store: DocumentStore = {
    get: (key) => (state.dead ? Promise.reject(new Error("container is dead")) : inner.get(key)),
    put: (key, value, version) => write(() => inner.put(key, value, version)),
    transact: (writes) => write(() => inner.transact(writes)),
  };
  return { store, inner, state };
}

/** Runs every flush record the queue holds (and those they schedule) until none is left, as SQS would. */
async function drainQueue(channel: DigestChannel, queue: ReturnType<typeof recordingQueue>, clock: ReturnType<typeof virtualClock>) {
  for (let i = 0; i < queue.sent.length; i++) {
    const group = parseFlushRecord(queue.sent[i]!.body)!.group;
    for (let r = await channel.flush(group); r.deferSeconds !== undefined; r = await channel.flush(group)) await clock.sleep(r.deferSeconds * 1000 + 1);
  }
}

function webhookLines(slack: FakeSlack): string[] {
  return slack.accepted().flatMap((m) => JSON.stringify(m).match(/• \*[^*]+\* [A-Za-z]+/g) ?? []);
}

describe("the digest protocol after a crash or a failed call (issue 21)", () => {
  it("a container that dies as the flush record is sent strands nothing: the redelivered alert arms a flush and the line reaches Slack once (item 1)", async () => {
    const clock = virtualClock();
    slack = await startFakeSlack({ now: () => clock.now() });
    const queue = recordingQueue();
    const { store, state } = dyingStore();
    const sendOnce = { failed: false };
    const dyingQueue = {
      ...queue,
      async send(body: string, delaySeconds: number) {
        if (!sendOnce.failed) {
          sendOnce.failed = true;
          // The container dies during SendMessage: nothing more of it is written.
          state.dead = true;
          throw new Error("container died during SendMessage");
        }
        await queue.send(body, delaySeconds);
      },
    };
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store, queue: dyingQueue, now: () => clock.now() });
    await expect(channel.send(taskAlert("load", new Date("2026-01-01T00:00:00Z")))).rejects.toThrow();
    // SQS delivers the record again to a fresh container; then a second task alert of the execution.
    state.dead = false;
    await channel.send(taskAlert("load", new Date("2026-01-01T00:00:00Z")));
    await channel.send(taskAlert("clean", new Date("2026-01-01T00:00:01Z")));
    await drainQueue(channel, queue, clock);
    expect(webhookLines(slack).sort()).toEqual(["• *clean* Failed", "• *load* Failed"]);
  });

  it("a crash after any write while recording an alert leaves counts that match the lines sent (item 15)", async () => {
    for (let crashAfter = 1; crashAfter <= 3; crashAfter++) {
      const clock = virtualClock();
      const fake = await startFakeSlack({ now: () => clock.now() });
      try {
        const queue = recordingQueue();
        const { store, state } = dyingStore();
        const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: fake.url }), store, queue, now: () => clock.now() });
        for (const task of ["a", "b"]) await channel.send(taskAlert(task, new Date("2026-01-01T00:00:00Z")));
        state.dieAfterWrite = state.writes + crashAfter;
        await channel.send(taskAlert("c", new Date("2026-01-01T00:00:00Z"))).catch(() => undefined);
        state.dead = false;
        state.dieAfterWrite = Number.POSITIVE_INFINITY;
        await channel.send(taskAlert("c", new Date("2026-01-01T00:00:00Z")));
        await channel.send(flowAlert(new Date("2026-01-01T00:01:00Z")));
        await drainQueue(channel, queue, clock);
        const ending = fake.accepted().map((m) => JSON.stringify(m)).find((m) => m.includes("Flow orders failed"));
        expect(webhookLines(fake), `crash after write ${crashAfter}`).toHaveLength(3);
        expect(ending, `crash after write ${crashAfter}`).toContain("3 failed (named above)");
      } finally {
        await fake.close();
      }
    }
  });

  it("a failed SendMessage, then the same transition recovered from the history (another old state and time), is one line (item 5)", async () => {
    const clock = virtualClock();
    slack = await startFakeSlack({ now: () => clock.now() });
    const queue = recordingQueue();
    let failNext = true;
    const flaky = {
      ...queue,
      async send(body: string, delaySeconds: number) {
        if (failNext) {
          failNext = false;
          throw new Error("SendMessage: ServiceUnavailable");
        }
        await queue.send(body, delaySeconds);
      },
    };
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: new InMemoryDocumentStore(), queue: flaky, now: () => clock.now() });
    const retrying = new Retrying("retrying", { startTime: new Date("2026-01-01T00:00:30Z"), runCount: 1, result: new Error("timeout") });
    const transitionId = "task:load|alert:Retrying|1|entered=2026-01-01T00:00:00.000Z";
    const live: Alert = { ...taskAlert("load", new Date("2026-01-01T00:00:20Z"), retrying), oldState: new Failed("x"), transitionId };
    await expect(channel.send(live)).rejects.toThrow(/SendMessage/);
    const recovered: Alert = { ...taskAlert("load", new Date("2026-01-01T00:00:21Z"), retrying), oldState: new Running(), observedAfterTheFact: true, transitionId };
    await channel.send(recovered);
    await drainQueue(channel, queue, clock);
    expect(webhookLines(slack)).toEqual(["• *load* Retrying"]);
  });

  it("each ending reaches the webhook once: a redriven run's, and a TIMED_OUT after the flow's FAILED report (item 2)", async () => {
    const clock = virtualClock();
    slack = await startFakeSlack({ now: () => clock.now() });
    const queue = recordingQueue();
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: new InMemoryDocumentStore(), queue, now: () => clock.now() });
    const ending = (state: Failed | TimedOut, at: string, transitionId: string): Alert => ({ ...flowAlert(new Date(at)), newState: state, transitionId });
    await channel.send(ending(new Failed("Some reference tasks failed."), "2026-01-01T00:01:00Z", "flow|final|-|0"));
    await channel.send(ending(new TimedOut("Execution timed out."), "2026-01-01T00:01:05Z", "flow|final:stopped|-|0"));
    // Its duplicate (another source of the same ending) adds nothing.
    await channel.send(ending(new TimedOut("Execution timed out."), "2026-01-01T00:01:05Z", "flow|final:stopped|-|0"));
    await drainQueue(channel, queue, clock);
    await channel.send(ending(new Failed("Some reference tasks failed."), "2026-01-01T01:00:00Z", "flow|final|-|1"));
    await drainQueue(channel, queue, clock);
    expect(slack.accepted().map((m) => m.blocks[0].text.text)).toEqual(["Flow orders failed", "Flow orders timed out", "Flow orders failed"]);
  });

  it("a flush that outlived its lease (a slow call) does not post: the flush that took the digest over posted it, once (item 8)", async () => {
    const clock = virtualClock();
    slack = await startFakeSlack({ now: () => clock.now() });
    const queue = recordingQueue();
    const inner = new InMemoryDocumentStore();
    let gate: Promise<void> | undefined;
    let open: () => void = () => {};
    let stalled: () => void = () => {};
    const stalledAt = new Promise<void>((resolve) => (stalled = resolve));
    const store: DocumentStore = {
      async get(key) {
        // The first flush stalls on its rate-limit read, past its lease.
        if (key.startsWith("rate|") && !gate) {
          gate = new Promise<void>((resolve) => (open = resolve));
          stalled();
          await gate;
        }
        return inner.get(key);
      },
      put: (key, value, version) => inner.put(key, value, version),
      transact: (writes) => inner.transact(writes),
    };
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url, limit: { perSecond: 100, burst: 100 } }), store, queue, now: () => clock.now() });
    await channel.send(taskAlert("load", clock.now()));
    const first = channel.flush(EXECUTION);
    await stalledAt;
    await clock.sleep(60_000);
    expect(await channel.flush(EXECUTION)).toMatchObject({ requests: 1 });
    await clock.sleep(1_000);
    open();
    await first;
    expect(webhookLines(slack)).toEqual(["• *load* Failed"]);
  });
});
