/**
 * caseOf / merge / ifElse deployed (docs/control-flow.md "Deployed"): the synthesized state
 * machine, run by the emulator with the bundled task Lambdas, makes the same transitions as
 * flow.run() — each task of a branch not taken goes Pending → Skipped in its own Lambda.
 */
import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { checkFidelity } from "../helpers/fidelity";
import { fixtureTarget, transitionsOf } from "./helpers";

const quiet = { write: () => undefined };
const states = (report: Awaited<ReturnType<typeof checkFidelity>>, task: string) => report.emulated.get(`task ${task}`);

describe("emulating case blocks from the synthesized template", () => {
  it("takes ifElse's false branch: the true branch's task is Skipped by its Lambda, the merge passes the row load on", async () => {
    const report = await checkFidelity(await fixtureTarget("case-branches"), { parameters: { n: 10 } });
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(states(report, "bulkLoad")).toEqual(['Pending() -> Skipped("Case `isBig` did not return true; the task is in a branch not taken.")']);
    // The skipped task's Lambda was invoked: its handlers ran where a task's chain runs.
    expect(report.result.invocations.map((i) => i.task)).toContain("bulkLoad");
    expect((report.result.output as any).L3.report.state.result).toBe("loaded with rows");
  });

  it("takes ifElse's true branch, the nested caseOf inside the even block and the mapped task in a block", async () => {
    const report = await checkFidelity(await fixtureTarget("case-branches"), { parameters: { n: 200 } });
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(states(report, "rowLoad")).toEqual(['Pending() -> Skipped("Case `isBig` did not return false; the task is in a branch not taken.")']);
    expect(states(report, "evenBig")).toEqual(['Pending() -> Running("Starting task run.")', 'Running("Starting task run.") -> Success("Task run succeeded.")']);
    expect(states(report, "double")).toEqual(['Pending() -> Mapped("Mapped 3 children.")']);
    expect((report.result.output as any).L3.report.state.result).toBe("loaded with bulk");
  });

  it("skips a nested block whose outer condition matched and inner did not, and a mapped task in a block not taken, without children", async () => {
    const report = await checkFidelity(await fixtureTarget("case-branches"), { parameters: { n: 10 } });
    expect(report.diff).toBeUndefined();
    expect(states(report, "evenWork")).toEqual(['Pending() -> Running("Starting task run.")', 'Running("Starting task run.") -> Success("Task run succeeded.")']);
    expect(states(report, "evenBig")).toEqual(['Pending() -> Skipped("Case `isBig` did not return true; the task is in a branch not taken.")']);
    expect(states(report, "parts")).toEqual(['Pending() -> Skipped("Case `isBig` did not return true; the task is in a branch not taken.")']);
    expect(states(report, "double")?.[0]).toMatch(/^Pending\(\) -> Skipped\("Upstream task was skipped/);
    expect([...report.emulated.keys()].filter((k) => k.startsWith("task double["))).toEqual([]);
  });

  it("skips the outer block and everything nested in it, and a merge whose branches were all skipped", async () => {
    const report = await checkFidelity(await fixtureTarget("case-branches"), { parameters: { n: 7 } });
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(states(report, "evenWork")).toEqual(['Pending() -> Skipped("Case `kind` did not return "even"; the task is in a branch not taken.")']);
    expect(states(report, "evenBig")?.[0]).toMatch(/^Pending\(\) -> Skipped\(/);
    expect(states(report, "merge-2")).toEqual(['Pending() -> Skipped("All upstream tasks of the merge were skipped.")']);
  });

  it("fails the block's tasks through their trigger when the condition failed (TriggerFailed, not Skipped), as flow.run() does", async () => {
    const report = await checkFidelity(await fixtureTarget("case-failed-condition"));
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("FAILED");
    for (const name of ["onTrue", "onFalse", "merge", "after"]) expect(transitionsOf(report.result, "task", name)).toEqual(["Pending -> TriggerFailed"]);
  });

  it("runs a case block whose condition and branches sit in different child state machines of a split flow", async () => {
    const target = await fixtureTarget("case-split", { stackProps: { maxDefinitionChars: 6000, alerts: {} } });
    expect(target.parts?.size).toBeGreaterThanOrEqual(2);
    for (const [n, taken, skipped, total] of [[1, "up", "down", 60], [-1, "down", "up", 60]] as const) {
      const report = await checkFidelity(target, { parameters: { n } });
      expect(report.diff).toBeUndefined();
      expect(report.result.status).toBe("SUCCEEDED");
      expect(report.result.statesEntered).toContain("flowhooks.Part1");
      expect(transitionsOf(report.result, "task", `${taken}-5`)).toEqual(["Pending -> Running", "Running -> Success"]);
      expect(transitionsOf(report.result, "task", `${skipped}-0`)).toEqual(["Pending -> Skipped"]);
      expect(transitionsOf(report.result, "task", "total")).toEqual(["Pending -> Running", "Running -> Success"]);
      const result = await emulate({ target, parameters: { n }, ...quiet });
      expect(JSON.stringify(result.output)).toContain(`"result":${total}`);
    }
  });
});
