/**
 * Every control-flow construct deploys (issue 24): a flow using each synthesizes and its definition
 * passes the ASL validator; what cannot deploy yet is refused at synth with an error naming the fix.
 */
import { describe, expect, it } from "vitest";
import { caseOf, Flow, FlowDefinitionError, flowRun, ifElse, task, triggers } from "../../lib/index";
import { compileFlow } from "../../lib/compile/index";
import { validateDefinition } from "../../lib/compile/validate";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;
const subFlowArn = (name: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`;
const check = task(function check() {
  return true;
});
const work = task(function work() {
  return 1;
});
const other = task(function other() {
  return 2;
});
const inner = new Flow({ name: "inner", tasks: [work] });

const flows: [string, () => Flow][] = [
  ["caseOf", () => new Flow({ name: "c" }, () => void caseOf(check(), true, () => work()))],
  ["merge/ifElse", () => new Flow({ name: "m" }, () => void ifElse(check(), () => work(), () => other()))],
  ["triggers.manualOnly", () => new Flow({ name: "a", tasks: [task({ trigger: triggers.manualOnly }, function gate() {})] })],
  ["flowRun", () => new Flow({ name: "s", tasks: [flowRun(inner)] })],
];

describe("deployed control flow", () => {
  it.each(flows)("a flow using %s compiles to a definition the ASL validator accepts", (_construct, make) => {
    const flow = make();
    const compiled = compileFlow(flow, { taskFunctionArn: arn, flowRunStateMachineArn: subFlowArn });
    expect(() => validateDefinition(flow.name, compiled.definition)).not.toThrow();
  });

  it("a manualOnly flowRun is refused at synth, naming the fix", () => {
    const gated = flowRun(inner, { trigger: triggers.manualOnly, name: "run-inner" });
    const flow = new Flow({ name: "g", tasks: [gated] });
    expect(() => compileFlow(flow, { taskFunctionArn: arn, flowRunStateMachineArn: subFlowArn })).toThrow(FlowDefinitionError);
    expect(() => compileFlow(flow, { taskFunctionArn: arn, flowRunStateMachineArn: subFlowArn })).toThrow(/put a manualOnly task before it/);
  });
});
