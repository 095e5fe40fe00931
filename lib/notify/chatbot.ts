/**
 * Amazon Q Developer in chat applications (formerly AWS Chatbot): alerts published to the SNS topic
 * a chat channel is configured with, in the service's custom notification format, so Slack or
 * Microsoft Teams shows a card with no webhook secret to manage. `metadata.threadId` is the
 * execution, so each run is one thread. Schema:
 * https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
 */
import { NotificationError } from "../core/errors";
import { maskSecrets, maskThenCut } from "../core/mask";
import type { StateHandler } from "../core/handlers";
import { awsAdapters, isFifoTopic, type SnsSender } from "./ports";
import type { Alert, AlertChannel } from "./alert";
import { alertTitle, formatAlert, LIMITS, snsSubject, truncate } from "./format";
import { channelNotifier, checkNotifierOptions, type ChannelNotifierOptions } from "./notifier";

export interface ChatbotChannelOptions {
  /** The ARN of the SNS topic the chat channel's configuration subscribes to (a standard topic, not FIFO). */
  topicArn: string;
  /** For tests: the SNS client. @default - one client per region per process */
  client?: SnsSender;
}

export type ChatbotNotifierOptions = ChatbotChannelOptions & ChannelNotifierOptions;

/** The custom notification Amazon Q Developer renders (the fields flowhooks sets). */
export interface ChatbotNotification {
  version: "1.0";
  source: "custom";
  id: string;
  content: { textType: "client-markdown"; title: string; description: string; nextSteps: string[]; keywords: string[] };
  metadata: {
    threadId: string;
    summary: string;
    eventType: string;
    relatedResources: string[];
    additionalContext: Record<string, string>;
  };
}

/**
 * flowhooks' bounds on a card. AWS publishes no length limits for custom notifications (the schema
 * page lists none, and "Amazon Q Developer doesn't currently support quotas": AWS General Reference,
 * "Amazon Q Developer in chat applications endpoints and quotas"), so each field is cut to what the
 * chat clients render: Slack's header (150) and section text (3,000) limits; the SNS subject limit
 * for the summary; short keywords and context values. The whole card stays far inside SNS's 256 KiB.
 */
export const CHATBOT_LIMITS = {
  titleChars: LIMITS.slackHeaderText,
  descriptionChars: LIMITS.slackSectionText,
  nextStepChars: 1_000,
  keywordChars: 100,
  contextValueChars: 256,
  idChars: 512,
  /** The published SNS message (the card as JSON), in bytes: SNS's limit less room for the subject. */
  messageBytes: LIMITS.snsMessageBytes - 1_024,
} as const;

/** The description's bound (`CHATBOT_LIMITS.descriptionChars`). */
export const CHATBOT_DESCRIPTION_CHARS = CHATBOT_LIMITS.descriptionChars;

