/**
 * `alerts.slack.approvals` (issue 26, Slack approval buttons) on synthesized templates: the
 * interactivity function and its URL (an output), its least-privilege role, the handler's buttons
 * flag, the approval store's hook, cdk-nag, and the errors that name the fix.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { AwsSolutionsChecks } from "cdk-nag";
import { FlowDefinitionError } from "../../lib/core/errors";
import { FlowStateMachine, type FlowAlertsProps } from "../../lib/cdk/index";
import { SlackApprovals } from "../../lib/cdk/slack-approvals";
import { ordersFlow } from "../helpers/cdk";
import { describeWithTool } from "../helpers/external-tool";

const cfnLintInstalled = spawnSync("cfn-lint", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0;
const describeCfnLint = describeWithTool("cfn-lint", cfnLintInstalled, "pip install cfn-lint");

function slackAlerts(stack: Stack, approvals?: Partial<{ approvers: unknown; signingSecret: unknown }>, extra: Partial<FlowAlertsProps> = {}): FlowAlertsProps {
  return {
    slack: {
      botTokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Bot", "slack-bot"),
      channel: "C0ALERTS01",
      approvals: { signingSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Signing", "slack-signing"), approvers: ["U0APPROVER"], ...approvals } as never,
    },
    ...extra,
  };
}

function synth(alerts: (stack: Stack) => FlowAlertsProps, app = new App()) {
  const stack = new Stack(app, "ApprovalStack");
  const construct = new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: alerts(stack) });
  return { app, stack, construct, template: () => Template.fromStack(stack) };
}

function variables(stack: Stack, fn: lambda.IFunction): Record<string, unknown> {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
  return resources[stack.getLogicalId(fn.node.defaultChild as never)]!.Properties.Environment.Variables;
}

function roleStatements(template: Template, stack: Stack, role: iam.IRole) {
  const roleRef = { Ref: stack.getLogicalId(role.node.defaultChild as never) };
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
}

describe("alerts.slack.approvals", () => {
  it("deploys the interactivity function behind a function URL with auth NONE (Slack signs), and outputs the URL for the Slack app", () => {
    const { stack, construct, template } = synth((s) => slackAlerts(s));
    const t = template();
    const endpoint = construct.alerts!.slackApprovals!;
    t.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE", TargetFunctionArn: stack.resolve(endpoint.function.functionArn) });
    t.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.interact", Timeout: 10 });
    const outputs = Object.values(t.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>);
    expect(outputs).toContainEqual({ Value: stack.resolve(endpoint.url.url), Description: "flowhooks orders: paste into your Slack app's Interactivity & Shortcuts → Request URL" });
    expect(variables(stack, endpoint.function)).toEqual({
      FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: expect.anything(),
      FLOWHOOKS_SLACK_APPROVERS: "U0APPROVER",
      FLOWHOOKS_STATE_MACHINE_ARN: stack.resolve(construct.stateMachine.stateMachineArn),
      FLOWHOOKS_RESULTS_BUCKET: stack.resolve(construct.resultsBucket.bucketName),
    });
    // The handler draws the buttons only because an endpoint answers them.
    expect(variables(stack, construct.handlerFunction!).FLOWHOOKS_SLACK_APPROVAL_BUTTONS).toBe("1");
  });

  it("the function may read the signing secret, the approval store's objects and answer task tokens of this state machine only, nothing else", () => {
    const { stack, construct, template } = synth((s) => slackAlerts(s));
    const t = template();
    const statements = roleStatements(t, stack, construct.alerts!.slackApprovals!.function.role!);
    expect(statements).toContainEqual(expect.objectContaining({ Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"], Resource: stack.resolve(construct.stateMachine.stateMachineArn) }));
    const secretReads = statements.filter((s) => JSON.stringify(s.Action).includes("secretsmanager:GetSecretValue"));
    expect(secretReads.map((s) => JSON.stringify(s.Resource))).toEqual([expect.stringContaining(":secret:slack-signing-??????")]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => !/^(states:SendTask|secretsmanager:(GetSecretValue|DescribeSecret)|logs:|xray:|s3:(GetObject|PutObject|ListBucket)$)/.test(a))).toEqual([]);
    // Without approvals, no handler has the buttons flag and there is no function URL.
    const plain = synth((s) => ({ slack: { botTokenSecret: secretsmanager.Secret.fromSecretNameV2(s, "Bot", "slack-bot"), channel: "C0ALERTS01" } }));
    plain.template().resourceCountIs("AWS::Lambda::Url", 0);
    expect(variables(plain.stack, plain.construct.handlerFunction!).FLOWHOOKS_SLACK_APPROVAL_BUTTONS).toBeUndefined();
  });

  it("hands the function to the approval store's grant (permissions and settings of the token store)", () => {
    const stack = new Stack(new App(), "Hook");
    const stateMachine = new sfn.StateMachine(stack, "SM", { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, "P")) });
    const seen: lambda.Function[] = [];
    const endpoint = new SlackApprovals(stack, "Approvals", {
      flowName: "orders",
      stateMachine,
      code: lambda.Code.fromInline("export const interact = () => {}"),
      approvals: { signingSecret: secretsmanager.Secret.fromSecretNameV2(stack, "Signing", "slack-signing"), approvers: ["U0APPROVER"] },
      grantApprovalStore: (fn) => {
        seen.push(fn);
        fn.addEnvironment("FLOWHOOKS_APPROVAL_STORE", "tokens");
      },
    });
    expect(seen).toEqual([endpoint.function]);
    expect(variables(stack, endpoint.function).FLOWHOOKS_APPROVAL_STORE).toBe("tokens");
  });

  it("passes cdk-nag's AwsSolutions checks, each deliberate finding acknowledged with its reason", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    synth((s) => slackAlerts(s), app);
    expect(() => app.synth()).not.toThrow();
  });

  it("refuses approvers that are not Slack user ids, an empty list, and a signing secret that is not a secret, naming the fix", () => {
    expect(() => synth((s) => slackAlerts(s, { approvers: ["alice@example.com"] }))).toThrow(FlowDefinitionError);
    expect(() => synth((s) => slackAlerts(s, { approvers: ["alice@example.com"] }))).toThrow(/must hold Slack user ids such as "U0123ABCDEF" \(not names or e-mails\), got "alice@example.com"/);
    expect(() => synth((s) => slackAlerts(s, { approvers: [] }))).toThrow(/must list at least one Slack user id/);
    expect(() => synth((s) => slackAlerts(s, { signingSecret: "xoxs-plain" }))).toThrow(/signingSecret` must be a Secrets Manager secret/);
  });

  it("warns when alerts.on leaves out Paused, whose alerts carry the buttons", () => {
    const { stack } = synth((s) => slackAlerts(s, {}, { on: ["Failed"] }));
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("alerts.on \\(Failed\\) leaves Paused out, so no button is ever shown; add \"Paused\" to alerts.on"));
  });
});

describeCfnLint("cfn-lint", () => {
  it("finds no error in a template with the Slack interactivity function and its URL", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "flowhooks-approvals-lint-")) });
    synth((s) => slackAlerts(s), app);
    app.synth();
    const files = readdirSync(app.outdir).filter((f) => f.endsWith(".template.json")).map((f) => join(app.outdir, f));
    const run = spawnSync("cfn-lint", ["--format", "json", "--", ...files], { encoding: "utf8", timeout: 300_000 });
    expect(run.status === 1 ? run.stderr : "").toBe("");
    const errors = (JSON.parse(run.stdout || "[]") as { Level: string; Rule: { Id: string }; Message: string }[]).filter((f) => f.Level === "Error");
    expect(errors.map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual([]);
  }, 300_000);
});

describe("alerts.slack.approvals answers through the flow's approval store", () => {
  it("gives the interactivity function the results bucket's name and read/write on approvals/* only, where Paused tasks keep their tokens", () => {
    const { stack, construct, template } = synth((s) => slackAlerts(s));
    const fn = construct.alerts!.slackApprovals!.function;
    expect(variables(stack, fn).FLOWHOOKS_RESULTS_BUCKET).toEqual({ Ref: stack.getLogicalId(construct.resultsBucket.node.defaultChild as never) });
    const s3 = roleStatements(template(), stack, fn.role!).filter((s) => [s.Action].flat().some((a) => a.startsWith("s3:")));
    expect(s3).toHaveLength(2);
    const objects = s3.find((s) => [s.Action].flat().includes("s3:GetObject"))!;
    expect([objects.Action].flat().sort()).toEqual(["s3:GetObject", "s3:PutObject"]);
    expect(JSON.stringify(objects.Resource)).toContain("/approvals/*");
    // A missing answer record must read as NoSuchKey (not AccessDenied), so a click after the wait ended says so.
    const list = s3.find((s) => [s.Action].flat().includes("s3:ListBucket")) as { Condition?: unknown } | undefined;
    expect(list?.Condition).toEqual({ StringLike: { "s3:prefix": ["approvals/*"] } });
  });
});
