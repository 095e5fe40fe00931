/**
 * The handler's own queue, seen from the handler: schedule a record for later (a digest's flush)
 * and defer a record it was given (a rate-limited destination) without waiting inside the
 * invocation. SQS in Lambda; the emulator passes its own queue.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { AlertQueue } from "../notify/ports";
import { loadSqs } from "./sdk";

export type { AlertQueue } from "../notify/ports";

/** SQS's limits: DelaySeconds ≤ 900, a visibility timeout ≤ 12 hours. */
export const MAX_DELAY_SECONDS = 900;
export const MAX_VISIBILITY_SECONDS = 12 * 3600;
/**
 * The longest one deferral asks for. SQS rejects a ChangeMessageVisibility that would keep a message
 * in flight beyond 12 hours in all (API reference, ChangeMessageVisibility), and the record was received
 * before this call: up to Lambda's 300 s batching window plus a 900 s invocation earlier.
 */
export const MAX_DEFER_SECONDS = MAX_VISIBILITY_SECONDS - 300 - 900;

/** `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` from the queue's ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`). */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(":");
  const suffix = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${region}.${suffix}/${account}/${name}`;
}

let defaultClient: SQSClient | undefined;

/** The handler's queue in AWS. `queueUrl` is where `send` goes (records name their own queue for `defer`). */
export function sqsAlertQueue(queueUrl: string | undefined, client?: Pick<SQSClient, "send">): AlertQueue {
  const sdk = async () => {
    const mod = await loadSqs();
    return { mod, client: client ?? (defaultClient ??= new mod.SQSClient({})) };
  };
  return {
    async send(body, delaySeconds) {
      if (!queueUrl) {
        throw new Error("FLOWHOOKS_EVENTS_QUEUE_URL is not set, so a digest flush cannot be scheduled; the FlowStateMachine construct sets it — redeploy the stack.");
      }
      const { mod, client: c } = await sdk();
      await c.send(new mod.SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: clamp(delaySeconds, MAX_DELAY_SECONDS) }));
    },
    async defer(record, seconds) {
      const { mod, client: c } = await sdk();
      await c.send(
        new mod.ChangeMessageVisibilityCommand({
          QueueUrl: queueUrlFromArn(record.eventSourceARN),
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: clamp(seconds, MAX_DEFER_SECONDS),
        }),
      );
    },
  };
}

function clamp(seconds: number, max: number): number {
  return Math.min(max, Math.max(0, Math.ceil(seconds)));
}
