import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { prepareEmulation } from "../../lib/emulate/index";
import { checkFidelity } from "../helpers/fidelity";
import { sharedTarget } from "./helpers";

const examples = ["01-flow-state-handler", "02-task-state-handler", "03-post-to-slack", "04-retry-alert"];

describe("the seed guide's examples, emulated from their synthesized templates", () => {
  for (const name of examples) {
    it(`${name} makes the same transitions emulated as with flow.run()`, async () => {
      const entry = join(import.meta.dirname, "../../examples", `${name}.ts`);
      // The first example is synthesized fresh on every run, so synthesis itself is always exercised; the rest share the cache.
      const target = await (name === examples[0] ? prepareEmulation({ entry }) : sharedTarget(entry));
      const report = await checkFidelity(target);
      expect(report.diff).toBeUndefined();
      // Every task state actually ran its Lambda (on Node 20 every Task fails and a Catch can hide it).
      expect(report.result.invocations.filter((i) => i.outcome !== "returned" && i.errorType !== "flowhooks.Retrying")).toEqual([]);
      expect(report.result.statesEntered.some((s) => s.endsWith(".Infra"))).toBe(false);
      expect(report.emulated.size).toBeGreaterThan(1);
    });
  }
});
