/**
 * Fault injection on the channels, property-based: a real HTTP server on 127.0.0.1 stands in for
 * Slack and answers 200, 429, 500, 503, never (timeout) or resets the connection, in any order;
 * SNS throttles or fails through aws-sdk-client-mock. Every alert is accepted once, except the
 * documented ambiguous case (a post that got no answer is never repeated, so it may be lost).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mockClient } from "aws-sdk-client-mock";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { slackChannel } from "../../lib/notify/slack";
import { snsChannel } from "../../lib/notify/sns";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../fixtures/index";
import { startFakeSlack, type FakeSlack, type Reply } from "../helpers/fake-slack";
import { harness } from "../lambdas/handler/harness";

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});

const REPLIES: Record<string, Reply> = {
  ok: { status: 200, body: "ok" },
  "429": { status: 429, body: "rate_limited", headers: { "retry-after": "1" } },
  "500": { status: 500, body: "internal_error" },
  "503": { status: 503, body: "service unavailable" },
  timeout: { status: 0, hang: true },
  reset: { status: 0, reset: true },
};
const AMBIGUOUS = new Set(["timeout", "reset"]);

/** Delivers one record until SQS would stop (deleted, or 10 receives), like the event source mapping. */
async function deliverUntilDone(handler: ReturnType<typeof harness>["handler"], body: unknown): Promise<number> {
  const record = sqsRecord(body);
  for (let receive = 1; receive <= 10; receive++) {
    if ((await handler(sqsEvent(record))).batchItemFailures.length === 0) return receive;
  }
  return 11;
}

describe("fault injection: Slack 429/500/timeouts/resets and SNS throttling", () => {
  it("Slack: at most one accepted post per alert; exactly one unless a post went unanswered first", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...Object.keys(REPLIES)), { maxLength: 6 }), fc.constantFrom("sfn-failed", "sfn-timed-out", "task-retrying"), async (script, fixture) => {
        // A server per run: a post abandoned by an earlier run must not take this run's replies.
        await slack.close();
        slack = await startFakeSlack();
        slack.replies.push(...script.map((r) => REPLIES[r]!));
        const h = harness({ channels: [slackChannel({ webhookUrl: slack.url, sleep: async () => {}, timeoutSeconds: 0.2 })] });
        try {
          const receives = await deliverUntilDone(h.handler, eventBridgeEvent(fixture as any));
          expect(receives).toBeLessThanOrEqual(10);
          const answered = slack.requests.map((r) => r.status);
          const accepted = answered.filter((s) => s >= 200 && s < 300).length;
          expect(accepted).toBeLessThanOrEqual(1);
          const firstAmbiguous = script.findIndex((r) => AMBIGUOUS.has(r));
          const firstOk = script.findIndex((r) => r === "ok");
          if (firstAmbiguous === -1 || (firstOk !== -1 && firstOk < firstAmbiguous)) expect(accepted).toBe(1);
          // After an unanswered post, nothing is posted again for that alert.
          if (firstAmbiguous !== -1 && (firstOk === -1 || firstAmbiguous < firstOk)) expect(slack.requests).toHaveLength(firstAmbiguous + 1);
        } finally {
          h.sfnMock.restore();
        }
      }),
      // Bounded: a timeout reply costs its 0.2 s; 15 runs keep this under two seconds.
      { numRuns: 15 },
    );
  });

  it("SNS throttling and 5xx: the alert is published once, and a Slack channel beside it is not posted twice", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("ThrottlingException", "InternalErrorException", "KMSThrottlingException"), { maxLength: 4 }), async (errors) => {
        slack.requests.length = 0;
        slack.replies.length = 0;
        const sns = mockClient(SNSClient);
        const published: unknown[] = [];
        let call = 0;
        sns.on(PublishCommand).callsFake((input) => {
          const error = errors[call++];
          if (error) throw Object.assign(new Error(`${error}: Rate exceeded`), { name: error, $retryable: { throttling: true } });
          published.push(input);
          return { MessageId: String(call) };
        });
        const h = harness({
          channels: [
            snsChannel({ topicArn: "arn:aws:sns:us-east-1:123456789012:orders-alerts", client: new SNSClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }) }),
            slackChannel({ webhookUrl: slack.url, sleep: async () => {} }),
          ],
        });
        try {
          const receives = await deliverUntilDone(h.handler, eventBridgeEvent("sfn-failed"));
          expect(receives).toBe(errors.length + 1);
          expect(published).toHaveLength(1);
          expect(slack.accepted()).toHaveLength(1);
        } finally {
          sns.restore();
          h.sfnMock.restore();
        }
      }),
      { numRuns: 15 },
    );
  });
});
