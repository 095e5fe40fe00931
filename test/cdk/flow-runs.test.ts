/**
 * `flowRuns` and `schedule` on FlowStateMachine, synthesized: the flowRun task starts the other flow's
 * state machine by ARN with the IAM policy AWS documents for startExecution.sync:2 (and nothing
 * broader), a missing one is refused naming the prop; the schedule is an EventBridge Scheduler
 * schedule with a role of its own. cdk-nag and cfn-lint find nothing unacknowledged.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { Flow, flowRun, parameter, task } from "../../lib/index";
import { FlowDefinitionError } from "../../lib/core/errors";
import { FlowStateMachine, type FlowStateMachineProps } from "../../lib/cdk/index";
import { flowRunStateNames, START_EXECUTION_SYNC } from "../../lib/compile/flow-run";
import { describeWithTool } from "../helpers/external-tool";

function etlFlow() {
  const extract = task({ name: "extract" }, (day: string) => `rows of ${day}`);
  return new Flow({ name: "etl" }, () => void extract(parameter("day", "today")));
}

/** A stack with the `etl` flow's machine and a `nightly` flow that runs it. */
function stackWithSubFlow(props: Partial<FlowStateMachineProps> = {}, app = new App()) {
  const stack = new Stack(app, "Flows");
  const etl = etlFlow();
  const etlMachine = new FlowStateMachine(stack, "Etl", { flow: etl, entry: "unused.ts", stubBundling: true });
  const nightly = new Flow({ name: "nightly", tasks: [flowRun(etl, { parameters: { day: "d1" } })] });
  const parent = new FlowStateMachine(stack, "Nightly", { flow: nightly, entry: "unused.ts", stubBundling: true, flowRuns: { etl: etlMachine }, ...props });
  return { app, stack, etlMachine, parent, template: () => Template.fromStack(stack) };
}

const logicalId = (machine: FlowStateMachine) => Stack.of(machine).getLogicalId(machine.stateMachine.node.defaultChild as never);

describe("FlowStateMachine flowRuns", () => {
  it("the flowRun task starts the other flow's state machine by its ARN (a DefinitionSubstitution), waiting with startExecution.sync:2", () => {
    const { template, etlMachine, parent } = stackWithSubFlow();
    const t = template();
    const machine = t.findResources("AWS::StepFunctions::StateMachine")[logicalId(parent)]!;
    expect(machine.Properties.DefinitionSubstitutions.FlowRun0).toEqual({ Ref: logicalId(etlMachine) });
    const run = JSON.stringify(parent.compiled.definition);
    expect(run).toContain(START_EXECUTION_SYNC);
    expect(run).toContain('"StateMachineArn":"${FlowRun0}"');
    expect(run).toContain(`"${flowRunStateNames("run-etl").collect}"`);
  });

  it("grants the parent's role StartExecution on that state machine, Describe/StopExecution on its executions and the managed rule, nothing broader", () => {
    const { template, etlMachine, parent } = stackWithSubFlow();
    const statements = Object.values(template().findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(Stack.of(parent).getLogicalId(parent.stateMachine.role.node.defaultChild as never)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const of = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    expect(of("states:StartExecution").map((s) => s.Resource)).toEqual([{ Ref: logicalId(etlMachine) }]);
    const describe = of("states:DescribeExecution");
    expect(describe).toHaveLength(1);
    expect([describe[0]!.Action].flat().sort()).toEqual(["states:DescribeExecution", "states:StopExecution"]);
    expect(JSON.stringify(describe[0]!.Resource)).toContain(`"Fn::GetAtt":["${logicalId(etlMachine)}","Name"]`);
    expect(JSON.stringify(of("events:PutRule")[0]!.Resource)).toContain("rule/StepFunctionsGetEventsForStepFunctionsExecutionRule");
    // The sub-flow's own machine gets none of it.
    const etlRole = Stack.of(etlMachine).getLogicalId(etlMachine.stateMachine.role.node.defaultChild as never);
    const etlStatements = Object.values(template().findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(etlRole))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]);
    expect(etlStatements.flatMap((s) => [s.Action].flat())).not.toContain("states:StartExecution");
  });

  it("a flowRun without its state machine is refused at synth, naming the flowRuns prop and how to fill it", () => {
    const app = new App();
    const stack = new Stack(app, "S");
    const nightly = new Flow({ name: "nightly", tasks: [flowRun(etlFlow())] });
    expect(() => new FlowStateMachine(stack, "N", { flow: nightly, entry: "unused.ts", stubBundling: true })).toThrow(FlowDefinitionError);
    expect(() => new FlowStateMachine(stack, "N2", { flow: nightly, entry: "unused.ts", stubBundling: true })).toThrow(/flowRuns: \{ "etl": etlMachine \}/);
  });

  it("a state machine of another flow, or one no flowRun uses, is refused", () => {
    const app = new App();
    const stack = new Stack(app, "S");
    const other = new FlowStateMachine(stack, "Other", { flow: new Flow({ name: "other", tasks: [task({ name: "x" }, () => 1)] }), entry: "unused.ts", stubBundling: true });
    const nightly = new Flow({ name: "nightly", tasks: [flowRun(etlFlow())] });
    expect(() => new FlowStateMachine(stack, "N", { flow: nightly, entry: "unused.ts", stubBundling: true, flowRuns: { etl: other } })).toThrow(/is the FlowStateMachine of flow `other`/);
    const plain = new Flow({ name: "plain", tasks: [task({ name: "y" }, () => 1)] });
    expect(() => new FlowStateMachine(stack, "P", { flow: plain, entry: "unused.ts", stubBundling: true, flowRuns: { other } })).toThrow(/does not run with flowRun\(\.\.\.\).*remove it/);
  });

  it("passes AwsSolutions checks with a flowRun and a schedule, each deliberate finding acknowledged", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    stackWithSubFlow({ schedule: { expression: "cron(0 6 * * ? *)", timezone: "Europe/Berlin" } }, app);
    expect(() => app.synth()).not.toThrow();
  });
});