/** `text` masked, then cut to `maxChars` with the marker: the cut never leaves part of a secret. */
const fit = (text: string, maxChars: number) => maskThenCut(text, (masked) => truncate(masked, maxChars));

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** The alert as an Amazon Q Developer custom notification. */
export function formatChatbotNotification(alert: Alert): ChatbotNotification {
  const f = formatAlert(alert);
  const facts = [
    `*Flow* ${alert.flow}`,
    ...(alert.task !== undefined ? [`*Task* ${alert.task}`] : []),
    `*State* ${f.state} (was ${f.oldState})`,
    ...(f.attempt !== undefined && (f.maxAttempts ?? 1) > 1 ? [`*Attempt* ${f.attempt} of ${f.maxAttempts}`] : []),
    ...(f.nextAttemptAt ? [`*Next attempt* ${f.nextAttemptAt}`] : []),
    ...(f.failedTasks ? [`*Failed tasks* ${f.failedTasks.join(", ")}`] : []),
  ];
  const description = (cause: string | undefined) => {
    const parts = [maskSecrets(facts.join("\n"))];
    if (f.message) parts.push(f.message);
    if (f.error) parts.push(`*${f.error.name}*\n\`\`\`\n${cause}\n\`\`\``);
    if (f.observedAfterTheFact) parts.push("_Reconstructed from the execution history._");
    return parts.join("\n\n");
  };
  const full = description(f.error?.cause);
  // A long error is cut inside its code block, so the block still closes; the whole text is cut only as a last resort.
  const causeRoom = f.error ? CHATBOT_LIMITS.descriptionChars - (full.length - f.error.cause.length) : 0;
  const text = full.length <= CHATBOT_LIMITS.descriptionChars || !f.error || causeRoom < 200 ? full : description(truncate(f.error.cause, causeRoom));
  const nextSteps = [
    // A bare URL: Slack and Teams both link it, whatever markdown flavour each renders.
    ...(f.consoleUrl ? [`Open the execution in the Step Functions console: ${f.consoleUrl}`] : []),
    ...(f.error ? [`Fix the cause of the ${f.error.name} and redrive or restart the execution.`] : []),
  ];
  const threadId = fit(alert.executionId ?? `${alert.flow}:local`, CHATBOT_LIMITS.idChars);
  const L = CHATBOT_LIMITS;
  return {
    version: "1.0",
    source: "custom",
    // One id per transition: the same alert delivered twice is the same notification.
    id: fit(`${threadId}:${alert.task ?? "flow"}:${f.state}:${f.attempt ?? 0}:${f.at}`, L.idChars),
    content: {
      textType: "client-markdown",
      title: fit(`${stateEmoji(f.state)} ${f.title}`, L.titleChars),
      description: fit(text, L.descriptionChars),
      nextSteps: nextSteps.map((step) => fit(step, L.nextStepChars)),
      keywords: [f.state, alert.flow, ...(alert.task !== undefined ? [alert.task] : [])].map((k) => fit(k, L.keywordChars)),
    },
    metadata: {
      threadId,
      summary: snsSubject(f.title),
      eventType: "FlowhooksAlert",
      relatedResources: alert.executionId?.startsWith("arn:") ? [threadId] : [],
      additionalContext: Object.fromEntries(
        Object.entries({ flow: alert.flow, ...(alert.task !== undefined ? { task: alert.task } : {}), state: f.state }).map(([k, v]) => [k, fit(v, L.contextValueChars)]),
      ),
    },
  };
}

function stateEmoji(state: string): string {
  if (state === "Retrying") return ":repeat:";
  if (state === "Success") return ":white_check_mark:";
  return state === "Skipped" ? ":fast_forward:" : ":x:";
}

/** Refuses a topic Amazon Q Developer cannot read: not an SNS topic ARN, or a FIFO topic. */
export function chatbotTopicProblem(topicArn: unknown): string | undefined {
  if (typeof topicArn !== "string" || !TOPIC_ARN.test(topicArn.trim())) {
    return `\`topicArn\` ${JSON.stringify(topicArn)} is not an SNS topic ARN; pass the topic your chat channel's configuration subscribes to (arn:aws:sns:REGION:ACCOUNT:NAME).`;
  }
  if (isFifoTopic(topicArn.trim())) {
    return `the topic ${topicArn} is a FIFO topic, which Amazon Q Developer in chat applications does not subscribe to; use a standard topic.`;
  }
  return undefined;
}

/** A channel that publishes alerts as Amazon Q Developer custom notifications. */
export function chatbotChannel(options: ChatbotChannelOptions): AlertChannel {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`chatbotChannel(options) takes an object such as { topicArn: "arn:aws:sns:eu-west-1:123456789012:chat-alerts" }.`);
  }
  const problem = chatbotTopicProblem(options.topicArn);
  if (problem) throw new TypeError(`chatbotNotifier: ${problem}`);
  const topicArn = options.topicArn.trim();
  return {
    name: "chatbot",
    destination: topicArn,
    async send(alert: Alert): Promise<void> {
      const notification = formatChatbotNotification(alert);
      try {
        await awsAdapters().publish({ topicArn, subject: notification.metadata.summary, message: JSON.stringify(notification), attributes: {} }, options.client);
      } catch (error) {
        const code = error instanceof Error ? error.name : "Error";
        const hint = code.includes("AuthorizationError") || code.includes("AccessDenied") ? " Grant sns:Publish on the topic to this function's role." : "";
        throw new NotificationError(
          maskSecrets(`SNS did not accept the chat notification "${alertTitle(alert)}" for ${topicArn} (${code}: ${error instanceof Error ? error.message : String(error)}).${hint}`),
        );
      }
    },
  };
}

/**
 * A state handler that posts an Amazon Q Developer chat notification for every finished or retrying
 * state (or the states `onlyStates`/`ignoreStates` select). A FIFO topic is refused now.
 */
export function chatbotNotifier(options: ChatbotNotifierOptions): StateHandler {
  checkNotifierOptions(options, "chatbotNotifier");
  return channelNotifier(chatbotChannel(options), options, "chatbotNotifier");
}
