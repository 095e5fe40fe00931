import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { harness } from "./harness";

const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-slack-AbCdEf";
const secretsMock = mockClient(SecretsManagerClient);
afterEach(() => secretsMock.reset());

it("in Lambda, the built-in Slack channel reads the webhook from Secrets Manager by the ARN in FLOWHOOKS_SLACK_SECRET_ARN and posts the alert", async () => {
  const posts: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      posts.push(body);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXX`;
  secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: url });
  try {
    const h = harness({
      env: { AWS_LAMBDA_FUNCTION_NAME: "orders-handler", AWS_REGION: "us-east-1", FLOWHOOKS_SLACK_SECRET_ARN: SECRET_ARN },
      deps: { channels: undefined },
    });
    const out = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "msg-1")));
    expect(out.batchItemFailures).toEqual([]);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toContain("orders");
    h.sfnMock.restore();
  } finally {
    server.close();
  }
});
