/**
 * Fault injection, property-based (fast-check): whatever the order, duplication, loss and
 * concurrency of events, wherever a container dies after a claim, however often a channel fails,
 * and with either claim store, every alert that should go out goes out, and none goes out twice
 * per (execution, object, transition, destination). Runs are bounded so the suite stays fast.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { alertId, CHANNELS, cleanupSim, simulate, type Delivery, type ExecutionSpec, type Scenario } from "./sim";

afterEach(() => cleanupSim());

const execution: fc.Arbitrary<ExecutionSpec> = fc
  .record({
    ending: fc.constantFrom("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"),
    report: fc.option(fc.constantFrom("SUCCEEDED", "FAILED"), { nil: undefined }),
    retries: fc.integer({ min: 0, max: 2 }),
  })
  // The final report, when sent, says how the flow ended; only a run Step Functions stopped afterwards differs.
  .map((e) => (e.ending === "SUCCEEDED" || e.ending === "FAILED" ? { ...e, report: e.report && e.ending } : e) as ExecutionSpec);

/** Every event of the executions, each with 0 (dropped) to 3 copies, in a random order. */
function deliveries(executions: ExecutionSpec[], mustArrive: boolean): fc.Arbitrary<Delivery[]> {
  const events: Omit<Delivery, "copies" | "order">[] = executions.flatMap((e, i) => [
    { execution: i, kind: "running" as const },
    { execution: i, kind: "report" as const },
    { execution: i, kind: "ending" as const },
    ...Array.from({ length: e.retries }, (_, a) => ({ execution: i, kind: "retrying" as const, attempt: a + 1 })),
  ]);
  return fc.tuple(...events.map(() => fc.record({ copies: fc.integer({ min: mustArrive ? 1 : 0, max: 3 }), order: fc.integer({ min: 0, max: 1000 }) }))).map((picks) =>
    events.map((e, k) => ({ ...e, ...picks[k]! })),
  );
}

const scenario = (options: { store?: "memory" | "dynamodb"; crashes?: boolean; drops?: boolean; ambiguous?: boolean } = {}): fc.Arbitrary<Scenario> =>
  fc.array(execution, { minLength: 1, maxLength: 3 }).chain((executions) =>
    fc.record({
      store: options.store ? fc.constant(options.store) : fc.constantFrom("memory" as const, "dynamodb" as const),
      executions: fc.constant(executions),
      deliveries: deliveries(executions, !options.drops),
      faults: fc.record({
        crashAfterOps: options.crashes === false ? fc.constant([]) : fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 3 }),
        channelFailures: fc.integer({ min: 0, max: 3 }),
        concurrent: fc.boolean(),
        listLag: fc.boolean(),
        updateFailures: fc.integer({ min: 0, max: 3 }),
        ambiguousSends: options.ambiguous ? fc.integer({ min: 1, max: 3 }) : fc.constant(0),
      }),
    }),
  );

/**
 * The property: must-alerts exactly once per channel, anything else at most once and only if
 * allowed; an alert whose send got no answer (the documented ambiguous case) at most once.
 */
async function holds(s: Scenario): Promise<void> {
  const result = await simulate(s);
  cleanupSim();
  expect(result.deadLetters).toBe(0);
  const counts = new Map<string, number>();
  for (const a of result.sent) counts.set(`${a.channel}#${alertId(a)}`, (counts.get(`${a.channel}#${alertId(a)}`) ?? 0) + 1);
  for (const [key, count] of counts) {
    expect(count, `alerted ${count} times: ${key}`).toBe(1);
    expect(result.may.has(key.split("#")[1]!), `unexpected alert ${key}`).toBe(true);
  }
  for (const id of result.must) {
    for (const channel of CHANNELS) {
      if (result.unanswered.has(`${channel}#${id}`)) continue;
      expect(counts.get(`${channel}#${id}`) ?? 0, `never alerted: ${channel}#${id}`).toBe(1);
    }
  }
}

