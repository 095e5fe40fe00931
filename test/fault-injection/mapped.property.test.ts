/**
 * Fault injection, property-based (fast-check), for a mapped task's children: whatever the
 * duplication, order, batching and concurrency of child task events, and however often the channel
 * fails (SQS then delivers the record again), each failed child's Failed and each Retrying is
 * alerted exactly once, named `download[i]`, and nothing else is alerted.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { SQSRecord } from "aws-lambda";
import { Flow, task } from "../../lib/index";
import { InMemoryTransitionStore } from "../../lib/aws/dedupe";
import { createLogger } from "../../lib/aws/logger";
import { createEventsHandler } from "../../lambdas/handler/index";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../fixtures/index";
import { fakeChannel } from "../lambdas/handler/harness";

/** How one child went: succeeded after `retries` Retrying attempts, or failed for good after them. */
interface ChildSpec {
  retries: number;
  failed: boolean;
}

const MAX_RETRIES = 2;

function mappedFlow(): Flow {
  const files = task({ name: "files" }, () => [] as string[]);
  const download = task({ name: "download", maxRetries: MAX_RETRIES }, (file: string) => file.length);
  return new Flow({ name: "orders" }, () => {
    download.map(files());
  });
}

const T0 = Date.parse("2019-02-26T19:42:30.000Z");
const iso = (ms: number) => new Date(T0 + ms).toISOString();

/** The task events one child's run emits, as the task Lambda sends them (every transition; the handler picks what alerts). */
function childEvents(index: number, spec: ChildSpec): Record<string, any>[] {
  const events: Record<string, any>[] = [];
  const event = (attempt: number, oldState: object, newState: object, ms: number) =>
    eventBridgeEvent("task-retrying", { task: "download", mapIndex: index, attempt, oldState, newState, at: iso(ms) });
  const failed = { type: "Failed", message: `Error during execution of task: Error: item ${index} broke` };
  const attempts = spec.retries + 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const base = attempt * 10_000 + index;
    events.push(event(attempt, attempt === 1 ? { type: "Pending" } : { type: "Retrying" }, { type: "Running", message: "Starting task run." }, base));
    if (attempt < attempts) {
      events.push(event(attempt, { type: "Running" }, failed, base + 1));
      const retrying = { type: "Retrying", message: `Retrying Task (after attempt ${attempt} of ${MAX_RETRIES + 1})`, startTime: iso(base + 5_000), runCount: attempt };
      events.push(event(attempt, failed, retrying, base + 2));
    } else if (spec.failed) {
      events.push(event(attempt, { type: "Running" }, failed, base + 1));
    } else {
      events.push(event(attempt, { type: "Running" }, { type: "Success", message: "Task run succeeded." }, base + 1));
    }
  }
  return events;
}

const child: fc.Arbitrary<ChildSpec> = fc.record({ retries: fc.integer({ min: 0, max: MAX_RETRIES }), failed: fc.boolean() }).map((c) => ({
  // A child that ends Failed used every attempt; a failure with retries left is retried, not final.
  retries: c.failed ? MAX_RETRIES : c.retries,
  failed: c.failed,
}));

const scenario = fc.array(child, { minLength: 1, maxLength: 8 }).chain((children) => {
  const events = children.flatMap((c, i) => childEvents(i, c));
  return fc.record({
    children: fc.constant(children),
    // Each event 1 to 3 times, in any order, in SQS batches of 1 to 10, batches handled one at a time or at once.
    copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: events.length, maxLength: events.length }),
    order: fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: events.length * 3, maxLength: events.length * 3 }),
    batchSize: fc.integer({ min: 1, max: 10 }),
    concurrent: fc.boolean(),
    channelFailures: fc.integer({ min: 0, max: 4 }),
  });
});

describe("fault injection: a mapped task's children", () => {
  it("duplicated, reordered, batched and concurrent child events, with a failing channel, alert each failed child and each retry exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const channel = fakeChannel();
        channel.failures = s.channelFailures;
        const handler = createEventsHandler(mappedFlow(), {
          env: { FLOWHOOKS_DEDUPE_TABLE: "orders-transitions" },
          store: new InMemoryTransitionStore({ leaseSeconds: 0.001 }),
          channels: [channel],
          logger: createLogger({ writer: () => {} }),
        });
        const events = s.children.flatMap((c, i) => childEvents(i, c));
        let pending: SQSRecord[] = events.flatMap((e, k) => Array.from({ length: s.copies[k]! }, () => sqsRecord(e)));
        pending = pending.map((r, k) => ({ r, key: s.order[k] ?? k })).sort((a, b) => a.key - b.key).map(({ r }) => r);
        // SQS delivers a failed record again until it is handled (bounded here: the dead-letter queue takes it after that).
        for (let round = 0; pending.length > 0 && round < 20; round++) {
          const batches: SQSRecord[][] = [];
          for (let i = 0; i < pending.length; i += s.batchSize) batches.push(pending.slice(i, i + s.batchSize));
          const run = async (batch: SQSRecord[]) => {
            const { batchItemFailures } = await handler(sqsEvent(...batch));
            return batch.filter((r) => batchItemFailures.some((f) => f.itemIdentifier === r.messageId));
          };
          const again = s.concurrent ? (await Promise.all(batches.map(run))).flat() : [];
          if (!s.concurrent) for (const batch of batches) again.push(...(await run(batch)));
          pending = again;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        expect(pending).toEqual([]);
        const expected = s.children.flatMap((c, i) => [
          ...Array.from({ length: c.retries }, (_, a) => `download[${i}] Retrying #${a + 1}`),
          ...(c.failed ? [`download[${i}] Failed #${c.retries + 1}`] : []),
        ]);
        const sent = channel.sent.map((a) => `${a.task} ${a.newState.name} #${a.attempt}`);
        expect(sent.sort()).toEqual(expected.sort());
        expect(channel.sent.every((a) => a.task === `download[${a.mapIndex}]`)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
