import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { publish, snsClientFor, topicRegion } from "../../lib/aws/sns";

const sns = mockClient(SNSClient);
afterEach(() => sns.reset());

describe("the SNS adapter", () => {
  it("publishes with String message attributes and returns the message id", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "abc" });
    const id = await publish({
      topicArn: "arn:aws:sns:eu-west-1:123456789012:t",
      subject: "s",
      message: "{}",
      attributes: { flow: "orders", state: "Failed" },
    });
    expect(id).toBe("abc");
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input).toEqual({
      TopicArn: "arn:aws:sns:eu-west-1:123456789012:t",
      Subject: "s",
      Message: "{}",
      MessageAttributes: {
        flow: { DataType: "String", StringValue: "orders" },
        state: { DataType: "String", StringValue: "Failed" },
      },
    });
  });

  it("creates one client per region for the whole process", async () => {
    const a = await snsClientFor("arn:aws:sns:eu-west-1:123456789012:a");
    expect(await snsClientFor("arn:aws:sns:eu-west-1:123456789012:b")).toBe(a);
  });

  it("reads the region from a topic ARN", () => {
    expect(topicRegion("arn:aws:sns:ap-south-1:123456789012:a")).toBe("ap-south-1");
    expect(topicRegion("not-an-arn")).toBeUndefined();
  });
});
