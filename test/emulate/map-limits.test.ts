/** Step Functions' 256 KiB state limit and mapMode "auto": auto never picks a mode whose state can pass it. */
import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { fixtureTarget, transitionsOf, withMapMode } from "./helpers";

const quiet = { write: () => undefined };

describe("mapMode auto at Step Functions' 256 KiB state limit", () => {
  // 120 children fit the inline budget (their messages cut to 256 bytes); 140 do not, so auto runs them distributed.
  it.each([
    [120, "explode.Map"],
    [140, "explode.MapDistributed"],
  ])(
    "runs %i children that each throw a 2,000-character message (in %s) without States.DataLimitExceeded: the parent ends Mapped and the allFinished reducer runs",
    async (n, mapState) => {
      const target = withMapMode(await fixtureTarget("failing-map"), "auto");
      const result = await emulate({ target, parameters: { n }, ...quiet });
      expect(result.error).toBeUndefined();
      expect(result.statesEntered).toContain(mapState);
      expect(result.largestStateBytes).toBeLessThan(256 * 1024);
      expect(transitionsOf(result, "task", "tally")).toEqual(["Pending -> Running", "Running -> Success"]);
      expect(result.transitions.filter((t) => t.name === "explode" && t.mapIndex === undefined).map((t) => t.newState.name)).toEqual(["Mapped"]);
      // Each child alerted its whole message; its record in the execution carries the cut one.
      const failed = result.transitions.find((t) => t.name === "explode" && t.mapIndex === 0 && t.newState.name === "Failed");
      expect(failed?.newState.message).toContain("e".repeat(1500));
    },
    180_000,
  );
});
