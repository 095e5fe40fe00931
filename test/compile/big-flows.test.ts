/**
 * Wide and long flows, compiled as FlowStateMachine deploys them (split into child state machines,
 * the final report included), run in aws-local-stepfunctions with the task Lambda's outputs: every
 * state of the parent and of each child execution stays under Step Functions' 256 KiB.
 */
import { describe, expect, it } from "vitest";
import { PRUNED_FLAG, TASK_STATES_NOTE_KEY } from "../../lib/compile/index";
import { FLOW_FAILED_ERROR, toTaskOutput } from "../../lambdas/task/payload";
import { Failed } from "../../lib/core/states";
import { MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { catchRecordsFromOutput } from "../../lib/aws/state-mapping";
import { compileAsDeployed, partArn, runAsDeployed, runSplit, succeeded } from "./run-split";

describe("a large flow's execution JSON stays within Step Functions' 256 KiB", () => {
  // As the bench measured it. Its one wide level is a 4.4 MB child state machine, which FlowStateMachine refuses
  // at synth (Step Functions takes 1 MB): big-flows-deployed.test.ts runs a flow that deploys.
  it("runs a 5,000-task fan-out, split into child state machines, with every state under 256 KiB (it was 664 KB at the level's output)", async () => {
    const run = await runAsDeployed("fan-out", 5000);
    expect(run.error).toBeUndefined();
    expect(run.childExecutions).toBeGreaterThanOrEqual(2);
    expect(run.largestStateBytes).toBeLessThan(MAX_STATE_PAYLOAD_BYTES);
    // Each terminal task's record says whether it failed; its state is in the history and the task events.
    expect((run.output as any).L1[4998]).toEqual({ t4999: { failed: false } });
    expect((run.output as any)[PRUNED_FLAG]).toBe(true);
    expect((run.output as any)[TASK_STATES_NOTE_KEY]).toMatch(/task events .* execution history: flowhooks history/);
  }, 60_000);

  it("fails a 600-task fan-out through its decision when one compacted task failed, and keeps a crashed task's Catch record readable by the handler", async () => {
    const run = await runSplit(compileAsDeployed("fan-out", 600), partArn, (name) => {
      if (name === "t7") throw Object.assign(new Error("Task timed out after 3.00 seconds"), { name: "Sandbox.Timedout" });
      return name === "t300" ? toTaskOutput(name, new Failed("boom")) : succeeded(name);
    });
    expect(run.error).toBe(FLOW_FAILED_ERROR);
    const decided = run.inputs.get("flowhooks.Decide") as any;
    expect(decided.L1[299]).toEqual({ t300: { failed: true } });
    expect(catchRecordsFromOutput(JSON.stringify(decided))).toEqual([{ task: "t7", error: "Sandbox.Timedout" }]);
  });

  it("runs a 3,000-task chain, split into child state machines, with every state under 256 KiB", async () => {
    const run = await runAsDeployed("chain", 3000);
    expect(run.error).toBeUndefined();
    expect(run.childExecutions).toBeGreaterThanOrEqual(2);
    expect(run.largestStateBytes).toBeLessThan(MAX_STATE_PAYLOAD_BYTES / 16);
  }, 60_000);
});
