/** Smoke test of the bench sections at tiny sizes: they run and measure what they claim. No timing assertions. */
import { describe, expect, it } from "vitest";
import { simulateAlertStorm } from "../../bench/sections/alerts";
import { alertPathCost } from "../../bench/sections/alert-cost";
import { countTransitions } from "../../bench/sections/cost";
import { bareConcurrent, bareLoop, benchFlow, definitionCost, handLoop, handlerChainCost, isolatedRun, pGraphRun, runBench, runMemory, runnerOverhead, spread } from "../../bench/sections/runner";
import { shapedFlow } from "../../bench/shapes";
import { markdownTable, textTable } from "../../bench/table";

describe("bench sections", () => {
  it("the runner and both bare loops do the same work: same results, same handler calls", async () => {
    const bench = benchFlow("chain", 20);
    const final = await runBench(bench);
    const viaRunner = [...(final.result as Map<unknown, { result: unknown }>).values()].map((s) => s.result);
    const afterRunner = bench.counts.transitions;
    expect(await bareLoop(bench)).toEqual(viaRunner);
    expect(bench.counts.transitions - afterRunner).toBe(afterRunner);
    expect(await bareConcurrent(bench)).toEqual(viaRunner);
  });

  it("the hand-written loop and p-graph do the runner's work on both shapes: same results, same handler calls", async () => {
    for (const shape of ["chain", "fan-out"] as const) {
      const bench = benchFlow(shape, 25);
      const final = await runBench(bench, shape === "fan-out" ? 4 : undefined);
      const viaRunner = [...(final.result as Map<unknown, { result: unknown }>).values()].map((s) => s.result);
      const calls = bench.counts.transitions;
      expect(await handLoop(bench)).toEqual(viaRunner);
      expect(await pGraphRun(bench)).toEqual(viaRunner);
      expect(bench.counts.transitions).toBe(3 * calls);
    }
  });

  it("the map shape: the hand-written loop does the runner's work for a mapped task, same results and handler calls", async () => {
    const bench = benchFlow("map", 30);
    const final = await runBench(bench);
    const children = (final.result as Map<unknown, { result: unknown }>).get(bench.map!.inc)!.result as { result: number }[];
    const viaRunner = children.map((s) => s.result);
    expect(viaRunner).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const calls = bench.counts.transitions;
    // list: 2, children: 2 each, parent: 1 (Pending → Mapped), each through 1 counting handler.
    expect(calls).toBe(2 + 2 * 30 + 1);
    expect(await handLoop(bench)).toEqual(viaRunner);
    expect(bench.counts.transitions).toBe(2 * calls);
    const r = await isolatedRun("runner", "map", 40, { warmup: 1, rounds: 1, reps: 1 });
    expect(r.cpuMs).toHaveLength(1);
  });

  it("a subject measured in its own process reports CPU per run for each round and its peak RSS", async () => {
    const r = await isolatedRun("runner", "fan-out", 50, { warmup: 1, rounds: 2, reps: 2 });
    expect(r.cpuMs).toHaveLength(2);
    expect(r.maxRssMb).toBeGreaterThan(10);
    expect(spread([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
  });

  it("a fan-out bench flow is one root feeding every other task", () => {
    const graph = benchFlow("fan-out", 6).flow.graph();
    expect(graph.nodes.slice(1).every((n) => n.upstream.length === 1 && n.upstream[0]!.name === "t0")).toBe(true);
    expect(graph.terminalTasks).toHaveLength(5);
  });

  it("runner overhead, handler chain cost, memory and definition cost come back as positive numbers", async () => {
    const overhead = await runnerOverhead("fan-out", 30, 1);
    expect(overhead.ratio).toBeGreaterThan(0);
    const chain = await handlerChainCost(200, 1);
    expect(chain.chainNsPerTransition).toBeGreaterThan(0);
    const memory = await runMemory("chain", 30);
    expect(Number.isFinite(memory.bytesPerTask)).toBe(true);
    const definition = definitionCost(50);
    expect(definition.repeatedCallMs).toBeGreaterThan(0);
  });

  it("shaped flows have the asked number of tasks; a diamond joins every middle task", () => {
    expect(shapedFlow("chain", 7).graph().nodes).toHaveLength(7);
    const diamond = shapedFlow("diamond", 6).graph();
    expect(diamond.nodes).toHaveLength(6);
    expect(diamond.byName.get("t5")!.upstream.map((t) => t.name)).toEqual(["t1", "t2", "t3", "t4"]);
  });

  it("counted state transitions of a successful run match the compiler's static count", async () => {
    for (const shape of ["chain", "fan-out", "diamond"] as const) {
      const cost = await countTransitions(shape, 5);
      expect(cost.transitions).toBe(cost.staticTransitions);
      expect(cost.transitions).toBeGreaterThanOrEqual(5);
    }
  });

  it("a split flow's transitions are counted through its child executions, and match the static count of the parent and its parts", async () => {
    const whole = await countTransitions("chain", 6);
    const split = await countTransitions("chain", 6, 1_500);
    expect(whole.childExecutions).toBe(0);
    expect(split.childExecutions).toBeGreaterThan(1);
    expect(split.childTransitions).toBeGreaterThanOrEqual(6);
    expect(split.transitions).toBe(split.staticTransitions);
    // Each child costs its part state in the parent and its own end state, beyond the tasks.
    expect(split.transitions).toBeGreaterThan(whole.transitions);
  });

  it("the alerting path's cost of failed tasks: one PutEvents per task transition, a handler record per event, DynamoDB writes for the digest", async () => {
    const failed = await alertPathCost("bench-alerts-failed");
    expect(failed.status).toBe("FAILED");
    // Pending → Running and Running → Failed per task, and the final report.
    expect(failed.customEvents).toBe(2 * failed.tasks + 1);
    expect(failed.sqsRecords).toBeGreaterThanOrEqual(failed.customEvents);
    expect(failed.handlerInvocations.batchesOf10).toBe(Math.ceil(failed.sqsRecords / 10));
    expect(failed.dynamoWriteUnits).toBeGreaterThan(0);
    expect(failed.slackRequests).toBeGreaterThan(0);
    expect(failed.alertingUsdPerTask.high).toBeGreaterThan(failed.alertingUsdPerTask.low);
  });

  it("the alert storm names every failing task exactly once and loses none, in both Slack modes", async () => {
    for (const mode of ["webhook", "app"] as const) {
      const r = await simulateAlertStorm({ tasks: 120, concurrency: 20, mode });
      expect({ deliveredOnce: r.deliveredOnce, duplicated: r.duplicated, lost: r.lost, timedOut: r.timedOut }).toEqual({ deliveredOnce: 120, duplicated: 0, lost: 0, timedOut: 0 });
      // 50 tasks a message, plus the ending (webhook) or the parent (app).
      expect(r.messages).toBe(4);
    }
  });

  it("tables line up and escape pipes", () => {
    const row = { section: "s", figure: "a | b", value: "1", baseline: "2", ratio: "0.50x", goal: "", verdict: "ok" };
    expect(textTable([row]).split("\n")).toHaveLength(3);
    expect(markdownTable([row])).toContain("a \\| b");
  });
});
