import { App, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, it } from "vitest";
import { Failed, Flow, consoleNotifier, slackNotifier, snsNotifier, task } from "../../lib/index";
import { FlowStateMachine } from "../../lib/cdk/index";
import { flowStack } from "../helpers/cdk";

function flowWith(alert: ReturnType<typeof snsNotifier>): Flow {
  return new Flow({ name: "orders", alerts: [alert] }, () => {
    task({ name: "fetch" }, () => 1)();
  });
}

const missingWarnings = (stack: Parameters<typeof Annotations.fromStack>[0]) =>
  Annotations.fromStack(stack).findWarning("*", Match.stringLikeRegexp("reads the secret"));

describe("notifier secrets at synth", () => {
  it("warns when the stack gives snsNotifier's topicArnSecret to no function, naming the prop to add", () => {
    const { stack } = flowStack(flowWith(snsNotifier({ topicArnSecret: "ALERT_TOPIC_ARN", onlyStates: [Failed] })));
    const warnings = missingWarnings(stack);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]!.entry.data)).toContain('snsNotifier() in the flow\'s `alerts` reads the secret \\"ALERT_TOPIC_ARN\\"');
    expect(JSON.stringify(warnings[0]!.entry.data)).toContain("secrets: { ALERT_TOPIC_ARN: secret }");
  });

  it("gives snsNotifier's topicArnSecret to the task functions by ARN, with no warning, when the stack passes it", () => {
    const app = new App();
    const stack = new Stack(app, "SnsStack");
    new FlowStateMachine(stack, "Flow", {
      flow: flowWith(snsNotifier({ topicArnSecret: "ALERT_TOPIC_ARN", onlyStates: [Failed] })),
      entry: "unused.ts",
      stubBundling: true,
      secrets: { ALERT_TOPIC_ARN: secretsmanager.Secret.fromSecretNameV2(stack, "Topic", "alerts/topic-arn") },
    });
    expect(missingWarnings(stack)).toHaveLength(0);
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ FLOWHOOKS_SECRET_ARN_ALERT_TOPIC_ARN: Match.anyValue() }) },
    });
  });

  it("does not warn about a notifier whose missing secret is meant to fall back (whenMissing)", () => {
    const { stack } = flowStack(flowWith(slackNotifier({ onlyStates: [Failed], whenMissing: consoleNotifier() })));
    expect(missingWarnings(stack)).toHaveLength(0);
  });
});
