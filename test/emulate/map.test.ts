import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { checkFidelity } from "../helpers/fidelity";
import { fixtureTarget, transitionsOf, withMapMode } from "./helpers";

/** Per ResultWriter manifest under `prefix` of the results folder: its succeeded children (their items' indexes, from each child's input). */
function writtenChildren(resultsDir: string, prefix: string): { index: number }[][] {
  const dir = join(resultsDir, prefix);
  const manifests = (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith("manifest.json"));
  return manifests.map((m) => {
    const manifest = JSON.parse(readFileSync(join(dir, m), "utf8"));
    return manifest.ResultFiles.SUCCEEDED.flatMap((file: { Key: string }) =>
      JSON.parse(readFileSync(join(resultsDir, file.Key), "utf8")).map((e: { Input: string }) => ({ index: JSON.parse(e.Input).item.index })),
    );
  });
}

const quiet = { write: () => undefined };

/** A task's result in the execution's output (`$.L<i>[.<branch>].<key>.state.result`). */
function outputOf(output: unknown, key: string): unknown {
  const found = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return undefined;
    const obj = value as Record<string, any>;
    if (obj[key]?.state) return obj[key].state.result;
    for (const v of Object.values(obj)) {
      const r = found(v);
      if (r !== undefined) return r;
    }
    return undefined;
  };
  return found(output);
}

/** Child i's transitions, as `Old -> New`. */
function childTransitions(result: Awaited<ReturnType<typeof emulate>>, task: string, index: number): string[] {
  return result.transitions.filter((t) => t.kind === "task" && t.name === task && t.mapIndex === index).map((t) => `${t.oldState.name} -> ${t.newState.name}`);
}

describe("emulating a mapped task as an inline Map", () => {
  it("runs one child invocation per item, retries a child through its own Retry, and makes the same transitions as flow.run(), child by child", async () => {
    const report = await checkFidelity(await fixtureTarget("mapped"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.statesEntered).toContain("square.Map");
    expect(result.statesEntered.filter((s) => s === "square.Child")).toHaveLength(4);
    expect(result.statesEntered.some((s) => s.endsWith("Infra"))).toBe(false);
    // Child 2 was invoked twice: Step Functions retried it, counting its attempts apart from the other children's.
    const child = result.invocations.filter((i) => i.stateName === "square.Child");
    expect(child.map((i) => `${i.mapIndex}#${i.invocation}:${i.outcome}`).sort()).toEqual(["0#1:returned", "1#1:returned", "2#1:error", "2#2:returned", "3#1:returned"]);
    expect(childTransitions(result, "square", 2)).toEqual(["Pending -> Running", "Running -> Failed", "Failed -> Retrying", "Retrying -> Running", "Running -> Success"]);
    expect(result.transitions.filter((t) => t.name === "square" && t.mapIndex === 2).map((t) => t.attempt)).toEqual([1, 1, 1, 2, 2]);
    // The parent: one transition, after its children.
    expect(result.transitions.filter((t) => t.name === "square" && t.mapIndex === undefined).map((t) => `${t.oldState} -> ${t.newState}`)).toEqual([
      'Pending() -> Mapped("Mapped 4 children.")',
    ]);
    expect(transitionsOf(result, "task", "total")).toEqual(["Pending -> Running", "Running -> Success"]);
    expect(outputOf(result.output, "total")).toBe(14);
  });

  it("a child that fails for good fails the reducer's trigger and the flow, as flow.run() does; a task running on allFinished gets every child's result", async () => {
    const report = await checkFidelity(await fixtureTarget("mapped"), { parameters: { failAt: 1 } });
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result).toMatchObject({ status: "FAILED", error: "flowhooks.FlowFailed" });
    expect(childTransitions(result, "square", 1)).toEqual(["Pending -> Running", "Running -> Failed", "Failed -> Retrying", "Retrying -> Running", "Running -> Failed"]);
    expect(transitionsOf(result, "task", "total")).toEqual(["Pending -> TriggerFailed"]);
    expect(transitionsOf(result, "task", "report")).toEqual(["Pending -> Running", "Running -> Success"]);
    expect(transitionsOf(result, "flow", "mapped").at(-1)).toBe("Running -> Failed");
  });

  it("maps over an empty list: the parent ends Mapped with no children, no child runs, and the reducer gets []", async () => {
    const report = await checkFidelity(await fixtureTarget("mapped"), { parameters: { n: 0 } });
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.invocations.filter((i) => i.stateName === "square.Child")).toEqual([]);
    expect(result.transitions.filter((t) => t.name === "square").map((t) => `${t.oldState} -> ${t.newState}`)).toEqual(['Pending() -> Mapped("Mapped 0 children.")']);
    expect(outputOf(result.output, "report")).toBe("0 children");
    expect(outputOf(result.output, "total")).toBe(0);
  });

  it("runs at most mapConcurrency children at once (the Map's MaxConcurrency)", async () => {
    const target = await fixtureTarget("map-concurrency");
    const report = await checkFidelity(target);
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(report.result.invocations.filter((i) => i.stateName === "slow.Child")).toHaveLength(6);
    expect(outputOf(report.result.output, "peakOf")).toBe(2);
    // A Distributed Map's MaxConcurrency holds for its child executions too.
    const distributed = await emulate({ target: withMapMode(target, "distributed"), ...quiet });
    expect(distributed.statesEntered).toContain("slow.MapDistributed");
    expect(outputOf(distributed.output, "peakOf")).toBe(2);
  });

  it("records a child whose Lambda was stopped at its timeout through the child's Catch (t.ChildInfra), naming its index; the others and the parent go on", async () => {
    const target = await fixtureTarget("mapped", { stackProps: { taskDefaults: { timeout: Duration.seconds(1) } } });
    const result = await emulate({ target, parameters: { hangAt: 1 }, fastRetries: true, ...quiet });
    const timedOut = result.invocations.filter((i) => i.outcome === "timed-out");
    expect(timedOut.map((i) => `${i.stateName}[${i.mapIndex}]:${i.errorType}`)).toEqual(["square.Child[1]:Sandbox.Timedout"]);
    expect(result.statesEntered.filter((s) => s === "square.ChildInfra")).toHaveLength(1);
    expect(childTransitions(result, "square", 1)[0]).toBe("Pending -> Running");
    expect(childTransitions(result, "square", 3)).toEqual(["Pending -> Running", "Running -> Success"]);
    expect(result.transitions.filter((t) => t.name === "square" && t.mapIndex === undefined).map((t) => String(t.newState))).toEqual(['Mapped("Mapped 4 children.")']);
    expect(transitionsOf(result, "task", "total")).toEqual(["Pending -> TriggerFailed"]);
  });
});

