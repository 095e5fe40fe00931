/**
 * `alerts.chatbot`, `alerts.eventBus` and `onAlert` (issue 26 items 2 and 3) on synthesized
 * templates: what the handler is given and granted, the chat topic's key policy, the alert rule's
 * pattern, and the errors that name the fix.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks } from "cdk-nag";
import { FlowStateMachine, type FlowAlertsProps } from "../../lib/cdk/index";
import { ordersFlow } from "../helpers/cdk";
import { describeWithTool } from "../helpers/external-tool";

const cfnLintInstalled = spawnSync("cfn-lint", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0;
const describeCfnLint = describeWithTool("cfn-lint", cfnLintInstalled, "pip install cfn-lint");

function alertsStack(alerts: (stack: Stack) => FlowAlertsProps, env?: { account: string; region: string }, app = new App()) {
  const stack = new Stack(app, "DestStack", env ? { env } : {});
  const construct = new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: alerts(stack) });
  return { app, stack, construct, template: () => Template.fromStack(stack) };
}

function handlerEnv(stack: Stack, construct: FlowStateMachine): Record<string, unknown> {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
  return resources[stack.getLogicalId(construct.handlerFunction!.node.defaultChild as never)]!.Properties.Environment.Variables;
}

function handlerStatements(template: Template): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources("AWS::IAM::Policy")).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe("alerts.chatbot", () => {
  it("true makes an encrypted topic the handler publishes to and the chat service's key policy admits; the dead-letter alarm goes to it too", () => {
    const { stack, construct, template } = alertsStack(() => ({ chatbot: true }));
    const t = template();
    const topic = construct.alerts!.chatbotTopic!;
    expect(handlerEnv(stack, construct).FLOWHOOKS_CHATBOT_TOPIC_ARN).toEqual(stack.resolve(topic.topicArn));
    t.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: "chatbot.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Condition: { StringEquals: { "aws:SourceAccount": Match.anyValue() } } }),
        ]),
      },
    });
    t.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue(), DisplayName: "flowhooks orders chat notifications" });
    expect(handlerStatements(t).some((s) => s.Action === "sns:Publish" && JSON.stringify(s.Resource) === JSON.stringify(stack.resolve(topic.topicArn)))).toBe(true);
    t.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: Match.arrayWith([stack.resolve(topic.topicArn)]) });
  });

  it("a FIFO topic is refused at synth, naming the fix", () => {
    expect(() =>
      alertsStack((s) => ({ chatbot: new sns.Topic(s, "Fifo", { fifo: true, topicName: "chat.fifo" }) })),
    ).toThrow(/`alerts.chatbot` is a FIFO topic, which Amazon Q Developer in chat applications does not subscribe to; pass a standard topic/);
    expect(() =>
      alertsStack((s) => ({ chatbot: sns.Topic.fromTopicArn(s, "Imported", "arn:aws:sns:eu-west-1:123456789012:chat.fifo") })),
    ).toThrow(/FIFO topic/);
  });

  it("passes AwsSolutions checks with a new chat topic and a new alert bus", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    alertsStack(() => ({ chatbot: true, eventBus: true }), undefined, app);
    expect(() => app.synth()).not.toThrow();
  });
});

describe("alerts.eventBus", () => {
  it("true makes a bus; the handler gets its ARN and may put events on it", () => {
    const { stack, construct, template } = alertsStack(() => ({ eventBus: true }));
    const t = template();
    const bus = construct.alerts!.alertBus!;
    t.resourceCountIs("AWS::Events::EventBus", 2);
    expect(handlerEnv(stack, construct).FLOWHOOKS_ALERT_EVENT_BUS).toEqual(stack.resolve(bus.eventBusArn));
    expect(handlerStatements(t).some((s) => s.Action === "events:PutEvents" && JSON.stringify(s.Resource) === JSON.stringify(stack.resolve(bus.eventBusArn)))).toBe(true);
  });

  it("a bus in another account warns that its resource policy must let this account put events", () => {
    const { stack } = alertsStack(
      (s) => ({ eventBus: events.EventBus.fromEventBusArn(s, "Central", "arn:aws:events:eu-west-1:210987654321:event-bus/central-alerts") }),
      { account: "123456789012", region: "eu-west-1" },
    );
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("alerts.eventBus is in account 210987654321, this stack in 123456789012.*events:PutEvents from account 123456789012"));
  });

  it("a bus of this account gives no such warning", () => {
    const { stack } = alertsStack(
      (s) => ({ eventBus: events.EventBus.fromEventBusArn(s, "Mine", "arn:aws:events:eu-west-1:123456789012:event-bus/alerts") }),
      { account: "123456789012", region: "eu-west-1" },
    );
    Annotations.fromStack(stack).hasNoWarning("*", Match.stringLikeRegexp("alerts.eventBus is in account"));
  });
});

describe("onAlert", () => {
  it("returns a rule on the alert bus matching this flow's executions and the given states, to the target", () => {
    const { stack, construct, template } = alertsStack(() => ({ eventBus: true, on: ["Failed", "TimedOut", "Retrying"] }));
    const queue = new sqs.Queue(stack, "Pager");
    const rule = construct.onAlert("PageOnFailure", { target: new targets.SqsQueue(queue), states: ["Failed", "TimedOut"] });
    expect(rule).toBeInstanceOf(events.Rule);
    const t = template();
    t.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: stack.resolve(construct.alerts!.alertBus!.eventBusName),
      EventPattern: {
        source: ["flowhooks"],
        "detail-type": ["Flowhooks Alert"],
        detail: { flow: ["orders"], executionId: [{ prefix: Match.anyValue() }], newState: ["Failed", "TimedOut"] },
      },
      Targets: [Match.objectLike({ Arn: stack.resolve(queue.queueArn) })],
    });
  });

  it("without states it matches every alert of the flow", () => {
    const { stack, construct, template } = alertsStack(() => ({ eventBus: true }));
    construct.onAlert("All", { target: new targets.SqsQueue(new sqs.Queue(stack, "Q")) });
    template().hasResourceProperties("AWS::Events::Rule", { EventPattern: { source: ["flowhooks"], detail: { flow: ["orders"], newState: Match.absent() } } });
  });

  it("a state that is not a state name is refused naming the valid ones; one alerts.on leaves out is refused naming alerts.on", () => {
    const { stack, construct } = alertsStack(() => ({ eventBus: true }));
    const target = new targets.SqsQueue(new sqs.Queue(stack, "Q"));
    expect(() => construct.onAlert("Bad", { target, states: ["Failure" as never] })).toThrow(
      'onAlert("Bad"): "Failure" is not a state that alerts; use one of Failed, TimedOut, Retrying, TriggerFailed, Cancelled, Success, Paused.',
    );
    expect(() => construct.onAlert("Never", { target, states: ["Success"] })).toThrow(/does not alert on Success \(alerts.on is Failed, TimedOut, Retrying, Paused\).*add "Success" to `alerts.on`/);
  });

  it("without alerts.eventBus it is refused, naming the prop to set", () => {
    const { stack, construct } = alertsStack(() => ({ topic: true }));
    expect(() => construct.onAlert("X", { target: new targets.SqsQueue(new sqs.Queue(stack, "Q")) })).toThrow(/add `alerts: \{ eventBus: true \}`/);
  });
});

describeCfnLint("cfn-lint", () => {
  it("finds no error in a template with a new chat topic, a new alert bus and an onAlert rule", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "flowhooks-dest-lint-")) });
    const { stack, construct } = alertsStack(() => ({ chatbot: true, eventBus: true }), undefined, app);
    construct.onAlert("Page", { target: new targets.SqsQueue(new sqs.Queue(stack, "Pager")), states: ["Failed"] });
    app.synth();
    const files = readdirSync(app.outdir).filter((f) => f.endsWith(".template.json")).map((f) => join(app.outdir, f));
    const run = spawnSync("cfn-lint", ["--format", "json", "--", ...files], { encoding: "utf8", timeout: 300_000 });
    expect(run.status === 1 ? run.stderr : "").toBe("");
    const errors = (JSON.parse(run.stdout || "[]") as { Level: string; Rule: { Id: string }; Message: string }[]).filter((f) => f.Level === "Error");
    expect(errors.map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual([]);
  }, 300_000);
});
