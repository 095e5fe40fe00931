/**
 * The final decision of a flow whose leaves are compact records: whatever leaves fail or crash, the
 * flow fails exactly when one did, and each crash's Catch record reaches the handler.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shapedFlow } from "../../bench/shapes";
import { compileFlow, COMPACT_AFTER_DECISION_OUTPUTS } from "../../lib/compile/index";
import { FLOW_FAILED_ERROR, toTaskOutput } from "../../lambdas/task/payload";
import { Failed, TriggerFailed } from "../../lib/core/states";
import { MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { catchRecordsFromOutput } from "../../lib/aws/state-mapping";
import { partArn, runSplit, succeeded } from "./run-split";

describe("deciding a flow from compact records", () => {
  it("fails the flow exactly when a leaf failed or crashed, and hands every crash's record to the handler (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: COMPACT_AFTER_DECISION_OUTPUTS + 2, max: 900 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            // Leaves are t1..t<n-1>; each may end failed (Failed or TriggerFailed), crash its function, or succeed.
            endings: fc.dictionary(fc.integer({ min: 1, max: n - 1 }).map((i) => `t${i}`), fc.constantFrom("failed", "trigger-failed", "crashed"), { maxKeys: 4 }),
          }),
        ),
        async ({ n, endings }) => {
          const compiled = compileFlow(shapedFlow("fan-out", n), { taskFunctionArn: (name) => name, childStateMachineArn: partArn });
          const run = await runSplit(compiled, partArn, (name) => {
            const ending = endings[name];
            if (ending === "crashed") throw Object.assign(new Error("Runtime exited with error: exit status 1"), { name: "Runtime.ExitError" });
            if (ending === "failed") return toTaskOutput(name, new Failed("boom"));
            if (ending === "trigger-failed") return toTaskOutput(name, new TriggerFailed("an upstream task failed"));
            return succeeded(name);
          });
          expect(run.largestStateBytes).toBeLessThan(MAX_STATE_PAYLOAD_BYTES);
          expect(run.error).toBe(Object.keys(endings).length > 0 ? FLOW_FAILED_ERROR : undefined);
          const crashed = Object.keys(endings).filter((name) => endings[name] === "crashed");
          const decided = JSON.stringify(run.inputs.get("flowhooks.Decide"));
          expect(catchRecordsFromOutput(decided).sort((a, b) => a.task.localeCompare(b.task))).toEqual(
            crashed.sort().map((task) => ({ task, error: "Runtime.ExitError" })),
          );
        },
      ),
      { numRuns: 8 },
    );
  }, 60_000);
});
