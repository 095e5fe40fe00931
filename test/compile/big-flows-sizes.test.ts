/**
 * Flows of many sizes, compiled as FlowStateMachine deploys them and run in aws-local-stepfunctions
 * (test/compile/run-split.ts): each runs with every state under 256 KiB, or is refused at synth.
 * Which outputs are compacted, and the refusals' messages.
 */
import { describe, expect, it } from "vitest";
import { shapedFlow } from "../../bench/shapes";
import { compileFlow, COMPACT_AFTER_DECISION_OUTPUTS } from "../../lib/compile/index";
import { MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { compileAsDeployed, partArn, runAsDeployed } from "./run-split";

describe("flows of many sizes: within 256 KiB, or refused at synth", () => {
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
  }, 60_000);
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
    // The wide level sits in the parent or, once the flow splits, in one of its parts.
    const states = [compiled.definition, ...compiled.parts.map((p) => p.definition)].flatMap((d) => Object.values(d.States));
    const level = states.find((s) => s.Type === "Parallel") as { Branches: { States: Record<string, any> }[] };
    expect(level.Branches[0]!.States.t1.ResultSelector).toEqual({ "t1.$": "$.Payload" });
  });

  it("refuses a fan-out whose compact records alone would not fit, naming task.map and flowRun as the fix", () => {
    expect(() => compileFlow(shapedFlow("fan-out", 9000), { taskFunctionArn: () => "arn", childStateMachineArn: partArn })).toThrow(
      /8999 reference tasks no task reads.*Split the flow into flows run with `flowRun\(\.\.\.\)`, or run the work as one mapped task \(`task\.map\(items\)`/,
    );
  });
});
