/**
 * The handler's queue (lib/aws/queue.ts) against moto's SQS, on a queue configured as FlowAlerts
 * deploys it (visibility 360 s, redrive to a dead-letter queue after 10 receives): delayed sends,
 * deferral by ChangeMessageVisibility (addressed through the record's queue ARN, as Lambda's SQS
 * records give it), and receive counts that keep counting across deferrals.
 */
import { expect, it } from "vitest";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { MAX_VISIBILITY_SECONDS, sqsAlertQueue } from "../../../lib/aws/queue";
import { MAX_RECEIVE_COUNT } from "../../../lib/cdk/flow-alerts";
import { describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

describeMoto("the handler's queue against moto's SQS", () => {
  const moto = useMoto({ executeStateMachines: false });
  const sqs = () => new SQSClient(motoClientConfig(moto.current));

  /** The events queue and its dead-letter queue, with FlowAlerts' visibility timeout and redrive policy. */
  async function eventsQueue(name: string) {
    const client = sqs();
    const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const queue = await client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: "360", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }) },
      }),
    );
    const arn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    return { url: queue.QueueUrl!, arn, dlqUrl: dlq.QueueUrl! };
  }

  async function receive(url: string): Promise<Message[]> {
    const out = await sqs().send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }));
    return out.Messages ?? [];
  }

  /** A received message as the handler Lambda gets it (an SQS event record). */
  const record = (message: Message, arn: string) => ({ receiptHandle: message.ReceiptHandle!, eventSourceARN: arn });

  it("a record sent without delay is received at once; one sent with a delay is not", async () => {
    const { url } = await eventsQueue("send");
    const queue = sqsAlertQueue(url, sqs());
    await queue.send('{"flush":"now"}', 0);
    await queue.send('{"flush":"later"}', 120);
    expect((await receive(url)).map((m) => m.Body)).toEqual(['{"flush":"now"}']);
    const attributes = await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }));
    expect(attributes.Attributes?.ApproximateNumberOfMessagesDelayed).toBe("1");
  });

  it("a delay above SQS's 900 seconds is sent at 900 instead of being refused", async () => {
    const { url } = await eventsQueue("long-delay");
    await sqsAlertQueue(url, sqs()).send('{"flush":"much later"}', 3600);
    const attributes = await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }));
    expect(attributes.Attributes?.ApproximateNumberOfMessagesDelayed).toBe("1");
  });

  it("deferring a received record by 0 seconds hands it out again at once, its receive count grown", async () => {
    const { url, arn } = await eventsQueue("defer-now");
    const queue = sqsAlertQueue(url, sqs());
    await queue.send('{"flush":"busy"}', 0);
    const [first] = await receive(url);
    expect(first?.Attributes?.ApproximateReceiveCount).toBe("1");
    expect(await receive(url)).toEqual([]);
    await queue.defer(record(first!, arn), 0);
    const [second] = await receive(url);
    expect(second?.Body).toBe('{"flush":"busy"}');
    expect(second?.Attributes?.ApproximateReceiveCount).toBe("2");
  });

  it("deferring a received record by minutes keeps it hidden", async () => {
    const { url, arn } = await eventsQueue("defer-later");
    const queue = sqsAlertQueue(url, sqs());
    await queue.send('{"flush":"rate limited"}', 0);
    const [first] = await receive(url);
    await queue.defer(record(first!, arn), 0);
    const [again] = await receive(url);
    await queue.defer(record(again!, arn), 600);
    expect(await receive(url)).toEqual([]);
  });

  it("a deferral of 12 hours or more is accepted (shortened to what SQS allows a received message) and hides the record", async () => {
    const { url, arn } = await eventsQueue("defer-max");
    const queue = sqsAlertQueue(url, sqs());
    await queue.send('{"flush":"tomorrow"}', 0);
    const [message] = await receive(url);
    await queue.defer(record(message!, arn), MAX_VISIBILITY_SECONDS);
    await queue.defer(record(message!, arn), 7 * 24 * 3600);
    expect(await receive(url)).toEqual([]);
  });

  it(`a record deferred at every receive moves to the dead-letter queue after ${MAX_RECEIVE_COUNT} receives, not lost and not forever`, async () => {
    const { url, arn, dlqUrl } = await eventsQueue("dead-letter");
    const queue = sqsAlertQueue(url, sqs());
    await queue.send('{"flush":"never delivered"}', 0);
    const counts: string[] = [];
    for (let i = 0; i < MAX_RECEIVE_COUNT; i++) {
      const [message] = await receive(url);
      counts.push(message!.Attributes!.ApproximateReceiveCount!);
      await queue.defer(record(message!, arn), 0);
    }
    expect(counts).toEqual(Array.from({ length: MAX_RECEIVE_COUNT }, (_, i) => String(i + 1)));
    expect(await receive(url)).toEqual([]);
    expect((await receive(dlqUrl)).map((m) => m.Body)).toEqual(['{"flush":"never delivered"}']);
  });
});
