/**
 * Alerts that must arrive on cloud-native destinations (issue 26 leftovers): the dead-letter alarm on
 * a FIFO `alerts.topic`, and one alert per transition per destination for `chatbotNotifier`,
 * `eventBridgeNotifier` and `snsNotifier` next to the construct's own `alerts.*`.
 */
import { describe, expect, it } from "vitest";
import { App, Fn, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as sns from "aws-cdk-lib/aws-sns";
import { FlowStateMachine, type FlowAlertsProps, type FlowStateMachineProps } from "../../lib/cdk/index";
import { FlowDefinitionError } from "../../lib/core/errors";
import type { StateHandler } from "../../lib/core/handlers";
import { chatbotNotifier, eventBridgeNotifier, Failed, Flow, snsNotifier, Success, task } from "../../lib/index";
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

  it("a topic whose ARN is only known at deploy gets both routes: the alarm action and the notices topic", () => {
    const { stack, construct, template } = alertsStack((s) => ({ topic: sns.Topic.fromTopicArn(s, "Alerts", Fn.importValue("AlertTopicArn")) }));
    const alerts = construct.alerts!;
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [stack.resolve(alerts.alertTopic!.topicArn), stack.resolve(alerts.deadLetterNotices!.topicArn)] });
  });

  it("a standard alerts.topic keeps the alarm action, with no notices topic when Slack is not set", () => {
    const { stack, construct, template } = alertsStack((s) => ({ topic: new sns.Topic(s, "Alerts") }));
    expect(construct.alerts!.deadLetterNotices).toBeUndefined();
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [stack.resolve(construct.alerts!.alertTopic!.topicArn)] });
  });
});

describe("one alert per transition per cloud-native destination", () => {
  const TOPIC = "arn:aws:sns:eu-west-1:123456789012:chat-alerts";
  const ALERTS = "arn:aws:sns:eu-west-1:123456789012:flow-alerts";
  const BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/incidents";
  const env = { account: "123456789012", region: "eu-west-1" };

  /** load → save, with `alerts` as the flow's notifiers. */
  function notifiedFlow(alerts: StateHandler[], taskHandlers: StateHandler[] = []) {
    return new Flow({ name: "orders", alerts }, () => {
      task({ name: "save", stateHandlers: taskHandlers }, (x: number) => x)(task({ name: "load" }, () => 1)());
    });
  }
  function synth(flow: Flow, props: (stack: Stack) => Partial<FlowStateMachineProps>) {
    const stack = new Stack(new App(), "NotifiedStack", { env });
    new FlowStateMachine(stack, "Flow", { flow, entry: "unused.ts", stubBundling: true, ...props(stack) });
    return stack;
  }

  it("refuses the flow's chatbotNotifier on the topic alerts.chatbot names, saying which to remove", () => {
    const attempt = () => synth(notifiedFlow([chatbotNotifier({ topicArn: TOPIC })]), (s) => ({ alerts: { chatbot: sns.Topic.fromTopicArn(s, "Chat", TOPIC) } }));
    expect(attempt).toThrow(FlowDefinitionError);
    expect(attempt).toThrow(
      /Failed, TimedOut, Retrying alerts would be sent to the same Amazon Q Developer topic twice, by chatbotNotifier\(\) in the flow's `alerts` \(arn:aws:sns:eu-west-1:123456789012:chat-alerts\) and by the construct's `alerts.chatbot`. Keep one: remove `alerts.chatbot`.*, remove chatbotNotifier\(\) from the flow.*or give the notifier `onlyStates`/s,
    );
  });

  it("refuses a task's snsNotifier on the alerts.topic it names by ARN, or by name in this account", () => {
    const task = (states = [Failed]) => notifiedFlow([], [snsNotifier({ topicArn: ALERTS, onlyStates: states })]);
    expect(() => synth(task(), (s) => ({ alerts: { topic: sns.Topic.fromTopicArn(s, "T", ALERTS) } }))).toThrow(
      /^FlowStateMachine for flow `orders`: Failed, TimedOut alerts would be sent to the same SNS topic twice, by snsNotifier\(\) in the `stateHandlers` of task `save`/,
    );
    expect(() => synth(task(), (s) => ({ alerts: { topic: new sns.Topic(s, "T", { topicName: "flow-alerts" }) } }))).toThrow(/same SNS topic twice/);
  });

  it("refuses the flow's eventBridgeNotifier on alerts.eventBus, by name or by ARN", () => {
    expect(() => synth(notifiedFlow([eventBridgeNotifier()]), (s) => ({ alerts: { eventBus: events.EventBus.fromEventBusName(s, "B", "default") } }))).toThrow(
      /alerts would be sent to the same event bus twice, by eventBridgeNotifier\(\) in the flow's `alerts` \(default\) and by the construct's `alerts.eventBus`/,
    );
    expect(() => synth(notifiedFlow([eventBridgeNotifier({ eventBusName: BUS })]), (s) => ({ alerts: { eventBus: events.EventBus.fromEventBusArn(s, "B", BUS) } }))).toThrow(
      /same event bus twice/,
    );
    expect(() => synth(notifiedFlow([eventBridgeNotifier({ eventBusName: "incidents" })]), (s) => ({ alerts: { eventBus: new events.EventBus(s, "B", { eventBusName: "incidents" }) } }))).toThrow(
      /same event bus twice/,
    );
  });

  it("allows them on other destinations, on states alerts.on leaves out, and a bus of the same name in another account", () => {
    expect(() => synth(notifiedFlow([chatbotNotifier({ topicArn: TOPIC })]), (s) => ({ alerts: { chatbot: sns.Topic.fromTopicArn(s, "Chat", `${TOPIC}-ops`) } }))).not.toThrow();
    expect(() => synth(notifiedFlow([chatbotNotifier({ topicArn: TOPIC, onlyStates: [Success] })]), (s) => ({ alerts: { chatbot: sns.Topic.fromTopicArn(s, "Chat", TOPIC) } }))).not.toThrow();
    expect(() => synth(notifiedFlow([snsNotifier({ topicArn: ALERTS })]), () => ({ alerts: { topic: true } }))).not.toThrow();
    const otherAccount = "arn:aws:events:eu-west-1:210987654321:event-bus/default";
    expect(() => synth(notifiedFlow([eventBridgeNotifier()]), (s) => ({ alerts: { eventBus: events.EventBus.fromEventBusArn(s, "B", otherAccount) } }))).not.toThrow();
  });
});
