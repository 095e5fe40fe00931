/**
 * What lib/notify needs from the layer above it (lib/aws), as interfaces: the handler's queue, the
 * notices about alerting itself, a secrets reader, SNS Publish and EventBridge PutEvents. Imports
 * point down (DESIGN.md "Layers"), so lib/notify never imports lib/aws: lib/aws implements these
 * and, when `lib/aws/index.ts` loads, hands its adapters to `provideAwsAdapters`. `flowhooks`
 * (lib/index.ts) and both Lambda entries load it, so `secrets.get`, `snsNotifier()` and
 * `eventBridgeNotifier()` use the AWS SDK with no code from the user, locally and in Lambda.
 */
import type { PutEventsCommandOutput, PutEventsRequestEntry, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SNSClient } from "@aws-sdk/client-sns";

/** A message to people that is about the alerting itself, not about one execution. */
export interface Notice {
  title: string;
  /** Plain text: what happened and what to do. */
  text: string;
  at: Date;
}

/**
 * A channel the handler gives notices about the alerting itself (the dead-letter alarm) to: the
 * digest channels (Slack), and an SNS channel of a FIFO topic, since a CloudWatch alarm action
 * publishes without the message group id SNS requires of FIFO publishes.
 */
export interface NoticeTaker {
  notice(notice: Notice): Promise<void>;
}

export function takesNotices<C>(channel: C): channel is C & NoticeTaker {
  return typeof (channel as Partial<NoticeTaker>).notice === "function";
}

/**
 * The handler's own queue, seen from the handler: schedule a record for later (a digest's flush)
 * and defer a record it was given (a rate-limited destination) without waiting inside the
 * invocation. SQS in Lambda (lib/aws/queue.ts); the emulator passes its own queue.
 */
export interface AlertQueue {
  /** Adds a record (body as the handler reads it) that is delivered after `delaySeconds`. */
  send(body: string, delaySeconds: number): Promise<void>;
  /** Makes a received record visible again after `seconds` (its receive count still counts). */
  defer(record: { receiptHandle: string; eventSourceARN: string }, seconds: number): Promise<void>;
}

/** Reads secrets by name: `secrets.get("SLACK_WEBHOOK_URL")` (lib/aws/secrets.ts `createSecrets`). */
export interface Secrets {
  /** The secret's value; throws `SecretNotFoundError` naming what to set when it is not configured. */
  get(name: string): Promise<string>;
  /** Forgets cached values (the next `get` fetches again). */
  clear(): void;
}

/** What `publish` needs; a client from tests (or aws-sdk-client-mock) fits. */
export type SnsSender = Pick<SNSClient, "send">;

export interface PublishInput {
  topicArn: string;
  subject: string;
  message: string;
  /**
   * "json": `message` is a JSON object with a body per protocol (`default` required: SQS, Lambda,
   * HTTPS; `email`, `sms`, …), each masked on its own. @default - one body for every protocol
   */
  messageStructure?: "json";
  /** String attributes subscribers can filter on. */
  attributes: Record<string, string>;
  /** A FIFO topic's message group (alerts of one group arrive in order). @default - the message's `executionId`, else its `flow` attribute */
  messageGroupId?: string;
  /** A FIFO topic's deduplication id. @default - a hash of the subject and message: the same alert twice is delivered once */
  deduplicationId?: string;
}

/** A FIFO topic (its name ends in `.fifo`): every publish needs a message group id and a deduplication id. */
export function isFifoTopic(topicArn: string): boolean {
  return topicArn.endsWith(".fifo");
}

/** What `putEvents` needs; a client from tests fits. */
export type EventsSender = Pick<EventBridgeClient, "send">;

/** The AWS calls the built-in notifiers make, implemented in lib/aws. */
export interface AwsAdapters {
  /** The process-wide secrets reader (the environment locally, Secrets Manager or SSM in Lambda). */
  secrets: Secrets;
  /** SNS `Publish`, masked, in the topic's region; resolves to the message id (lib/aws/sns.ts). */
  publish(input: PublishInput, client?: SnsSender): Promise<string | undefined>;
  /** EventBridge `PutEvents` of `entries`, with a client for `region` unless one is given (lib/aws/event-bus.ts). */
  putEvents(entries: PutEventsRequestEntry[], region: string | undefined, client?: EventsSender): Promise<Pick<PutEventsCommandOutput, "FailedEntryCount" | "Entries">>;
}

let provided: AwsAdapters | undefined;

/** Called once by lib/aws/index.ts when it loads. */
export function provideAwsAdapters(adapters: AwsAdapters): void {
  provided = adapters;
}

/** The adapters lib/aws provided; throws naming the fix when nothing loaded it. */
export function awsAdapters(): AwsAdapters {
  if (!provided) {
    throw new Error(
      'flowhooks: the AWS adapters are not loaded, so a notifier cannot read secrets or call SNS or EventBridge; import from "flowhooks" (lib/index.ts), or load lib/aws/index.ts, before running notifiers.',
    );
  }
  return provided;
}

/** The default for a notifier's `secrets` option: the provided reader, looked up at each call. */
export const defaultSecrets: Pick<Secrets, "get"> = {
  get: (name) => awsAdapters().secrets.get(name),
};
