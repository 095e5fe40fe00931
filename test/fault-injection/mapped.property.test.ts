/**
 * Fault injection, property-based (fast-check), for a mapped task's children: whatever the
 * duplication, order, batching and concurrency of child task events, and however often the channel
 * fails (SQS then delivers the record again), each failed child's Failed and each Retrying is
 * alerted exactly once, named `download[i]`, and nothing else is alerted. And with the execution's
 * ending (read from an inline Map's history) arriving anywhere among them and some Retrying events
 * lost: each crashed child and each retry is alerted exactly once, from its event or the history.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mockClient } from "aws-sdk-client-mock";
import { GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { childEnteredAt, mapHistory, retryingCause, MAP_STARTED, type ChildAttempt } from "../fixtures/map-history";
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

function mappedFlow(maxRetries = MAX_RETRIES): Flow {
  const files = task({ name: "files" }, () => [] as string[]);
  const download = task({ name: "download", maxRetries }, (file: string) => file.length);
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
          // A lease longer than any send here: a concurrent copy finds the claim in progress and is delivered again (a 1 ms
          // lease let it take over a claim whose send was still running on a loaded machine, and both sent).
          store: new InMemoryTransitionStore({ leaseSeconds: 60 }),
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

/** How one child ran, as the inline Map's history shows it and its task events report it. */
type Outcome = "ok" | "retried" | "failed" | "crashed" | "throttled-then-timed-out";

const THROTTLED = { error: "Lambda.TooManyRequestsException", cause: "Rate Exceeded." };
const LAMBDA_TIMEOUT = { error: "Sandbox.Timedout", cause: "Task timed out after 3.00 seconds" };
const OUT_OF_MEMORY = { error: "Lambda.Unknown", cause: "Runtime exited with error: signal: killed" };
const OWN_RETRY: ChildAttempt = { error: "flowhooks.Retrying", cause: retryingCause(new Date(MAP_STARTED.getTime() + 11_000)) };

function attemptsOf(outcome: Outcome): ChildAttempt[] {
  switch (outcome) {
    case "ok":
      return [{ ok: true }];
    case "retried":
    case "failed": // the task Lambda returns the final Failed: Step Functions records a success
      return [OWN_RETRY, { ok: true }];
    case "crashed":
      return [OUT_OF_MEMORY];
    case "throttled-then-timed-out":
      return [THROTTLED, LAMBDA_TIMEOUT];
  }
}

/** What must be alerted per child, once each. */
function expectedAlerts(index: number, outcome: Outcome): string[] {
  const name = `download[${index}]`;
  switch (outcome) {
    case "ok":
      return [];
    case "retried":
      return [`${name} Retrying #1`];
    case "failed":
      return [`${name} Retrying #1`, `${name} Failed #2`];
    case "crashed":
      return [`${name} Failed #1`];
    case "throttled-then-timed-out":
      return [`${name} Retrying #1`, `${name} TimedOut #2`];
  }
}

/** The task events a child's own code sent (with the state's entered time, as the compiled context should carry it); `lost` ones never arrive. */
function reportedEvents(index: number, outcome: Outcome): { event: Record<string, any>; mayBeLost: boolean }[] {
  if (outcome !== "retried" && outcome !== "failed") return [];
  const entered = childEnteredAt(index).toISOString();
  const base = { task: "download", mapIndex: index, stateEnteredTime: entered };
  const failed = { type: "Failed", message: `Error during execution of task: Error: item ${index} broke` };
  const retrying = { type: "Retrying", message: "Retrying Task (after attempt 1 of 2)", startTime: new Date(MAP_STARTED.getTime() + 11_000).toISOString(), runCount: 1 };
  const events = [{ event: eventBridgeEvent("task-retrying", { ...base, attempt: 1, oldState: failed, newState: retrying, at: iso(index) }), mayBeLost: true }];
  if (outcome === "failed") {
    // A Failed its code returned is in the task's output only, which the handler does not read: its event must arrive.
    events.push({ event: eventBridgeEvent("task-retrying", { ...base, attempt: 2, oldState: { type: "Running" }, newState: failed, at: iso(20_000 + index) }), mayBeLost: false });
  }
  return events;
}

const endingScenario = fc.array(fc.constantFrom<Outcome>("ok", "retried", "failed", "crashed", "throttled-then-timed-out"), { minLength: 1, maxLength: 6 }).chain((outcomes) => {
  const reported = outcomes.flatMap((o, i) => reportedEvents(i, o));
  return fc.record({
    outcomes: fc.constant(outcomes),
    // A lost event has 0 copies; the ending (Step Functions' FAILED) comes 1 or 2 times, anywhere.
    copies: fc.tuple(...reported.map((r) => fc.integer({ min: r.mayBeLost ? 0 : 1, max: 2 }))),
    endingCopies: fc.integer({ min: 1, max: 2 }),
    order: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: reported.length * 2 + 2, maxLength: reported.length * 2 + 2 }),
  });
});

describe("fault injection: crashed children and lost child events, with the execution's ending anywhere", () => {
  const sfnMock = mockClient(SFNClient);
  afterEach(() => sfnMock.reset());

  it("each crashed child and each child's retry is alerted exactly once, from its event or from the inline Map's history", async () => {
    await fc.assert(
      fc.asyncProperty(endingScenario, async (s) => {
        sfnMock.reset();
        sfnMock.on(GetExecutionHistoryCommand).resolves({ events: mapHistory({ children: s.outcomes.map(attemptsOf) }) });
        const channel = fakeChannel();
        // One retry: a child's own code fails attempt 1 (Retrying), then ends on attempt 2.
        const handler = createEventsHandler(mappedFlow(1), {
          env: { FLOWHOOKS_DEDUPE_TABLE: "orders-transitions" },
          store: new InMemoryTransitionStore(),
          channels: [channel],
          sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
          logger: createLogger({ writer: () => {} }),
        });
        const reported = s.outcomes.flatMap((o, i) => reportedEvents(i, o));
        const records = [
          ...reported.flatMap((r, k) => Array.from({ length: s.copies[k]! }, () => sqsRecord(r.event))),
          ...Array.from({ length: s.endingCopies }, () => sqsRecord(eventBridgeEvent("sfn-failed"))),
        ];
        const ordered = records.map((r, k) => ({ r, key: s.order[k] ?? k })).sort((a, b) => a.key - b.key).map(({ r }) => r);
        for (const record of ordered) expect((await handler(sqsEvent(record))).batchItemFailures).toEqual([]);
        const sent = channel.sent.filter((a) => a.kind === "task").map((a) => `${a.task} ${a.newState.name} #${a.attempt}`);
        expect(sent.sort()).toEqual(s.outcomes.flatMap((o, i) => expectedAlerts(i, o)).sort());
      }),
      { numRuns: 40 },
    );
  });
});
