import { describe, expect, it } from "vitest";
import { checkFidelity } from "../helpers/fidelity";
import { fixtureTarget, transitionsOf } from "./helpers";

describe("emulating signals.LOOP from the synthesized template", () => {
  it("runs a 3-iteration loop as three entries of the task state, with flow.run()'s transitions", async () => {
    const report = await checkFidelity(await fixtureTarget("loop"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.statesEntered).toEqual(["flowhooks.Start", "pages", "pages", "pages", "total", "flowhooks.Decide", "flowhooks.FlowSucceeded"]);
    expect(result.invocations.filter((i) => i.task === "pages").map((i) => `${i.outcome}${i.errorType ? ` ${i.errorType}` : ""}`)).toEqual(["error flowhooks.Looped", "error flowhooks.Looped", "returned"]);
    expect(transitionsOf(result, "task", "pages")).toEqual(["Pending -> Running", "Running -> Looped", "Looped -> Running", "Running -> Looped", "Looped -> Running", "Running -> Success"]);
    expect(result.output).toMatchObject({ L1: { total: { state: { result: 6 } } } });
  });
});
