/**
 * The SNS adapter: one client per region per process (its SDK module loaded and the client created
 * on the first publish), and `Publish` with the SDK's own retry. A topic is published to in its own
 * region (from its ARN), so a topic imported from another region works. The SDK reads
 * `AWS_ENDPOINT_URL_SNS` itself, which is how the emulator and tests point it at 127.0.0.1.
 */
import { createHash } from "node:crypto";
import type { MessageAttributeValue, SNSClient } from "@aws-sdk/client-sns";
import { loadSns } from "./sdk";
import { maskSecrets } from "../core/mask";
import { isFifoTopic, type PublishInput, type SnsSender } from "../notify/ports";

export { isFifoTopic, type PublishInput, type SnsSender } from "../notify/ports";

const clients = new Map<string, SNSClient>();

/** The region of a topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`), or undefined when it has none. */
export function topicRegion(topicArn: string): string | undefined {
  const parts = topicArn.split(":");
  return parts[0] === "arn" && parts[2] === "sns" && parts[3] ? parts[3] : undefined;
}

/**
 * The process-wide client for a topic's region: the region in its ARN (SNS accepts a publish only
 * in the topic's own region), else the environment's.
 */
export async function snsClientFor(topicArn: string): Promise<SNSClient> {
  const { SNSClient } = await loadSns();
  const region = topicRegion(topicArn) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "";
  let client = clients.get(region);
  if (!client) {
    client = new SNSClient(region ? { region } : {});
    clients.set(region, client);
  }
  return client;
}

/** SNS FIFO ids are at most 128 characters; longer ones (an execution ARN can be) become their hash. */
const MAX_FIFO_ID_CHARS = 128;
const fifoId = (value: string) => (value.length <= MAX_FIFO_ID_CHARS ? value : createHash("sha256").update(value).digest("hex"));

/** The ids a FIFO topic needs: the execution as the group (its alerts stay in order), the alert itself as the deduplication id. */
function fifoIds(input: PublishInput): { MessageGroupId: string; MessageDeduplicationId: string } {
  let executionId: unknown;
  try {
    const parsed = JSON.parse(input.message) as { executionId?: unknown; default?: unknown };
    const body = input.messageStructure === "json" && typeof parsed.default === "string" ? (JSON.parse(parsed.default) as { executionId?: unknown }) : parsed;
    executionId = body.executionId;
  } catch {
    executionId = undefined;
  }
  const group = input.messageGroupId ?? (typeof executionId === "string" && executionId !== "" ? executionId : (input.attributes.flow ?? "flowhooks"));
  const dedup = input.deduplicationId ?? createHash("sha256").update(input.subject).update("\0").update(input.message).digest("hex");
  return { MessageGroupId: fifoId(group), MessageDeduplicationId: fifoId(dedup) };
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
      Message: input.messageStructure === "json" ? maskBodies(input.message) : maskSecrets(input.message),
      ...(input.messageStructure ? { MessageStructure: input.messageStructure } : {}),
      MessageAttributes,
      ...(isFifoTopic(input.topicArn) ? fifoIds(input) : {}),
    }),
  );
  return out.MessageId;
}

/**
 * Masks each body of a `MessageStructure: "json"` message on its own: a secret inside `default`
 * (JSON escaped twice there) is found in the body's text, not in the envelope's escaping.
 */
function maskBodies(message: string): string {
  let bodies: unknown;
  try {
    bodies = JSON.parse(message);
  } catch {
    bodies = undefined;
  }
  if (typeof bodies !== "object" || bodies === null || Array.isArray(bodies) || typeof (bodies as { default?: unknown }).default !== "string") {
    throw new TypeError('publish: with messageStructure "json", `message` must be a JSON object with a string `default` body (SNS requires it).');
  }
  return JSON.stringify(Object.fromEntries(Object.entries(bodies).map(([protocol, body]) => [protocol, maskSecrets(String(body))])));
}
