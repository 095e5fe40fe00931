import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFidelity } from "../helpers/fidelity";
import { sharedTarget } from "./helpers";

describe("the mapping example, emulated from its synthesized template", () => {
  it("09-mapping makes the same transitions emulated as with flow.run(), the parents' and every child's", async () => {
    const target = await sharedTarget(join(import.meta.dirname, "../../examples/09-mapping.ts"));
    const report = await checkFidelity(target);
    expect(report.diff).toBeUndefined();
    // Every child of both maps is in the trace on its own: download[0..2] and parse[0..2].
    expect([...report.emulated.keys()].filter((k) => /\[\d+\]$/.test(k)).sort()).toEqual([
      "task download[0]",
      "task download[1]",
      "task download[2]",
      "task parse[0]",
      "task parse[1]",
      "task parse[2]",
    ]);
    expect(report.emulated.get("task download")).toEqual(['Pending() -> Mapped("Mapped 3 children.")']);
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.invocations.filter((i) => i.outcome !== "returned" && i.errorType !== "flowhooks.Retrying")).toEqual([]);
    expect(result.statesEntered.some((s) => s.endsWith("Infra"))).toBe(false);
    expect(result.statesEntered).toEqual(expect.arrayContaining(["download.Map", "download.Child", "parse.Map", "parse.Child", "download.Collect", "parse.Collect"]));
  });
});
