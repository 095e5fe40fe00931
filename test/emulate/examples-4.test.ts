import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFidelity } from "../helpers/fidelity";
import { sharedTarget } from "./helpers";

describe("the control-flow example, emulated from its synthesized template", () => {
  it("10-control-flow makes the same transitions emulated as with flow.run(): three loop iterations, the sub-flow, the branch not taken, the approval", async () => {
    const target = await sharedTarget(join(import.meta.dirname, "../../examples/10-control-flow.ts"));
    const report = await checkFidelity(target, { approve: () => true });
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(report.emulated.get("task fetchPages")?.filter((t) => t.includes("-> Looped("))).toHaveLength(2);
    expect(report.emulated.get("task rowLoad")).toEqual(['Pending() -> Skipped("Case `isLarge` did not return false; the task is in a branch not taken.")']);
    expect(report.emulated.get("task publish")).toEqual(expect.arrayContaining(['Pending() -> Paused("Waiting for approval.")', 'Paused("Waiting for approval.") -> Resume("Approval given to resume.")']));
    expect(report.result.statesEntered).toEqual(expect.arrayContaining(["publish.Approval", "run-check-export.Run"]));
  });
});
