/**
 * The flowhooks event bus's resource policy stays under EventBridge's 10,240-character limit
 * however many task roles a flow has, and still lets only the flows' roles put events.
 */
import { describe, expect, it } from "vitest";
import { App, NestedStack, Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { Template } from "aws-cdk-lib/assertions";
import { FlowStateMachine } from "../../lib/cdk/index";
import { FlowEventBus } from "../../lib/cdk/flow-event-bus";
import { chainFlow } from "../helpers/cdk";

const ACCOUNT = "123456789012";
/** EventBridge's "Event bus policy size" quota (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). */
const MAX_BUS_POLICY_CHARS = 10_240;

/** CloudFormation values as deployed in aws / us-east-1 / ACCOUNT; a role's ARN from its Path and a name CloudFormation would generate. */
function concrete(value: unknown, roles: Record<string, { Path?: string }>): unknown {
  if (Array.isArray(value)) return value.map((v) => concrete(v, roles));
  if (value && typeof value === "object") {
    const v = value as Record<string, any>;
    if ("Fn::Join" in v) return (v["Fn::Join"][1] as unknown[]).map((p) => concrete(p, roles)).join(v["Fn::Join"][0]);
    if (v.Ref === "AWS::Partition") return "aws";
    if (v.Ref === "AWS::AccountId") return ACCOUNT;
    if (v.Ref === "AWS::Region") return "us-east-1";
    if ("Fn::GetAtt" in v && v["Fn::GetAtt"][1] === "Arn" && roles[v["Fn::GetAtt"][0]]) {
      const id = v["Fn::GetAtt"][0] as string;
      return `arn:aws:iam::${ACCOUNT}:role${roles[id]!.Path ?? "/"}FlowStack-${id.slice(0, 40)}-AbC123`;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, concrete(x, roles)]));
  }
  return value;
}

/** IAM's ArnLike: `*` matches any run of characters, `?` one. */
function arnLike(arn: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`);
  return regex.test(arn);
}

describe("the flowhooks event bus policy", () => {
  it("stays under 10,240 characters with 200 ownRole tasks, and lets only the task roles and the state machine role put events", () => {
    const app = new App();
    const stack = new Stack(app, "FlowStack", { env: { account: ACCOUNT, region: "us-east-1" } });
    const flow = chainFlow(200);
    const tasks = Object.fromEntries(flow.graph().nodes.map((n) => [n.name, { ownRole: true }]));
    const construct = new FlowStateMachine(stack, "Flow", { flow, entry: "unused.ts", stubBundling: true, alerts: {}, tasks, functionsPerStack: 100 });
    const stacks = [stack, ...construct.node.children.filter((c): c is NestedStack => c instanceof NestedStack)];
    expect(stacks).toHaveLength(3);
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    // Every role of every stack, by logical id (the nested stacks hold the own roles).
    const roles: Record<string, { Path?: string }> = {};
    for (const s of stacks) {
      for (const [id, r] of Object.entries(Template.fromStack(s).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>)) {
        if (r.Type === "AWS::IAM::Role") roles[id] = r.Properties;
      }
    }
    const bus = Object.values(resources).find((r) => r.Type === "AWS::Events::EventBus")!;
    const policy = concrete(bus.Properties.Policy, roles) as { Statement: { Effect: string; Action: string; Condition: { ArnNotLike: { "aws:PrincipalArn": string[] } } }[] };

    expect(JSON.stringify(policy).length).toBeLessThan(MAX_BUS_POLICY_CHARS);
    const [deny] = policy.Statement;
    expect(deny).toMatchObject({ Effect: "Deny", Action: "events:PutEvents" });
    const denied = (principalArn: string) => !deny!.Condition.ArnNotLike["aws:PrincipalArn"].some((p) => arnLike(principalArn, p));

    const roleArn = (role: { roleArn: string }) => concrete(Stack.of(role as unknown as IConstruct).resolve(role.roleArn), roles) as string;
    const taskRoles = Object.keys(construct.taskFunctions).map((name) => construct.grantPrincipal(name) as unknown as { roleArn: string });
    expect(new Set(taskRoles).size).toBe(200);
    for (const role of [...taskRoles, construct.taskRole, construct.stateMachine.role]) expect(denied(roleArn(role))).toBe(false);
    // Every other principal, a role of another stack's bus and the handler's role among them, is denied.
    const bus0 = FlowEventBus.of(stack);
    for (const other of [
      `arn:aws:iam::${ACCOUNT}:role/admin`,
      `arn:aws:iam::${ACCOUNT}:role/flowhooks/flowhooks-000000000000/x`,
      `arn:aws:iam::${ACCOUNT}:user${bus0.rolePath}someone`,
      roleArn(construct.handlerFunction!.role!),
    ]) {
      expect(denied(other)).toBe(true);
    }
  }, 120_000);
});
