/**
 * `FlowStateMachine`'s `flowRuns` prop: the state machines that run the flows this flow calls with
 * `flowRun(...)`. Checked at synth (every flowRun has its machine, each machine runs the flow it is
 * named for), substituted into the definition by ARN, and granted with least privilege: the IAM
 * policy AWS documents for `states:startExecution.sync:2` ("IAM policies for AWS Step Functions",
 * https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html): StartExecution on
 * that state machine, DescribeExecution/StopExecution on its executions, and PutTargets/PutRule/
 * DescribeRule on the managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule.
 */
import { ArnFormat, CfnResource, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { FlowRunTask } from "../core/control";
import { FlowDefinitionError } from "../core/errors";
import type { Flow } from "../core/flow";

/** What `flowRuns` holds per flow name: a FlowStateMachine (only what is read of it). */
export interface FlowRunMachine {
  readonly stateMachine: sfn.StateMachine;
  readonly node: { readonly path: string };
}

/** The names of the flows `flow` runs with `flowRun(...)`, in order of first use. */
export function subFlowNames(flow: Flow): string[] {
  const names = new Set<string>();
  for (const node of flow.graph().nodes) if (node.kind === "flowRun") names.add((node.task as FlowRunTask).flow.name);
  return [...names];
}

/**
 * Refuses a `flowRun` without its state machine (naming the prop), a machine filed under a name its
 * flow does not have, and a machine no flowRun uses (a grant nothing needs).
 */
export function validateFlowRuns(owner: string, flow: Flow, flowRuns: Readonly<Record<string, FlowRunMachine & { readonly flowName?: string }>> | undefined): void {
  const needed = subFlowNames(flow);
  const given = flowRuns ?? {};
  const missing = needed.filter((name) => !Object.hasOwn(given, name));
  if (missing.length > 0) {
    const example = missing.map((n) => `${JSON.stringify(n)}: ${variableName(n)}Machine`).join(", ");
    throw new FlowDefinitionError(
      `${owner} runs ${missing.map((n) => `\`${n}\``).join(", ")} with flowRun(...), but \`flowRuns\` has no state machine for ${missing.length === 1 ? "it" : "them"}; ` +
        `deploy each with its own FlowStateMachine and pass it: flowRuns: { ${example} }.`,
    );
  }
  for (const [name, machine] of Object.entries(given)) {
    if (!needed.includes(name)) {
      throw new FlowDefinitionError(
        `${owner}: \`flowRuns\` names \`${name}\`, which the flow does not run with flowRun(...) (it runs: ${needed.map((n) => `\`${n}\``).join(", ") || "none"}); remove it.`,
      );
    }
    if (!machine || typeof machine !== "object" || !machine.stateMachine) {
      throw new FlowDefinitionError(`${owner}: \`flowRuns.${name}\` must be the FlowStateMachine that deploys flow \`${name}\`.`);
    }
    if (machine.flowName !== undefined && machine.flowName !== name) {
      throw new FlowDefinitionError(
        `${owner}: \`flowRuns.${name}\` is the FlowStateMachine of flow \`${machine.flowName}\` (${machine.node.path}); pass the one that deploys \`${name}\`.`,
      );
    }
  }
}

/** The `DefinitionSubstitutions` key of the state machine that runs flow number `index` of `subFlowNames`. */
export function flowRunSubstitution(index: number): string {
  return `FlowRun${index}`;
}

/** What a definition that names `${FlowRun<i>}` needs substituted: the machines' ARNs. */
export function flowRunSubstitutions(names: readonly string[], flowRuns: Readonly<Record<string, FlowRunMachine>>, definitionText: string): Record<string, string> {
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    const key = flowRunSubstitution(i);
    if (definitionText.includes(`\${${key}}`)) out[key] = flowRuns[name]!.stateMachine.stateMachineArn;
  });
  return out;
}

/** Lets `machine` start the sub-flows' state machines and wait for them (`startExecution.sync:2`). */
export function grantFlowRuns(machine: sfn.StateMachine, flowRuns: readonly FlowRunMachine[]): void {
  if (flowRuns.length === 0) return;
  const stack = Stack.of(machine);
  const targets = flowRuns.map((r) => r.stateMachine);
  machine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: targets.map((t) => t.stateMachineArn) }));
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["states:DescribeExecution", "states:StopExecution"],
      resources: targets.map((t) => executionsOf(stack, t)),
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
      resources: [stack.formatArn({ service: "events", resource: "rule", resourceName: "StepFunctionsGetEventsForStepFunctionsExecutionRule" })],
    }),
  );
  acknowledgeExecutions(machine, targets);
}

/**
 * The executions of `machine` (`...:execution:<name>:*`): a wildcard cdk-nag flags (IAM5), acknowledged
 * on the starting machine's role with the reason, as the split flow's part states are.
 */
function executionsOf(stack: Stack, machine: sfn.StateMachine): string {
  return stack.formatArn({ service: "states", resource: "execution", resourceName: `${machine.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

function acknowledgeExecutions(machine: sfn.StateMachine, targets: readonly sfn.StateMachine[]): void {
  for (const target of targets) {
    const logicalId = Stack.of(target).getLogicalId(target.node.defaultChild as CfnResource);
    Validations.of(machine).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalId}.Name>:*]`,
      reason: "startExecution.sync:2 follows and stops the sub-flow's executions, whose names Step Functions makes at run time; only executions of that state machine.",
    });
  }
}

function variableName(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join("");
  return /^[A-Za-z_]/.test(joined) ? joined : `flow${joined}`;
}
