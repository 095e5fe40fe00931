import { describe, expect, it } from "vitest";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { FlowStateMachine } from "../../lib/cdk/index";
import { ordersFlow } from "../helpers/cdk";

function secretsStack(name = "SLACK_WEBHOOK_URL") {
  const stack = new Stack(new App(), "FlowStack");
  const secret = secretsmanager.Secret.fromSecretNameV2(stack, "Webhook", "team/slack-webhook");
  const construct = new FlowStateMachine(stack, "Flow", {
    flow: ordersFlow(),
    entry: "unused.ts",
    stubBundling: true,
    alerts: {},
    secrets: { [name]: secret },
  });
  return { template: Template.fromStack(stack), construct };
}

describe("FlowStateMachine secrets", () => {
  it("gives every task function and the handler the secret's ARN under FLOWHOOKS_SECRET_ARN_<NAME>, never its value", () => {
    const { template } = secretsStack();
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    const withSecret = functions.filter((f) => f.Properties.Environment?.Variables?.FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL);
    // 5 task functions + the handler + the reconciler
    expect(withSecret).toHaveLength(7);
    const value = JSON.stringify(withSecret[0]!.Properties.Environment.Variables.FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL);
    expect(value).toContain(":secret:team/slack-webhook");
    expect(JSON.stringify(template.toJSON())).not.toMatch(/hooks\.slack\.com/);
  });

  it("lets the shared task role read the secret", () => {
    const { template, construct } = secretsStack();
    const roleId = Stack.of(construct).getLogicalId(construct.taskRole.node.defaultChild as never);
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: Match.anyValue(),
          }),
        ]),
      },
    });
  });

  it("lets the handler's role read every secret the task functions get: it reads them all at cold start to mask their values (issue 21 item 6c)", () => {
    const { template, construct } = secretsStack();
    const roleId = Stack.of(construct).getLogicalId(construct.handlerFunction!.role!.node.defaultChild as never);
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: Match.arrayWith([{ Ref: roleId }]),
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"] })]),
      },
    });
  });

  it("refuses a secret name that secrets.get() could not ask for", () => {
    expect(() => secretsStack("slack webhook")).toThrow('secret name `slack webhook` must be the name the code passes to secrets.get()');
  });

  it("refuses two secret names that map to the same Lambda variable (issue 14 item 16)", () => {
    const stack = new Stack(new App(), "Collide");
    const mine = secretsmanager.Secret.fromSecretNameV2(stack, "Mine", "team-a/db");
    const theirs = secretsmanager.Secret.fromSecretNameV2(stack, "Theirs", "team-b/db");
    const build = () =>
      new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, secrets: { "db-password": mine, "db.password": theirs } });
    expect(build).toThrow(
      "secret names `db-password` and `db.password` both map to FLOWHOOKS_SECRET_ARN_DB_PASSWORD; rename one of them.",
    );
  });
});
