/**
 * Wide and long flows, compiled as FlowStateMachine deploys them (split into child state machines,
 * the final report included), run in aws-local-stepfunctions with the task Lambda's outputs: every
 * state of the parent and of each child execution stays under Step Functions' 256 KiB.
 */
import { describe, expect, it } from "vitest";
import { finalReportState } from "../../lib/cdk/flow-state-machine";
import { shapedFlow, type FlowShape } from "../../bench/shapes";
import { compileFlow, COMPACT_AFTER_DECISION_OUTPUTS, PRUNED_FLAG } from "../../lib/compile/index";
import { FLOW_FAILED_ERROR, toTaskOutput } from "../../lambdas/task/payload";
import { Failed, Success } from "../../lib/core/states";
import { MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { catchRecordsFromOutput } from "../../lib/aws/state-mapping";
import { runSplit } from "./run-split";

const partArn = (k: number) => `arn:aws:states:us-east-1:123456789012:stateMachine:big-part-${k}`;
const succeeded = (name: string) => toTaskOutput(name, new Success("Task run succeeded.", { result: null }));

/** As FlowStateMachine compiles it: split when too large, the final report put on a bus. */
function compileAsDeployed(shape: FlowShape, n: number) {
  return compileFlow(shapedFlow(shape, n), {
    taskFunctionArn: (name) => `arn:aws:lambda:us-east-1:123456789012:function:big-${name}`,
    childStateMachineArn: partArn,
    reportFinalState: (outcome) => finalReportState(`big-${shape}-${n}`, outcome, "big-bus"),
  });
}

async function runAsDeployed(shape: FlowShape, n: number, outputOf: (task: string) => unknown = succeeded) {
  return runSplit(compileAsDeployed(shape, n), partArn, outputOf);
}

describe("a large flow's execution JSON stays within Step Functions' 256 KiB", () => {
  it("runs a 5,000-task fan-out, split into child state machines, with every state under 256 KiB (it was 664 KB at the level's output)", async () => {
    const run = await runAsDeployed("fan-out", 5000);
    expect(run.error).toBeUndefined();
    expect(run.childExecutions).toBeGreaterThanOrEqual(2);
    expect(run.largestStateBytes).toBeLessThan(MAX_STATE_PAYLOAD_BYTES);
    // Each terminal task's record says whether it failed; its state is in the history and the task events.
    expect((run.output as any).L1[4998]).toEqual({ t4999: { failed: false } });
    expect((run.output as any)[PRUNED_FLAG]).toBe(true);
  }, 20_000);

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
  }, 20_000);

  // Each size compiles and runs within 256 KiB, or is refused at synth: never an execution AWS would fail.
  it.each([
    ["fan-out", COMPACT_AFTER_DECISION_OUTPUTS + 2, "runs"],
    ["fan-out", 2000, "runs"],
    ["diamond", COMPACT_AFTER_DECISION_OUTPUTS + 2, "runs"],
    ["diamond", 1900, "runs"],
    ["diamond", 1980, "is refused"],
    ["diamond", 3000, "is refused"],
  ] as const)("a %s of %i tasks %s: every state under 256 KiB, or refused at synth naming the fix", async (shape, n, expected) => {
    if (expected === "is refused") {
      // Without the refusal a 1,980-task diamond ran to a 262,346-byte state (its join's output): AWS would fail it.
      expect(() => compileAsDeployed(shape, n)).toThrow(/past what Step Functions' 256 KiB per state leaves for them .*`task\.map\(items\)`/);
      return;
    }
    const run = await runAsDeployed(shape, n);
    expect(run.error).toBeUndefined();
    expect(run.largestStateBytes, run.largestAt).toBeLessThan(MAX_STATE_PAYLOAD_BYTES);
  }, 20_000);
});

describe("which outputs are compacted, and what is refused at synth", () => {
  const resultSelector = (n: number, task: string) => {
    const compiled = compileAsDeployed("fan-out", n);
    const definitions = [compiled.definition, ...compiled.parts.map((p) => p.definition)];
    for (const d of definitions) {
      const level = Object.values(d.States).find((s) => s.Type === "Parallel") as { Branches: { States: Record<string, any> }[] } | undefined;
      const branch = level?.Branches.find((b) => b.States[task]);
      if (branch) return branch.States[task].ResultSelector;
    }
    throw new Error(`no state ${task}`);
  };

  it("keeps whole outputs up to COMPACT_AFTER_DECISION_OUTPUTS decision-only tasks, and a `{ failed }` record each above", () => {
    expect(resultSelector(COMPACT_AFTER_DECISION_OUTPUTS + 1, "t1")).toEqual({ "t1.$": "$.Payload" });
    expect(resultSelector(COMPACT_AFTER_DECISION_OUTPUTS + 2, "t1")).toEqual({ t1: { "failed.$": "$.Payload.failed" } });
  });

  it("keeps whole outputs of tasks a later task reads, however many", () => {
    // The diamond's middle tasks are read by the join: only the join is a reference task.
    const compiled = compileAsDeployed("diamond", 1000);
    const level = Object.values(compiled.definition.States).find((s) => s.Type === "Parallel") as { Branches: { States: Record<string, any> }[] };
    expect(level.Branches[0]!.States.t1.ResultSelector).toEqual({ "t1.$": "$.Payload" });
  });

  it("refuses a fan-out whose compact records alone would not fit, naming task.map and flowRun as the fix", () => {
    expect(() => compileFlow(shapedFlow("fan-out", 9000), { taskFunctionArn: () => "arn", childStateMachineArn: partArn })).toThrow(
      /9000 tasks|8999 reference tasks no task reads.*`task\.map\(items\)`.*`flowRun\(\.\.\.\)`/,
    );
  });
});
