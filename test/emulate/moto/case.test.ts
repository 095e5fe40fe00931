/**
 * Case blocks on a second, independent engine (moto's AWS APIs with LocalStack's Step Functions
 * interpreter): the synthesized case flow makes the same per-task transitions, ending and alerts as
 * flow.run() and the default engine, whichever branch the parameter picks.
 */
import { afterAll, expect, it } from "vitest";
import { MotoEngine } from "../../../lib/emulate/moto/engine";
import { compareEngines } from "../../helpers/fidelity";
import { describeMoto } from "../../helpers/moto";
import { fixtureTarget, withMapMode } from "../helpers";

describeMoto("case blocks on the moto engine against flow.run() and the default engine", () => {
  const engine = new MotoEngine();
  afterAll(() => engine.close());

  for (const n of [10, 200, 7]) {
    it(`ifElse, a nested caseOf, a mapped task in a block and an all-skipped merge with n = ${n}: same transitions, ending and alerts`, async () => {
      // Inline maps: moto 5.2.1 cannot parse a Distributed Map.
      const target = withMapMode(await fixtureTarget("case-branches"), "inline");
      const report = await compareEngines(target, engine, { parameters: { n } });
      expect(report.diff).toBeUndefined();
      expect(report.moto.transitions.some((t) => t.newState.name === "Skipped")).toBe(true);
    }, 120_000);
  }

  it("a failed condition: the block's tasks TriggerFailed on both engines", async () => {
    const report = await compareEngines(await fixtureTarget("case-failed-condition"), engine);
    expect(report.diff).toBeUndefined();
    expect(report.moto.status).toBe("FAILED");
  }, 120_000);
});
