/**
 * Fault injection on the cloud-native channels through the handler Lambda (issue 26): EventBridge
 * throttles, fails, or answers 200 with a failed entry, and the chat topic's SNS throttles, in any
 * order (aws-sdk-client-mock). Each alert is delivered exactly once, after as many receives as faults;
 * an error never carries a secret value.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mockClient } from "aws-sdk-client-mock";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { forgetSecretValues, registerSecretValue } from "../../lib/core/mask";
import { chatbotChannel } from "../../lib/notify/chatbot";
import { eventBridgeChannel } from "../../lib/notify/eventbridge";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../fixtures/index";
import { harness } from "../lambdas/handler/harness";

const credentials = { accessKeyId: "t", secretAccessKey: "t" };
const SECRET = "tok_secret_9f3b21aa";

async function deliverUntilDone(handler: ReturnType<typeof harness>["handler"], body: unknown): Promise<number> {
  const record = sqsRecord(body);
  for (let receive = 1; receive <= 10; receive++) {
    if ((await handler(sqsEvent(record))).batchItemFailures.length === 0) return receive;
  }
  return 11;
}

type Fault = "ThrottlingException" | "InternalException" | "failed-entry";

describe("fault injection: EventBridge and the chat topic", () => {
  it("EventBridge errors and failed entries: the alert event is accepted exactly once, no error shows a secret", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Fault>("ThrottlingException", "InternalException", "failed-entry"), { maxLength: 4 }), async (faults) => {
        forgetSecretValues();
        registerSecretValue(SECRET);
        const eventBridge = mockClient(EventBridgeClient);
        const accepted: unknown[] = [];
        let call = 0;
        eventBridge.on(PutEventsCommand).callsFake((input) => {
          const fault = faults[call++];
          if (fault === "failed-entry") return { FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: `retry ${SECRET}` }] };
          if (fault) throw Object.assign(new Error(`${fault} near ${SECRET}`), { name: fault, $retryable: { throttling: true } });
          accepted.push(input);
          return { FailedEntryCount: 0, Entries: [{ EventId: String(call) }] };
        });
        const h = harness({ channels: [eventBridgeChannel({ eventBusName: "alerts", client: new EventBridgeClient({ region: "us-east-1", credentials, maxAttempts: 1 }) })] });
        try {
          const receives = await deliverUntilDone(h.handler, eventBridgeEvent("sfn-failed"));
          expect(receives).toBe(faults.length + 1);
          expect(accepted).toHaveLength(1);
          expect(JSON.stringify(h.logs)).not.toContain(SECRET);
        } finally {
          eventBridge.restore();
          h.sfnMock.restore();
        }
      }),
      { numRuns: 15 },
    );
  });

  it("chat topic throttling: the notification is published exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("ThrottlingException", "InternalErrorException", "KMSThrottlingException"), { maxLength: 4 }), async (errors) => {
        const sns = mockClient(SNSClient);
        const published: unknown[] = [];
        let call = 0;
        sns.on(PublishCommand).callsFake((input) => {
          const error = errors[call++];
          if (error) throw Object.assign(new Error(`${error}: Rate exceeded`), { name: error, $retryable: { throttling: true } });
          published.push(input);
          return { MessageId: String(call) };
        });
        const h = harness({ channels: [chatbotChannel({ topicArn: "arn:aws:sns:us-east-1:123456789012:chat", client: new SNSClient({ region: "us-east-1", credentials, maxAttempts: 1 }) })] });
        try {
          expect(await deliverUntilDone(h.handler, eventBridgeEvent("sfn-failed"))).toBe(errors.length + 1);
          expect(published).toHaveLength(1);
        } finally {
          sns.restore();
          h.sfnMock.restore();
        }
      }),
      { numRuns: 15 },
    );
  });
});
