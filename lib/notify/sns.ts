/**
 * SNS: alerts published to a topic with the AWS SDK (its own retry), as a short subject, a body per
 * protocol (`MessageStructure: "json"`: the alert as JSON for programs, readable text for e-mail, a
 * short SMS), and the attributes `flow`, `task` and `state` for subscription filter policies.
 */
import { NotificationError } from "../core/errors";
import { maskSecrets } from "../core/mask";
import type { StateHandler } from "../core/handlers";
import { awsAdapters, defaultSecrets, isFifoTopic, type Notice, type NoticeTaker, type Secrets, type SnsSender } from "./ports";
import type { Alert, AlertChannel } from "./alert";
import { alertTitle, formatSnsMessage, formatSnsNotice } from "./format";
import { channelNotifier, checkNotifierOptions, type ChannelNotifierOptions, type SecretFallbackOptions } from "./notifier";

export interface SnsChannelOptions {
  /** The topic's ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`). @default - the value of the secret `topicArnSecret` */
  topicArn?: string;
  /**
   * The secret that holds the topic ARN (`secrets.get` name). `flow.run()` and the emulator check it
   * before the run starts; deployed, the FlowStateMachine's `secrets` must give it (synth warns otherwise).
   * @default - none; one of topicArn/topicArnSecret is required
   */
  topicArnSecret?: string;
  /** For tests: the SNS client. @default - one client per region per process */
  client?: SnsSender;
  /** For tests: where `topicArnSecret` is read from. @default secrets */
  secrets?: Pick<Secrets, "get">;
}

export type SnsNotifierOptions = SnsChannelOptions & ChannelNotifierOptions & SecretFallbackOptions;

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** A channel that publishes alerts to an SNS topic. */
export function snsChannel(options: SnsChannelOptions): AlertChannel {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`snsChannel(options) takes an object such as { topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts" }.`);
  }
  const { topicArn, topicArnSecret } = options;
  if (topicArn === undefined && topicArnSecret === undefined) {
    throw new TypeError(
      "snsChannel: give `topicArn` (arn:aws:sns:REGION:ACCOUNT:NAME) or `topicArnSecret` (the name of a secret holding it).",
    );
  }
  if (topicArn !== undefined && (typeof topicArn !== "string" || !TOPIC_ARN.test(topicArn.trim()))) {
    throw new TypeError(
      `snsChannel: \`topicArn\` ${topicArn === "" ? "is empty" : `${JSON.stringify(topicArn)} is not an SNS topic ARN`}; ` +
        "pass one like arn:aws:sns:eu-west-1:123456789012:alerts (the FlowStateMachine's alertTopic.topicArn).",
    );
  }
  if (topicArnSecret !== undefined && (typeof topicArnSecret !== "string" || topicArnSecret.trim() === "")) {
    throw new TypeError("snsChannel: `topicArnSecret` must be a secret name such as \"ALERT_TOPIC_ARN\".");
  }
  const secretStore = options.secrets ?? defaultSecrets;

  async function resolveTopic(): Promise<string> {
    if (topicArn !== undefined) return topicArn.trim();
    const value = (await secretStore.get(topicArnSecret!)).trim();
    if (!TOPIC_ARN.test(value)) {
      throw new NotificationError(
        `The secret "${topicArnSecret}" does not hold an SNS topic ARN; store one like arn:aws:sns:eu-west-1:123456789012:alerts.`,
      );
    }
    return value;
  }

  const channel: AlertChannel & Partial<NoticeTaker> = {
    name: "sns",
    ...(topicArn === undefined ? { secret: topicArnSecret } : { destination: topicArn.trim() }),
    async preflight(): Promise<void> {
      await resolveTopic();
    },
    async send(alert: Alert): Promise<void> {
      const arn = await resolveTopic();
      const { subject, message, messageStructure, attributes } = formatSnsMessage(alert);
      try {
        await awsAdapters().publish({ topicArn: arn, subject, message, messageStructure, attributes }, options.client);
      } catch (error) {
        const code = error instanceof Error ? error.name : "Error";
        // A topic ARN read from a secret is treated as a secret value too.
        const shown = topicArn !== undefined ? arn : `the topic in secret "${topicArnSecret}"`;
        const detail = (error instanceof Error ? error.message : String(error)).replaceAll(arn, shown);
        const hint = code.includes("AuthorizationError") || code.includes("AccessDenied")
          ? " Grant sns:Publish on the topic to this function's role."
          : code === "NotFoundException" || code === "NotFound"
            ? " The topic does not exist; check the ARN."
            : "";
        throw new NotificationError(maskSecrets(`SNS did not accept the alert "${alertTitle(alert)}" for ${shown} (${code}: ${detail}).${hint}`));
      }
    },
  };
  // A standard topic hears the dead-letter alarm from CloudWatch itself; a FIFO one cannot (see `NoticeTaker`, lib/notify/ports.ts).
  if (topicArn !== undefined && isFifoTopic(topicArn.trim())) channel.notice = (notice) => publishNotice(topicArn.trim(), notice, options.client);
  return channel;
}

/** Publishes a notice in one message group, so notices keep their order on the FIFO topic. */
async function publishNotice(topicArn: string, notice: Notice, client: SnsSender | undefined): Promise<void> {
  try {
    await awsAdapters().publish({ topicArn, ...formatSnsNotice(notice), attributes: { kind: "notice" }, messageGroupId: "flowhooks-notices" }, client);
  } catch (error) {
    const code = error instanceof Error ? error.name : "Error";
    throw new NotificationError(maskSecrets(`SNS did not accept the notice "${notice.title}" for ${topicArn} (${code}: ${error instanceof Error ? error.message : String(error)}).`));
  }
}

/**
 * A state handler that publishes an alert to SNS for every finished or retrying state (or the states
 * `onlyStates`/`ignoreStates` select). Options are checked now, not when the first alert is due.
 */
export function snsNotifier(options: SnsNotifierOptions): StateHandler {
  checkNotifierOptions(options, "snsNotifier");
  return channelNotifier(snsChannel(options), options, "snsNotifier");
}
