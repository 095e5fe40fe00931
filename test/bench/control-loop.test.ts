/** Smoke test of bench section 8 (signals.LOOP deployed): it runs, and measures what it claims. */
import { describe, expect, it } from "vitest";
import { loopCost } from "../../bench/sections/control-loop";

describe("bench section 8-loop", () => {
  it("counts two state transitions per extra iteration (the hop and the re-entry) and none for a flow whose tasks do not loop", async () => {
    const r = await loopCost([3, 10]);
    expect(r.noLoop).toBe(r.successPath);
    expect(r.figures.map((f) => [f.iterations, f.transitions - r.noLoop, f.transitionsPerIteration])).toEqual([
      [3, 4, 2],
      [10, 18, 2],
    ]);
    expect(r.charsPerTask).toBeGreaterThan(100);
    expect(r.maxIterations).toBeGreaterThan(3_500);
  });
});
