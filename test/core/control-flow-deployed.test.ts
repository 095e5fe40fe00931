/**
 * The compiler does not support control flow yet: FlowStateMachine (through compileFlow) refuses a
 * flow using any of it at synth, naming the construct, so no flow passes locally and breaks deployed.
 */
import { describe, expect, it } from "vitest";
import { caseOf, Flow, FlowDefinitionError, ifElse, task, triggers } from "../../lib/index";
import { compileFlow } from "../../lib/compile/index";
import { flowStack } from "../helpers/cdk";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;
const check = task(function check() {
  return true;
});
const work = task(function work() {
  return 1;
});
const other = task(function other() {
  return 2;
});

const flows: [string, () => Flow][] = [
  ["caseOf", () => new Flow({ name: "c" }, () => void caseOf(check(), true, () => work()))],
  ["merge/ifElse", () => new Flow({ name: "m" }, () => void ifElse(check(), () => work(), () => other()))],
  ["triggers.manualOnly", () => new Flow({ name: "a", tasks: [task({ trigger: triggers.manualOnly }, function gate() {})] })],
];

describe("deployed control flow", () => {
  it.each(flows)("a flow using %s is refused at synth with one FlowDefinitionError that names it and says it runs locally only", (construct, make) => {
    const flow = make();
    let error: unknown;
    try {
      flowStack(flow);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect((error as Error).message).toContain(`\`${construct}\``);
    expect((error as Error).message).toMatch(/runs? locally only for now/);
  });

  it("compileFlow refuses it too, and a flow without control flow still compiles", () => {
    expect(() => compileFlow(flows[0]![1](), { taskFunctionArn: arn })).toThrow(FlowDefinitionError);
    expect(() => compileFlow(new Flow({ name: "plain", tasks: [work] }), { taskFunctionArn: arn })).not.toThrow();
  });
});
