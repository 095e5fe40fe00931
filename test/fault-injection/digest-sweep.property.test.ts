/**
 * The reconciler's digest sweep (`rearm`) racing live flushes: fast-check's scheduler interleaves
 * every store call and Slack answer of a redriven flush, of one or more sweeps and of the flushes those sweeps arm,
 * against the real digest code and a Slack webhook stand-in on 127.0.0.1. Whatever the order, each
 * line and the ending reach Slack exactly once.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Failed, Retrying, Running } from "../../lib/core/states";
import { InMemoryDocumentStore, type DocumentStore, type DocumentWrite } from "../../lib/aws/documents";
import type { Alert } from "../../lib/notify/alert";
import { ARM_GRACE_MS, digestChannel, parseFlushRecord } from "../../lib/notify/digest";
import { slackDigestTarget } from "../../lib/notify/slack-digest";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { recordingQueue } from "../lambdas/handler/harness";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:run-1";
const T0 = Date.parse("2026-01-01T10:00:00Z");

let slack: FakeSlack;
let now = T0;
beforeAll(async () => {
  slack = await startFakeSlack({ now: () => new Date(now) });
});
afterAll(async () => {
  await slack.close();
});

function taskAlert(task: string, retrying: boolean): Alert {
  const state = retrying ? new Retrying(`${task} retries`, { startTime: new Date(T0 + 60_000) }) : new Failed(`${task} broke`, { result: new Error(`${task}: refused`) });
  return { kind: "task", flow: "orders", task, oldState: new Running(), newState: state, executionId: EXECUTION, attempt: 1, maxAttempts: 2, at: new Date(T0) };
}

function flowAlert(): Alert {
  return { kind: "flow", flow: "orders", oldState: new Running(), newState: new Failed("Some reference tasks failed."), executionId: EXECUTION, at: new Date(T0 + 1_000), startedAt: new Date(T0 - 60_000) };
}

/** The in-memory store with every call released by fast-check's scheduler, so concurrent callers interleave at each one. */
function scheduledStore(inner: DocumentStore, s: fc.Scheduler): DocumentStore {
  return {
    get: (key) => s.schedule(Promise.resolve(), `get ${key}`).then(() => inner.get(key)),
    put: (key, value, version) => s.schedule(Promise.resolve(), `put ${key}`).then(() => inner.put(key, value, version)),
    transact: (writes: readonly DocumentWrite[]) => s.schedule(Promise.resolve(), "transact").then(() => inner.transact(writes)),
  };
}

/** Task names in the posted messages, each as often as a line shows it. */
function postedLines(messages: any[]): string[] {
  return messages.flatMap((m) => [...JSON.stringify(m).matchAll(/\*(task-\d+)\*/g)].map((x) => x[1]!));
}

describe("the reconciler's digest sweep racing a live flush", () => {
  it("never posts a line or an ending twice, and loses none, in any interleaving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (s, lineCount, sweeps, redriven) => {
        slack.requests.length = 0;
        now = T0;
        const inner = new InMemoryDocumentStore();
        const queue = recordingQueue();
        const settled = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: inner, queue, windowSeconds: 0, now: () => new Date(now) });
        for (let i = 0; i < lineCount; i++) await settled.send(taskAlert(`task-${i}`, i % 2 === 1));
        await settled.send(flowAlert());
        // The flush records were dead-lettered: their arm has run out, nothing is coming.
        now += 3_600_000 + ARM_GRACE_MS;
        // Slack's answers are released by the scheduler too, so a sweep's write can land while a post is on its way.
        const fetch: typeof globalThis.fetch = (url, init) => s.schedule(globalThis.fetch(url, init), "Slack answers");
        const raced = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url, fetch }), store: scheduledStore(inner, s), queue, windowSeconds: 0, now: () => new Date(now) });
        const armedBefore = queue.sent.length;
        const redrive = redriven ? raced.flush(EXECUTION) : Promise.resolve(undefined);
        const swept = Array.from({ length: sweeps }, () => raced.rearm!(EXECUTION));
        const [first] = await s.waitFor(Promise.all([redrive, ...swept]));
        // Every flush record still on the queue (the redriven one if it deferred, those the sweeps
        // armed) runs, racing the others, until none defers (SQS makes a deferred record visible again).
        let records = queue.sent.slice(armedBefore).map((r) => parseFlushRecord(r.body)!.group);
        if (first?.deferSeconds !== undefined) records.push(EXECUTION);
        for (let round = 0; records.length > 0 && round < 20; round++) {
          const results = await s.waitFor(Promise.all(records.map((group) => raced.flush(group))));
          const deferred = results.filter((r) => r.deferSeconds !== undefined);
          now += Math.max(1_000, ...deferred.map((r) => r.deferSeconds! * 1000));
          records = deferred.map(() => EXECUTION);
        }
        // Anything still waiting would be swept again; the sweep must find nothing.
        now += 3_600_000;
        expect(await settled.rearm!(EXECUTION)).toBe(false);
        const accepted = slack.accepted();
        expect(postedLines(accepted).sort()).toEqual(Array.from({ length: lineCount }, (_, i) => `task-${i}`).sort());
        expect(accepted.filter((m) => m.blocks[0].text.text === "Flow orders failed")).toHaveLength(1);
        if (!redriven) expect(queue.sent.length - armedBefore).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 100 },
    );
  });
});
