/**
 * The dead-letter alarm on a FIFO alert topic (issue 26 leftovers, item 1): CloudWatch cannot publish
 * to a FIFO topic (its publish has no message group id), so the alarm reaches the handler through the
 * notices topic and the handler publishes the notice to the FIFO topic, in one message group.
 */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { SNSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
// From the package, as the handler loads it: that gives the channel its SNS adapter.
import { snsChannel } from "../../../lib/index";
import { harness } from "./harness";

const FIFO = "arn:aws:sns:eu-west-1:123456789012:flow-alerts.fifo";
const STANDARD = "arn:aws:sns:eu-west-1:123456789012:flow-alerts";
const sns = mockClient(SNSClient);
afterEach(() => sns.reset());

function alarmEvent(): SNSEvent {
  const message = { AlarmName: "orders-DeadLettersAlarm", NewStateValue: "ALARM", NewStateReason: "Threshold Crossed", StateChangeTime: "2026-01-01T00:10:00.000+0000" };
  return { Records: [{ EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: "arn", Sns: { Message: JSON.stringify(message) } as never }] };
}

describe("the dead-letter notice on a FIFO alert topic", () => {
  it("is published to the FIFO topic once, in one message group, with e-mail and SMS bodies", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const h = harness({ channels: [snsChannel({ topicArn: FIFO, client: sns as never })] });
    await h.handler(alarmEvent());
    await h.handler(alarmEvent()); // SNS delivering the alarm notification twice
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toMatchObject({ TopicArn: FIFO, MessageStructure: "json", MessageGroupId: "flowhooks-notices", Subject: expect.stringMatching(/dead-letter queue/) });
    expect(input.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    const bodies = JSON.parse(input.Message!);
    expect(JSON.parse(bodies.default)).toMatchObject({ kind: "notice", at: "2026-01-01T00:10:00.000Z" });
    expect(bodies.email).toContain("redrive them");
    expect(bodies.sms.length).toBeLessThanOrEqual(140);
  });

  it("is not published by the handler to a standard topic, which the alarm's own action reaches", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const h = harness({ channels: [snsChannel({ topicArn: STANDARD, client: sns as never })] });
    await h.handler(alarmEvent());
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
