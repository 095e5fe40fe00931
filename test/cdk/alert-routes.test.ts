/**
 * Alerts that must arrive on cloud-native destinations (issue 26 leftovers): the dead-letter alarm on
 * a FIFO `alerts.topic`, and one alert per transition per destination for `chatbotNotifier`,
 * `eventBridgeNotifier` and `snsNotifier` next to the construct's own `alerts.*`.
 */
import { describe, expect, it } from "vitest";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as sns from "aws-cdk-lib/aws-sns";
import { FlowStateMachine, type FlowAlertsProps } from "../../lib/cdk/index";
import { ordersFlow } from "../helpers/cdk";

function alertsStack(alerts: (stack: Stack) => FlowAlertsProps) {
  const stack = new Stack(new App(), "AlertsStack");
  const construct = new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: alerts(stack) });
  return { stack, construct, template: Template.fromStack(stack) };
}

describe("the dead-letter alarm on a FIFO alerts.topic", () => {
  it("goes through the notices topic to the handler, never as an alarm action on the FIFO topic", () => {
    const { stack, construct, template } = alertsStack((s) => ({ topic: new sns.Topic(s, "Alerts", { fifo: true, topicName: "flow-alerts.fifo" }) }));
    const alerts = construct.alerts!;
    expect(alerts.deadLetterNotices).toBeDefined();
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [stack.resolve(alerts.deadLetterNotices!.topicArn)] });
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "lambda", TopicArn: stack.resolve(alerts.deadLetterNotices!.topicArn) });
    // The handler publishes the notice to the FIFO topic (lambdas/handler: the SNS channel of a FIFO topic takes notices).
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.events",
      Environment: { Variables: Match.objectLike({ FLOWHOOKS_ALERT_TOPIC_ARN: stack.resolve(alerts.alertTopic!.topicArn) }) },
    });
  });

  it("a standard alerts.topic keeps the alarm action, with no notices topic when Slack is not set", () => {
    const { stack, construct, template } = alertsStack((s) => ({ topic: new sns.Topic(s, "Alerts") }));
    expect(construct.alerts!.deadLetterNotices).toBeUndefined();
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [stack.resolve(construct.alerts!.alertTopic!.topicArn)] });
  });
});