const cfnLintInstalled = spawnSync("cfn-lint", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0;

describeWithTool("cfn-lint", cfnLintInstalled, "pip install cfn-lint")("cfn-lint on a flow with a flowRun and a schedule", () => {
  it("finds no error", () => {
    const { app } = stackWithSubFlow({ schedule: { expression: "rate(1 hour)", parameters: {} } });
    const outdir = app.synth().directory;
    const files = readdirSync(outdir).filter((f) => f.endsWith(".template.json")).map((f) => join(outdir, f));
    const lint = spawnSync("cfn-lint", ["--format", "json", "--", ...files], { encoding: "utf8", timeout: 120_000 });
    const errors = (JSON.parse(lint.stdout || "[]") as { Level: string; Message: string }[]).filter((f) => f.Level === "Error");
    expect(errors).toEqual([]);
  }, 120_000);
});

describe("FlowStateMachine schedule", () => {
  it("is an EventBridge Scheduler schedule that starts this state machine with the parameters as its input, in the time zone given", () => {
    const { template, parent } = stackWithSubFlow({ schedule: { expression: "cron(0 6 * * ? *)", timezone: "Europe/Berlin" } });
    template().hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 6 * * ? *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Arn: { Ref: logicalId(parent) }, Input: "{}" },
    });
    expect(parent.schedule).toBeDefined();
  });

  it("assumes a role of its own that may only start this state machine", () => {
    const app = new App();
    const stack = new Stack(app, "S");
    const flow = new Flow({ name: "report" }, () => void task({ name: "r" }, (d: string) => d)(parameter("day")));
    const m = new FlowStateMachine(stack, "R", { flow, entry: "unused.ts", stubBundling: true, schedule: { expression: "rate(1 day)", parameters: { day: "today" } } });
    const t = Template.fromStack(stack);
    const roleId = stack.getLogicalId(m.schedule!.role.node.defaultChild as never);
    t.hasResourceProperties("AWS::Scheduler::Schedule", { Target: { RoleArn: { "Fn::GetAtt": [roleId, "Arn"] }, Input: JSON.stringify({ day: "today" }) } });
    t.hasResourceProperties("AWS::IAM::Role", { AssumeRolePolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: "scheduler.amazonaws.com" } })]) } });
    const statements = Object.values(t.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]);
    expect(statements).toEqual([expect.objectContaining({ Action: "states:StartExecution", Resource: { Ref: stack.getLogicalId(m.stateMachine.node.defaultChild as never) } })]);
  });

  const flow = () => new Flow({ name: "report" }, () => void task({ name: "r" }, (d: string) => d)(parameter("day", "x")));
  const refused: [string, FlowStateMachineProps["schedule"], RegExp][] = [
    ["a five-field (Unix) cron", { expression: "cron(0 6 * * *)" }, /has 5 fields; EventBridge Scheduler's cron takes six/],
    ["a cron with both day fields set", { expression: "cron(0 6 1 * MON *)" }, /`\?` in exactly one of day-of-month and day-of-week/],
    ["an hour out of range", { expression: "cron(0 25 * * ? *)" }, /invalid hours field `25`/],
    ["a rate of zero", { expression: "rate(0 minutes)" }, /positive whole value/],
    ["a rate in seconds", { expression: "rate(30 seconds)" }, /unit of minutes, hours or days/],
    ["an at() with a zone suffix", { expression: "at(2027-01-01T06:00:00Z)" }, /at\(yyyy-mm-ddThh:mm:ss\)/],
    ["an at() on a day that does not exist", { expression: "at(2027-02-30T06:00:00)" }, /a real date and time/],
    ["an unknown form", { expression: "every hour" }, /is not rate\(\.\.\.\), cron\(\.\.\.\) or at\(\.\.\.\)/],
    ["an unknown time zone", { expression: "rate(1 hour)", timezone: "Mars/Olympus" }, /is not an IANA time zone name/],
    ["parameters that are not JSON", { expression: "rate(1 hour)", parameters: { day: () => 1 } as never }, /must be JSON/],
    ["a parameter the flow does not have", { expression: "rate(1 hour)", parameters: { month: 1 } }, /do not fit the flow/],
  ];
  it.each(refused)("refuses %s at synth, naming the fix", (_what, schedule, message) => {
    const stack = new Stack(new App(), "S");
    expect(() => new FlowStateMachine(stack, "R", { flow: flow(), entry: "unused.ts", stubBundling: true, schedule })).toThrow(message);
  });

  it.each(["rate(1 minute)", "rate(5 minutes)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 12 L * ? 2027)", "cron(0 9 ? * 2#1 *)", "at(2027-01-01T06:00:00)"])(
    "accepts %s",
    (expression) => {
      const stack = new Stack(new App(), "S");
      expect(() => new FlowStateMachine(stack, "R", { flow: flow(), entry: "unused.ts", stubBundling: true, schedule: { expression } })).not.toThrow();
    },
  );
});
