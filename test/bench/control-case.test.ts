/** Smoke test of bench section 5b: it runs the compiled case flows with the real task Lambda code and counts what it claims. */
import { describe, expect, it } from "vitest";
import { caseCostSection, type CaseCostFigure } from "../../bench/sections/control-case";

describe("bench section 5b-case", () => {
  it("counts the same transitions for a case block as for the same tasks without caseOf, and one invocation per task either way", async () => {
    const { rows, data } = await caseCostSection([3]);
    const figures = data as CaseCostFigure[];
    expect(rows.map((r) => r.verdict)).toEqual(["ok", "ok"]);
    const [ifElse, block] = figures;
    // cond, a, b, merge, report: the branch not taken is invoked too, to report Skipped through its handlers.
    expect(ifElse!.invocations).toEqual({ true: 5, false: 5 });
    expect(ifElse!.transitions).toEqual({ true: ifElse!.baseline, false: ifElse!.baseline });
    expect(block!.invocations).toEqual({ true: 4, false: 4 });
    expect(block!.addedPerBlock).toBe(0);
  });
});
