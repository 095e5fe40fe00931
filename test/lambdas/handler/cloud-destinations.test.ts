/**
 * The handler Lambda's built-in cloud-native destinations (issue 26): with the variables the
 * construct sets for `alerts.chatbot` and `alerts.eventBus`, a failed execution is published as an
 * Amazon Q Developer notification and put as a "Flowhooks Alert" event (real SDK clients behind
 * aws-sdk-client-mock).
 */
import { afterEach, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { Flow, task } from "../../../lib/index";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { InMemoryDocumentStore } from "../../../lib/aws/documents";
import { createLogger } from "../../../lib/aws/logger";
import { createEventsHandler } from "../../../lambdas/handler/index";
import { EXECUTION_ARN, eventBridgeEvent, sqsEvent, sqsRecord, STATE_MACHINE_ARN } from "../../fixtures/index";
import { recordingQueue } from "./harness";

const CHAT_TOPIC = "arn:aws:sns:us-east-1:123456789012:orders-chat";
const BUS = "arn:aws:events:us-east-1:123456789012:event-bus/orders-alerts";
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
afterEach(() => {
  for (const m of [sfn, sns, eventBridge]) m.reset();
});

it("a failed execution goes to the chat topic as a custom notification and to the alert bus as one event", async () => {
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
  sfn.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as never);
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
  const flow = new Flow({ name: "orders", tasks: [task({ name: "load" }, async function load() {})] });
  const handler = createEventsHandler(flow, {
    env: {
      AWS_LAMBDA_FUNCTION_NAME: "orders-handler",
      AWS_REGION: "us-east-1",
      FLOWHOOKS_DEDUPE_TABLE: "orders-transitions",
      FLOWHOOKS_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
      FLOWHOOKS_CHATBOT_TOPIC_ARN: CHAT_TOPIC,
      FLOWHOOKS_ALERT_EVENT_BUS: BUS,
    },
    store: new InMemoryTransitionStore(),
    documents: new InMemoryDocumentStore(),
    queue: recordingQueue(),
    sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    logger: createLogger({ writer: () => {} }),
  });
  expect((await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))))).batchItemFailures).toEqual([]);

  const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
  expect(published).toHaveLength(1);
  expect(published[0]!.TopicArn).toBe(CHAT_TOPIC);
  expect(JSON.parse(published[0]!.Message!)).toMatchObject({ version: "1.0", source: "custom", metadata: { threadId: EXECUTION_ARN } });
  const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({ EventBusName: BUS, Source: "flowhooks", DetailType: "Flowhooks Alert" });
  expect(JSON.parse(entries[0]!.Detail!)).toMatchObject({ schemaVersion: "1", flow: "orders", executionId: EXECUTION_ARN, newState: "Failed" });
});
