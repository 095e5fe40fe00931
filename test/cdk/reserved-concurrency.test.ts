/** Reserved concurrency summed over a flow's tasks, checked at synth against the account's quota (Lambda keeps 100 unreserved). */
import { describe, expect, it } from "vitest";
import { App, Stack } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { FlowStateMachine, type FlowStateMachineProps } from "../../lib/cdk/index";
import { FlowDefinitionError } from "../../lib/core/errors";
import { chainFlow } from "../helpers/cdk";

function synth(tasks: number, props: Partial<FlowStateMachineProps>) {
  const stack = new Stack(new App(), "FlowStack");
  new FlowStateMachine(stack, "Flow", { flow: chainFlow(tasks), entry: "unused.ts", stubBundling: true, functionsPerStack: 100, ...props });
  return Annotations.fromStack(stack);
}

describe("reserved concurrency summed over a flow's tasks", () => {
  it("refuses 200 tasks reserving 10 each (2,000 of the default 1,000, of which 900 may be reserved), naming the sum and both fixes", () => {
    const build = () => synth(200, { taskDefaults: { reservedConcurrentExecutions: 10 } });
    expect(build).toThrow(FlowDefinitionError);
    expect(build).toThrow(
      "FlowStateMachine for flow `chain-200`: its 200 task functions reserve 2000 concurrent executions in total, but Lambda keeps 100 of the account's 1000 unreserved, " +
        "so at most 900 can be reserved; lower `reservedConcurrentExecutions` (taskDefaults or tasks), or, if your account's quota was raised, set `accountConcurrency` to it.",
    );
  });

  it("accepts the same flow when accountConcurrency says the quota was raised, warning with the sum", () => {
    const annotations = synth(200, { taskDefaults: { reservedConcurrentExecutions: 10 }, accountConcurrency: 5000 });
    annotations.hasWarning("/FlowStack/Flow", Match.stringLikeRegexp("its 200 task functions reserve 2000 of the account's 5000 concurrent executions"));
  });

  it("counts per-task settings over taskDefaults (0 reserves nothing) and warns under the limit; a flow reserving nothing gets no warning", () => {
    const annotations = synth(5, { taskDefaults: { reservedConcurrentExecutions: 10 }, tasks: { "step-0": { reservedConcurrentExecutions: 450 }, "step-1": { reservedConcurrentExecutions: 0 } } });
    annotations.hasWarning("/FlowStack/Flow", Match.stringLikeRegexp("its 4 task functions reserve 480 of the account's 1000 concurrent executions \\(at most 900"));
    expect(synth(5, {}).findWarning("*", Match.stringLikeRegexp("reserve"))).toEqual([]);
    expect(() => synth(5, { tasks: { "step-0": { reservedConcurrentExecutions: 901 } } })).toThrow(/reserve 901 concurrent executions in total/);
  });

  it("refuses an accountConcurrency below Lambda's unreserved 100, naming the fix", () => {
    expect(() => synth(2, { accountConcurrency: 50 })).toThrow("`accountConcurrency` is 50; use your account's Lambda concurrent executions quota in this Region (Service Quotas), a whole number of at least 100.");
  });
});
