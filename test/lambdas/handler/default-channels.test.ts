import { afterEach, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { InMemoryDocumentStore } from "../../../lib/aws/documents";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { startFakeSlack } from "../../helpers/fake-slack";
import { harness, recordingQueue } from "./harness";

const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-slack-AbCdEf";
const secretsMock = mockClient(SecretsManagerClient);
afterEach(() => secretsMock.reset());

it("in Lambda, the built-in Slack channel reads the webhook from Secrets Manager by the ARN in FLOWHOOKS_SLACK_SECRET_ARN and posts the alert through its digest", async () => {
  const slack = await startFakeSlack();
  const url = slack.url;
  secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: url });
  const queue = recordingQueue();
  try {
    const h = harness({
      env: { AWS_LAMBDA_FUNCTION_NAME: "orders-handler", AWS_REGION: "us-east-1", FLOWHOOKS_SLACK_SECRET_ARN: SECRET_ARN },
      deps: { channels: undefined, documents: new InMemoryDocumentStore(), queue },
    });
    const out = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "msg-1")));
    expect(out.batchItemFailures).toEqual([]);
    // The ending schedules its flush at once; the flush record posts it.
    expect(queue.sent.map((s) => s.delaySeconds)).toEqual([0]);
    expect(slack.accepted()).toHaveLength(0);
    const flushed = await h.handler(sqsEvent(sqsRecord(queue.sent[0]!.body, "flush-1")));
    expect(flushed.batchItemFailures).toEqual([]);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(slack.accepted()).toHaveLength(1);
    expect(JSON.stringify(slack.accepted()[0])).toContain("Flow orders failed");
    h.sfnMock.restore();
  } finally {
    await slack.close();
  }
});

it("in Lambda, a Slack app from FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN and FLOWHOOKS_SLACK_CHANNEL is a grouped channel; the channel id is required with it", async () => {
  secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: "xoxb-0000-token-for-tests" });
  const queue = recordingQueue();
  const base = { AWS_LAMBDA_FUNCTION_NAME: "orders-handler", AWS_REGION: "us-east-1", FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN: SECRET_ARN };
  const h = harness({ env: { ...base, FLOWHOOKS_SLACK_CHANNEL: "C0ALERTS01" }, deps: { channels: undefined, documents: new InMemoryDocumentStore(), queue } });
  try {
    expect((await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying"), "msg-1")))).batchItemFailures).toEqual([]);
    // Recorded in the digest and a flush scheduled after the window; nothing posted yet. The token
    // was read before the record was handled, so a value equal to it in an event would be masked.
    expect(queue.sent.map((s) => [JSON.parse(s.body)["flowhooks.digestFlush"].channel, s.delaySeconds])).toEqual([["slack-app", 5]]);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  } finally {
    h.sfnMock.restore();
  }
  const missing = harness({ env: base, deps: { channels: undefined, documents: new InMemoryDocumentStore(), queue } });
  try {
    await expect(missing.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying"), "msg-2")))).rejects.toThrow(/FLOWHOOKS_SLACK_CHANNEL is not set; it must hold the Slack channel id/);
  } finally {
    missing.sfnMock.restore();
  }
});
