import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { flowEndingKey, flowFinalKey, flowStoppedKey, InMemoryTransitionStore } from "../../lib/aws/dedupe";
import type { ExecutionStatusEvent } from "../../lib/aws/events";
import { createLogger } from "../../lib/aws/logger";
import { reconcile, reconcilerLeaseKey } from "../../lib/aws/reconcile";

const SM = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow";
const exec = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:orders-flow:${name}`;
const sfnMock = mockClient(SFNClient);
afterEach(() => sfnMock.reset());

function run(store: InMemoryTransitionStore, now: Date, processed: ExecutionStatusEvent[], process?: (e: ExecutionStatusEvent) => Promise<void>) {
  return reconcile({
    sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }),
    stateMachineArn: SM,
    store,
    process:
      process ??
      (async (e) => {
        processed.push(e);
        await store.claim(flowEndingKey(e.executionArn, e.redriveCount ?? 0, e.status));
        await store.complete(flowEndingKey(e.executionArn, e.redriveCount ?? 0, e.status));
      }),
    logger: createLogger({ writer: () => {} }),
    lookbackSeconds: 3600,
    now: () => now,
  });
}

describe("reconcile", () => {
  it("pages newest-first until executions started before the look-back window, then advances the watermark", async () => {
    const store = new InMemoryTransitionStore();
    await store.setWatermark(`reconcile|${SM}`, new Date("2026-01-01T10:00:00Z"));
    const pages: Record<string, any> = {
      first: { executions: [{ executionArn: exec("a"), status: "TIMED_OUT", startDate: new Date("2026-01-01T09:30:00Z"), stopDate: new Date("2026-01-01T10:02:00Z") }], nextToken: "second" },
      second: { executions: [{ executionArn: exec("b"), status: "ABORTED", startDate: new Date("2026-01-01T09:10:00Z"), stopDate: new Date("2026-01-01T09:40:00Z") }], nextToken: "third" },
      third: { executions: [{ executionArn: exec("old"), status: "FAILED", startDate: new Date("2026-01-01T08:00:00Z"), stopDate: new Date("2026-01-01T10:01:00Z") }], nextToken: "fourth" },
    };
    sfnMock.on(ListExecutionsCommand).callsFake((input) => pages[input.nextToken ?? "first"]);
    sfnMock.on(DescribeExecutionCommand).callsFake((input) => ({ executionArn: input.executionArn, status: "TIMED_OUT", startDate: new Date("2026-01-01T09:30:00Z"), redriveCount: 0 }));
    const processed: ExecutionStatusEvent[] = [];
    const summary = await run(store, new Date("2026-01-01T10:05:00Z"), processed);

    // b stopped before the previous pass, by more than the listing's lag bound (already looked at); "old" started before the window, so paging stopped there.
    expect(processed.map((e) => [e.executionArn, e.status, e.origin])).toEqual([[exec("a"), "TIMED_OUT", "reconciler"]]);
    expect(summary).toEqual({ examined: 1, recovered: [exec("a")], failed: [] });
    expect(sfnMock.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, "second", "third"]);
    // One minute behind the pass: ListExecutions may list an ending late.
    expect(await store.getWatermark(`reconcile|${SM}`)).toEqual(new Date("2026-01-01T10:04:00Z"));

    const again: ExecutionStatusEvent[] = [];
    await store.setWatermark(`reconcile|${SM}`, new Date("2026-01-01T10:00:00Z"));
    await run(store, new Date("2026-01-01T10:06:00Z"), again);
    expect(again).toEqual([]);
  });

  it("a pass that dies right after claiming an ending does not lose it: later passes look again once the lease runs out", async () => {
    let clock = new Date("2026-01-01T10:00:00Z");
    const store = new InMemoryTransitionStore({ leaseSeconds: 300, now: () => clock });
    await store.setWatermark(`reconcile|${SM}`, new Date("2026-01-01T09:55:00Z"));
    const ended = { executionArn: exec("f"), status: "FAILED", startDate: new Date("2026-01-01T09:50:00Z"), stopDate: new Date("2026-01-01T09:58:00Z") };
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [ended] as any });
    sfnMock.on(DescribeExecutionCommand).resolves({ ...ended, redriveCount: 0 } as any);
    // Pass 1 claims `final`, then its Lambda is killed (1 s in): no complete, no release.
    const crashed = await run(store, clock, [], async (e) => {
      await store.claim(flowFinalKey(e.executionArn, 0));
      throw new Error("Lambda killed");
    });
    expect(crashed.failed).toEqual([exec("f")]);
    // Pass 2 (5 minutes later, lease still running) must defer it, not skip it for good.
    clock = new Date("2026-01-01T10:04:59Z");
    const processed: ExecutionStatusEvent[] = [];
    expect((await run(store, clock, processed)).deferred).toEqual([exec("f")]);
    // Pass 3, after the lease: recovered.
    clock = new Date("2026-01-01T10:10:00Z");
    await run(store, clock, processed);
    expect(processed.map((e) => e.executionArn)).toEqual([exec("f")]);
  });

  it("an execution still listed RUNNING (ListExecutions lags) that had ended before the next watermark is still examined", async () => {
    const store = new InMemoryTransitionStore();
    await store.setWatermark(`reconcile|${SM}`, new Date("2026-01-01T09:00:00Z"));
    const lagging = { executionArn: exec("lag"), startDate: new Date("2026-01-01T09:40:00Z") };
    sfnMock.on(ListExecutionsCommand).resolvesOnce({ executions: [{ ...lagging, status: "RUNNING" }] as any })
      .resolves({ executions: [{ ...lagging, status: "FAILED", stopDate: new Date("2026-01-01T09:59:00Z") }] as any });
    sfnMock.on(DescribeExecutionCommand).resolves({ ...lagging, status: "FAILED", stopDate: new Date("2026-01-01T09:59:00Z") } as any);
    const processed: ExecutionStatusEvent[] = [];
    await run(store, new Date("2026-01-01T10:05:00Z"), processed); // lists it RUNNING although it stopped at 09:59
    await run(store, new Date("2026-01-01T10:10:00Z"), processed);
    expect(processed.map((e) => e.executionArn)).toEqual([exec("lag")]);
  });

  it("a TIMED_OUT ending is looked up under its own key, so a SUCCEEDED final report does not hide it", async () => {
    const store = new InMemoryTransitionStore();
    await store.setWatermark(`reconcile|${SM}`, new Date("2026-01-01T09:00:00Z"));
    await store.claim(flowFinalKey(exec("t"), 0));
    await store.complete(flowFinalKey(exec("t"), 0)); // the flow's own SUCCEEDED report
    const item = { executionArn: exec("t"), status: "TIMED_OUT", startDate: new Date("2026-01-01T09:40:00Z"), stopDate: new Date("2026-01-01T09:59:00Z") };
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [item] as any });
    sfnMock.on(DescribeExecutionCommand).resolves(item as any);
    const processed: ExecutionStatusEvent[] = [];
    await run(store, new Date("2026-01-01T10:05:00Z"), processed, async (e) => {
      processed.push(e);
      await store.claim(flowStoppedKey(e.executionArn, 0));
      await store.complete(flowStoppedKey(e.executionArn, 0));
    });
    expect(processed.map((e) => e.status)).toEqual(["TIMED_OUT"]);
  });

  it("a pass with too little time left defers the remaining endings to the next pass, keeping the watermark before them", async () => {
    const store = new InMemoryTransitionStore();
    await store.setWatermark(`reconcile|${SM}`, new Date("2026-01-01T09:00:00Z"));
    const item = { executionArn: exec("late"), status: "FAILED", startDate: new Date("2026-01-01T09:40:00Z"), stopDate: new Date("2026-01-01T09:59:00Z") };
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [item] as any });
    sfnMock.on(DescribeExecutionCommand).resolves(item as any);
    const processed: ExecutionStatusEvent[] = [];
    const summary = await reconcile({
      sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }),
      stateMachineArn: SM,
      store,
      process: async (e) => void processed.push(e),
      logger: createLogger({ writer: () => {} }),
      now: () => new Date("2026-01-01T10:05:00Z"),
      timeLeft: () => 10_000,
    });
    expect(summary.deferred).toEqual([exec("late")]);
    expect(processed).toEqual([]);
    expect(await store.getWatermark(`reconcile|${SM}`)).toEqual(new Date("2026-01-01T09:59:00Z"));
  });

  it("runs one pass at a time through a lease in the claims table, and releases it when the pass ends", async () => {
    const store = new InMemoryTransitionStore();
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    await store.claim(reconcilerLeaseKey(SM));
    const skipped = await run(store, new Date("2026-01-01T10:05:00Z"), []);
    expect(skipped).toEqual({ examined: 0, recovered: [], failed: [], skipped: true });
    expect(sfnMock.commandCalls(ListExecutionsCommand)).toHaveLength(0);

    await store.release(reconcilerLeaseKey(SM));
    expect(await run(store, new Date("2026-01-01T10:10:00Z"), [])).toEqual({ examined: 0, recovered: [], failed: [] });
    expect(await store.lookup(reconcilerLeaseKey(SM))).toBe("none");
  });

  it("takes over the lease of a pass that crashed once the lease runs out", async () => {
    let now = new Date("2026-01-01T10:00:00Z");
    const store = new InMemoryTransitionStore({ leaseSeconds: 300, now: () => now });
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    await store.claim(reconcilerLeaseKey(SM)); // a pass that never released it
    now = new Date("2026-01-01T10:05:01Z");
    expect((await run(store, now, [])).skipped).toBeUndefined();
  });
});

