/**
 * The SNS adapter: one client per region per process (its SDK module loaded and the client created on the first publish),
 * and `Publish` with the SDK's own retry. The SDK reads `AWS_ENDPOINT_URL_SNS` itself, which is how
 * the emulator and tests point it at 127.0.0.1.
 */
import type { MessageAttributeValue, SNSClient } from "@aws-sdk/client-sns";
import { loadSns } from "./sdk";
import { maskSecrets } from "../core/mask";

/** What `publish` needs; a client from tests (or aws-sdk-client-mock) fits. */
export type SnsSender = Pick<SNSClient, "send">;

const clients = new Map<string, SNSClient>();

/** The region of a topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`), or undefined when it has none. */
export function topicRegion(topicArn: string): string | undefined {
  const parts = topicArn.split(":");
  return parts[0] === "arn" && parts[2] === "sns" && parts[3] ? parts[3] : undefined;
}

/**
 * The process-wide client for a topic. The region comes from the environment when set, else from
 * the topic ARN, so publishing works from a local run without AWS_REGION.
 */
export async function snsClientFor(topicArn: string): Promise<SNSClient> {
  const { SNSClient } = await loadSns();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? topicRegion(topicArn) ?? "";
  let client = clients.get(region);
  if (!client) {
    client = new SNSClient(region ? { region } : {});
    clients.set(region, client);
  }
  return client;
}

export interface PublishInput {
  topicArn: string;
  subject: string;
  message: string;
  /** String attributes subscribers can filter on. */
  attributes: Record<string, string>;
}

/** Publishes one message; resolves to the SNS message id. */
export async function publish(input: PublishInput, client?: SnsSender): Promise<string | undefined> {
  const { PublishCommand } = await loadSns();
  const sender = client ?? (await snsClientFor(input.topicArn));
  const MessageAttributes: Record<string, MessageAttributeValue> = {};
  for (const [key, value] of Object.entries(input.attributes)) {
    MessageAttributes[key] = { DataType: "String", StringValue: value };
  }
  const out = await sender.send(
    new PublishCommand({
      TopicArn: input.topicArn,
      // The last step before SNS: whatever built the text, no value read through secrets.get leaves unmasked.
      Subject: maskSecrets(input.subject),
      Message: maskSecrets(input.message),
      MessageAttributes,
    }),
  );
  return out.MessageId;
}