describe("emulating a mapped task compiled as a Distributed Map", () => {
  it("runs it as an inline Map with the same child states, one child execution per item read from the local results folder, and says so", async () => {
    const target = withMapMode(await fixtureTarget("mapped"), "distributed");
    const lines: string[] = [];
    const report = await checkFidelity(target, { write: (line) => void lines.push(line) });
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(lines).toContain(
      "Distributed Map `square` emulated as an inline Map: its 4 items read from the local results folder (not S3), its children run in this process, " +
        "each checked as a child execution (its own state sizes and history, none of it in this execution's), its results written to the local results folder as its ResultWriter would.",
    );
    expect(result.statesEntered).toContain("square.MapDistributed");
    expect(result.statesEntered).not.toContain("square.Map");
    expect(result.statesEntered.filter((s) => s === "square.DistChild")).toHaveLength(4);
    expect(result.invocations.filter((i) => i.stateName === "square.DistChild").map((i) => `${i.mapIndex}#${i.invocation}`).sort()).toEqual(["0#1", "1#1", "2#1", "2#2", "3#1"]);
    expect(childTransitions(result, "square", 2)).toEqual(["Pending -> Running", "Running -> Failed", "Failed -> Retrying", "Retrying -> Running", "Running -> Success"]);
    expect(outputOf(result.output, "total")).toBe(14);
    // The ResultWriter's manifest and result file, where the collect step read them: every child once.
    const written = writtenChildren(result.resultsDir, "flowhooks-maps/square");
    expect(written.some((children) => children.map((c) => c.index).sort().join() === "0,1,2,3")).toBe(true);
  });

  it("maps over an empty list without child executions (the prepare step runs no children inline): the parent Mapped with none", async () => {
    const report = await checkFidelity(withMapMode(await fixtureTarget("mapped"), "distributed"), { parameters: { n: 0 } });
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(report.result.statesEntered).not.toContain("square.MapDistributed");
    expect(outputOf(report.result.output, "report")).toBe("0 children");
  });

  it("alerts a child stopped at its Lambda timeout (t.DistChildInfra, in its own child execution) exactly once, as `square[1]`, reported by the collect step", async () => {
    const target = withMapMode(await fixtureTarget("mapped", { stackProps: { taskDefaults: { timeout: Duration.seconds(1) } } }), "distributed");
    const result = await emulate({ target, parameters: { hangAt: 1 }, fastRetries: true, ...quiet });
    expect(result.statesEntered).toContain("square.MapDistributed");
    expect(result.invocations.filter((i) => i.outcome === "timed-out").map((i) => `${i.stateName}[${i.mapIndex}]:${i.errorType}`)).toEqual(["square.DistChild[1]:Sandbox.Timedout"]);
    expect(result.statesEntered.filter((s) => s === "square.DistChildInfra")).toHaveLength(1);
    const taskAlerts = result.alerts.map((a) => a.alert).filter((a) => a.kind === "task");
    expect(taskAlerts.filter((a) => a.mapIndex === 1).map((a) => [a.task, a.newState.name, a.observedAfterTheFact])).toEqual([["square[1]", "TimedOut", true]]);
    // Its siblings: child 2's first attempt alerts its Retrying, nothing else of theirs alerts; the crash is no Retrying of child 1's.
    expect(taskAlerts.map((a) => `${a.task} ${a.newState.name}`).sort()).toEqual(["square[1] TimedOut", "square[2] Retrying"]);
    expect(childTransitions(result, "square", 1)).toEqual(["Pending -> Running", "Running -> TimedOut"]);
    expect(result.status).toBe("FAILED");
  });

  it("fails a child for good as the inline Map does, the reducer TriggerFailed", async () => {
    const report = await checkFidelity(withMapMode(await fixtureTarget("mapped"), "distributed"), { parameters: { failAt: 3 } });
    expect(report.diff).toBeUndefined();
    expect(report.result).toMatchObject({ status: "FAILED", error: "flowhooks.FlowFailed" });
    expect(transitionsOf(report.result, "task", "total")).toEqual(["Pending -> TriggerFailed"]);
  });

  it("keeps 1,000 children's outputs (over 256 KiB together) out of the execution's state, as S3 does; forced inline, the same map fails with States.DataLimitExceeded", async () => {
    const target = await fixtureTarget("wide-map");
    const distributed = await emulate({ target: withMapMode(target, "distributed"), ...quiet });
    expect(distributed.status).toBe("SUCCEEDED");
    expect(outputOf(distributed.output, "count")).toBe(1000);
    expect(distributed.largestStateBytes).toBeLessThan(64 * 1024);

    const inline = await emulate({ target: withMapMode(target, "inline"), ...quiet });
    expect(inline).toMatchObject({ status: "FAILED", error: "States.DataLimitExceeded" });
    expect(inline.cause).toMatch(/^The output of state `describeItem\.Map` is \d+ bytes; Step Functions accepts 262144\.$/);
    expect(inline.invocations.map((i) => i.task)).not.toContain("count");
  }, 120_000);
});

