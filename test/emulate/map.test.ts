import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { checkFidelity } from "../helpers/fidelity";
import { fixtureTarget, transitionsOf } from "./helpers";

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
  });
});
