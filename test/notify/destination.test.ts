/**
 * Where alerts may go and what they may carry (issue 14 items 8, 17, 18, 19): Slack's hosts only,
 * no redirects, no ambiguous post repeated, secret values masked everywhere, mrkdwn escaped.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { eventBridgeEmitter } from "../../lambdas/task/emit";
import { createSecrets, Failed, Running, slackChannel, slackNotifier, snsChannel } from "../../lib/index";
import { createLogger } from "../../lib/aws/logger";
import { formatSlackMessage } from "../../lib/notify/format";
import { slackApiUrlProblem } from "../../lib/notify/slack";
import type { Alert } from "../../lib/notify/alert";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../fixtures/index";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { harness } from "../lambdas/handler/harness";

let slack: FakeSlack;
beforeEach(async () => {
  slack = await startFakeSlack();
});
afterEach(async () => {
  await slack.close();
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  delete process.env.FLOWHOOKS_EMULATOR;
});

const sleep = async () => {};

function failedAlert(message: string): Alert {
  return { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState: new Failed(message, { result: new Error(message) }), at: new Date("2026-01-01T00:00:00Z") };
}

describe("Slack destinations are checked when the notifier is created (item 17)", () => {
  const refused: [string, RegExp][] = [
    ["https://169.254.169.254/latest/meta-data/", /points at 169\.254\.169\.254, which is not Slack's/],
    ["https://hooks.slack.com.evil.example/services/T0/B0/x", /points at hooks\.slack\.com\.evil\.example/],
    ["https://hooks.slack.com/api/chat.postMessage", /path must start with \/services\//],
    ["https://user:pw@hooks.slack.com/services/T0/B0/x", /must not carry credentials/],
    ["http://hooks.slack.com/services/T0/B0/x", /is not a valid https URL/],
  ];
  for (const [url, message] of refused) {
    it(`refuses ${url}`, () => {
      expect(() => slackNotifier({ webhookUrl: url })).toThrow(message);
    });
  }

  it("accepts Slack's and GovSlack's webhook hosts, and a proxy named in allowedHosts", () => {
    expect(() => slackNotifier({ webhookUrl: "https://hooks.slack.com/services/T0/B0/x" })).not.toThrow();
    expect(() => slackNotifier({ webhookUrl: "https://hooks.slack-gov.com/services/T0/B0/x" })).not.toThrow();
    expect(() => slackNotifier({ webhookUrl: "https://slack-proxy.internal.example/services/x", allowedHosts: ["slack-proxy.internal.example"] })).not.toThrow();
  });

  it("allows loopback http locally and in the emulator, never in a deployed Lambda", () => {
    expect(() => slackNotifier({ webhookUrl: slack.url })).not.toThrow();
    process.env.AWS_LAMBDA_FUNCTION_NAME = "orders-handler";
    expect(() => slackNotifier({ webhookUrl: slack.url })).toThrow(/plain-http loopback address, allowed only in local runs/);
    process.env.FLOWHOOKS_EMULATOR = "1";
    expect(() => slackNotifier({ webhookUrl: slack.url })).not.toThrow();
  });

  it("the Web API (bot-token channels) is allowed on slack.com and slack-gov.com only", () => {
    expect(slackApiUrlProblem("https://slack.com/api/chat.postMessage")).toBeUndefined();
    expect(slackApiUrlProblem("https://slack-gov.com/api/chat.update")).toBeUndefined();
    expect(slackApiUrlProblem("https://slack.com.evil.example/api/chat.postMessage")).toMatch(/not Slack's Web API/);
    expect(slackApiUrlProblem("https://169.254.169.254/api/x")).toMatch(/not Slack's Web API/);
  });

  it("a webhook URL read from a secret is checked the same way before anything is posted", async () => {
    const secrets = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "https://hooks.slack.com.evil.example/services/x" } });
    await expect(slackChannel({ secrets, sleep }).send(failedAlert("boom"))).rejects.toThrow(/The secret "SLACK_WEBHOOK_URL" points at hooks\.slack\.com\.evil\.example/);
  });

  it("never follows a redirect: a 307 to another host is an error, and the other host gets nothing", async () => {
    const other = await startFakeSlack();
    try {
      slack.replies.push({ status: 307, headers: { location: other.url } });
      await expect(slackChannel({ webhookUrl: slack.url, sleep }).send(failedAlert("boom"))).rejects.toThrow(/redirect \(HTTP 307\), which flowhooks never follows/);
      expect(other.requests).toHaveLength(0);
      expect(slack.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe("an ambiguous Slack post is never repeated (item 8)", () => {
  it("four deliveries of a record whose post times out each time give one post, and the record is not retried", async () => {
    slack.replies.push(...Array.from({ length: 4 }, () => ({ status: 0, hang: true })));
    const h = harness({ channels: [slackChannel({ webhookUrl: slack.url, sleep, timeoutSeconds: 0.05 })] });
    try {
      const record = sqsRecord(eventBridgeEvent("sfn-failed"));
      const first = await h.handler(sqsEvent(record));
      expect(first.batchItemFailures).toEqual([]);
      for (let i = 0; i < 3; i++) await h.handler(sqsEvent(record));
      expect(slack.requests).toHaveLength(1);
      expect(h.logs.some((l) => l.level === "error" && /may or may not have arrived; it is not sent again/.test(l.message))).toBe(true);
    } finally {
      h.sfnMock.restore();
    }
  });
});

describe("secret values are masked in alert text, logs and errors on every channel (item 18)", () => {
  const SECRET = "pg-pass-7f3c9e1d";

  it("a task error containing a value read through secrets.get is masked on SNS, Slack, the console and in logs", async () => {
    const secrets = createSecrets({ env: { FLOWHOOKS_SECRET_DB_PASSWORD: SECRET } });
    expect(await secrets.get("DB_PASSWORD")).toBe(SECRET);
    const alert = failedAlert(`connect failed: postgres://app:${SECRET}@db.internal/orders "quoted ${SECRET}" <${SECRET}>`);

    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: "1" });
    try {
      await snsChannel({ topicArn: "arn:aws:sns:us-east-1:123456789012:alerts", client: new SNSClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }) }).send(alert);
      const published = sns.commandCalls(PublishCommand)[0]!.args[0].input;
      expect(JSON.stringify(published)).not.toContain(SECRET);
      expect(published.Message).toContain("[redacted]");
    } finally {
      sns.restore();
    }

    await slackChannel({ webhookUrl: slack.url, sleep }).send(alert);
    expect(slack.requests[0]!.body).not.toContain(SECRET);
    expect(slack.requests[0]!.body).not.toContain(SECRET.replace(/-/g, ""));

    // The task Lambda's own event carries the secret masked too.
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
    try {
      await eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }))({
        flow: "orders",
        task: "load",
        executionArn: "x",
        attempt: 1,
        oldState: { type: "Running" },
        newState: { type: "Failed", message: `connect failed: ${SECRET}` },
        at: "2026-01-01T00:00:00.000Z",
      });
      expect(eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail).not.toContain(SECRET);
    } finally {
      eb.restore();
    }

    const lines: string[] = [];
    createLogger({ writer: (l) => lines.push(l) }).error("Alert failed", { error: new Error(`bad ${SECRET}`) });
    expect(lines.join("\n")).not.toContain(SECRET);
    expect(lines.join("\n")).toContain("bad [redacted]");
  });

  it("a secret is masked before the text is cut, so no cut leaves part of it", () => {
    const secrets = createSecrets({ env: { FLOWHOOKS_SECRET_API_TOKEN: "tok_ABCDEFGHIJKLMNOPQRSTUVWXYZ" } });
    return secrets.get("API_TOKEN").then(() => {
      const text = JSON.stringify(formatSlackMessage(failedAlert(`${"x".repeat(2_970)}tok_ABCDEFGHIJKLMNOPQRSTUVWXYZ`)));
      expect(text).not.toContain("tok_ABCD");
    });
  });
});

describe("Slack's plain-text fallback is escaped like the blocks (item 19)", () => {
  it("<!channel>, disguised links and user mentions from a task error stay text", () => {
    const message = formatSlackMessage(failedAlert("boom <!channel> <https://evil.example|click here> <@U123>"));
    expect(message.text).not.toMatch(/<!channel>|<https:|<@U123>/);
    expect(message.text).toContain("&lt;!channel&gt;");
  });
});