describe("an inline Map at Step Functions' history limit", () => {
  it("fails with States.Runtime when its children's events pass 25,000 (2,600 retried children, forced inline), naming the map and the fix; auto runs the same map distributed", async () => {
    const target = await fixtureTarget("long-map");
    const inline = await emulate({ target: withMapMode(target, "inline"), ...quiet, fastRetries: true });
    expect(inline).toMatchObject({ status: "FAILED", error: "States.Runtime" });
    expect(inline.cause).toBe(
      "The execution history reached 25000 events, Step Functions' limit for one execution; split the flow into smaller flows. " +
        "Inline Map `retried.Map` writes each child's events into the execution's history: run it as a Distributed Map, whose children are executions with histories of their own " +
        '(FlowStateMachine `tasks: { "retried": { mapMode: "auto" } }`, or "distributed").',
    );
    // 10 events per retried child (Step Functions' count): the limit came after about 2,500 children, not all 2,600.
    const children = new Set(inline.invocations.filter((i) => i.stateName === "retried.Child").map((i) => i.mapIndex));
    expect(children.size).toBeGreaterThan(2_300);
    expect(children.size).toBeLessThan(2_600);

    const auto = await emulate({ target: withMapMode(target, "auto"), ...quiet, fastRetries: true });
    expect(auto.status).toBe("SUCCEEDED");
    expect(auto.statesEntered).toContain("retried.MapDistributed");
    expect(outputOf(auto.output, "count")).toBe(2600);
  }, 180_000);
});