// Bounded so the suite stays a few seconds; a failure prints its seed and shrunk counterexample.
const RUNS = { numRuns: 20 };

describe("fault injection: exactly-once alerts under at-least-once delivery", () => {
  it("duplicated, reordered and concurrent events; crashes after a claim; failing channels (in-memory store)", async () => {
    await fc.assert(fc.asyncProperty(scenario({ store: "memory" }), holds), { numRuns: RUNS.numRuns });
  });

  it("the same faults with the DynamoDB store (conditional writes enforced by the fake table)", async () => {
    await fc.assert(fc.asyncProperty(scenario({ store: "dynamodb" }), holds), { numRuns: RUNS.numRuns });
  });

  it("dropped events: every ending is still alerted once (the reconciler recovers it), a lost Retrying event is recovered from the history at a failed ending", async () => {
    await fc.assert(fc.asyncProperty(scenario({ drops: true }), holds), { numRuns: RUNS.numRuns });
  });

  it("sends that get no answer: never repeated, so at most once; every other alert still exactly once", async () => {
    await fc.assert(fc.asyncProperty(scenario({ ambiguous: true }), holds), { numRuns: RUNS.numRuns });
  });
});

describe("fault injection: SQS SendMessage failures with DynamoDB throttling and crashes (issue 21)", () => {
  const combined = (store: "memory" | "dynamodb") =>
    scenario({ store }).chain((s) =>
      fc
        .record({
          throttleOps: fc.uniqueArray(fc.integer({ min: 1, max: 80 }), { maxLength: 4 }),
          sendMessageFailures: fc.integer({ min: 1, max: 4 }),
        })
        .map((extra) => ({ ...s, faults: { ...s.faults, ...extra } })),
    );

  it("in-memory store: every alert once per channel, none dead-lettered", async () => {
    await fc.assert(fc.asyncProperty(combined("memory"), holds), { numRuns: RUNS.numRuns });
  });

  it("DynamoDB store (conditional writes enforced by the fake table): every alert once per channel, none dead-lettered", async () => {
    await fc.assert(fc.asyncProperty(combined("dynamodb"), holds), { numRuns: RUNS.numRuns });
  });
});

/**
 * The claims protocol's crash points, one by one: a FAILED run whose task retried twice (its final
 * report and Step Functions' ending both arrive), with the container dying right after each store
 * operation in turn, and separately each store operation throttled once; on both stores.
 */
describe("crash-point sweep of the claims protocol (CONVENTIONS.md 18)", () => {
  const base = (store: "memory" | "dynamodb"): Scenario => ({
    store,
    executions: [{ ending: "FAILED", report: "FAILED", retries: 2 }],
    deliveries: [
      { execution: 0, kind: "running", copies: 1, order: 0 },
      { execution: 0, kind: "retrying", attempt: 1, copies: 1, order: 1 },
      { execution: 0, kind: "retrying", attempt: 2, copies: 1, order: 2 },
      { execution: 0, kind: "report", copies: 1, order: 3 },
      { execution: 0, kind: "ending", copies: 1, order: 4 },
    ],
    faults: { crashAfterOps: [], channelFailures: 0, concurrent: false, listLag: false },
  });

  for (const store of ["memory", "dynamodb"] as const) {
    it(`${store} store: a crash after any store operation, or any one throttled, loses and doubles nothing`, async () => {
      const clean = await simulate(base(store));
      cleanupSim();
      let runs = 0;
      for (let op = 1; op <= clean.storeOps; op++) {
        await holds({ ...base(store), faults: { ...base(store).faults, crashAfterOps: [op] } });
        await holds({ ...base(store), faults: { ...base(store).faults, throttleOps: [op] } });
        runs += 2;
      }
      console.log(`claims crash-point sweep (${store}): ${clean.storeOps} store operations, ${runs} runs, 0 lost, 0 doubled`);
      expect(clean.storeOps).toBeGreaterThan(10);
    });
  }
});
