import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFidelity } from "../helpers/fidelity";
import { sharedTarget } from "./helpers";

const examples = ["05-special-failure", "06-multiple-handlers", "07-callback-factory", "08-on-failure"];

describe("the seed guide's examples, emulated from their synthesized templates", () => {
  for (const name of examples) {
    it(`${name} makes the same transitions emulated as with flow.run()`, async () => {
      const target = await sharedTarget(join(import.meta.dirname, "../../examples", `${name}.ts`));
      const report = await checkFidelity(target);
      expect(report.diff).toBeUndefined();
      // Every task state actually ran its Lambda (on Node 20 every Task fails and a Catch can hide it).
      expect(report.result.invocations.filter((i) => i.outcome !== "returned" && i.errorType !== "flowhooks.Retrying")).toEqual([]);
      expect(report.result.statesEntered.some((s) => s.endsWith(".Infra"))).toBe(false);
      expect(report.emulated.size).toBeGreaterThan(1);
    });
  }
});
