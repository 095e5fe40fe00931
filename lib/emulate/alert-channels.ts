/**
 * The alert channels of one emulation, as configured for the run: Slack (webhook or app) through the
 * handler Lambda's own grouping code with the emulator's queue and an in-memory table, SNS where an
 * endpoint is set, else the console. Each accepted alert is reported as it is sent.
 */
import type { Clock } from "../core/clock";
import type { Flow } from "../core/flow";
import { State } from "../core/states";
import type { DocumentStore } from "../aws/documents";
import type { AlertQueue } from "../aws/queue";
import type { Alert, AlertChannel } from "../notify/alert";
import { consoleChannel } from "../notify/console";
import { digestChannel, isDigestChannel, type DigestChannel } from "../notify/digest";
import { slackAppTarget } from "../notify/slack-app";
import { slackDigestTarget } from "../notify/slack-digest";
import { snsChannel } from "../notify/sns";
import { chatbotChannel } from "../notify/chatbot";
import { alertEventEntry, eventBridgeChannel } from "../notify/eventbridge";
import type { SynthesizedFlow } from "./synth";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./synth";
import { deployedHandlerOf } from "./handler-lambda";
import { builtInSlackApp, builtInSlackDigests, reportingDelivery, SLACK_APP_CHANNEL } from "./stack-channels";

export interface AlertChannelOptions {
  /** Slack Incoming Webhook. @default - FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL, else no Slack webhook */
  slackWebhookUrl?: string;
  /**
   * A Slack app (one thread per execution), used only where the stack has `alerts.slack` (or is the
   * emulator's own stack around FILE).
   * @default - FLOWHOOKS_SECRET_SLACK_BOT_TOKEN with FLOWHOOKS_SLACK_CHANNEL (else the stack's channel), else none
   */
  slackApp?: { botToken: string; channel: string; apiBaseUrl?: string };
  /** Task alerts within this many seconds go out as one message. @default - the digest's own default */
  windowSeconds?: number;
  /** The fetch Slack requests use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Where console alerts go. @default process.stdout */
  write?: (text: string) => void;
  synthesized: SynthesizedFlow;
  flow: Flow;
  /** The stack is the one the emulator made around FILE (no props of the user's). */
  ownStack: boolean;
  documents: DocumentStore;
  queue: AlertQueue;
  clock: Clock;
  /** Called with each alert a channel accepted. */
  onAlert: (channel: string, alert: Alert) => void;
}

/** The channels the run's options and environment configure, before wrapping. */
function configuredChannels(options: AlertChannelOptions): AlertChannel[] {
  const { documents: store, queue, windowSeconds } = options;
  const now = () => options.clock.now();
  const channels: AlertChannel[] = [];
  const slackUrl = options.slackWebhookUrl ?? process.env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL;
  // The stack's channels only: a webhook given here serves the stack's Slack secrets, it turns on no digests the stack lacks.
  const handlerEnv = deployedHandlerOf(options.synthesized)?.environment ?? {};
  if (slackUrl && builtInSlackDigests({ handlerEnv, ownStack: options.ownStack, flow: options.flow })) {
    const target = slackDigestTarget({ webhookUrl: slackUrl, fetch: options.fetch });
    channels.push(digestChannel({ target, store, queue, windowSeconds, now }));
  }
  const botToken = process.env.FLOWHOOKS_SECRET_SLACK_BOT_TOKEN;
  // Like the webhook: the host's token and `--slack-channel` serve the stack's `alerts.slack`, they add no threads the stack lacks.
  const channel = process.env.FLOWHOOKS_SLACK_CHANNEL || handlerEnv[SLACK_APP_CHANNEL];
  const slackApp =
    options.slackApp ??
    (botToken && channel ? { botToken, channel, apiBaseUrl: process.env.FLOWHOOKS_SLACK_API_URL || undefined } : undefined);
  if (slackApp && builtInSlackApp({ handlerEnv, ownStack: options.ownStack })) {
    const target = slackAppTarget({ ...slackApp, fetch: options.fetch });
    channels.push(digestChannel({ target, store, queue, windowSeconds, now }));
  }
  if (process.env.AWS_ENDPOINT_URL_SNS) {
    channels.push(snsChannel({ topicArn: options.synthesized.alertTopicArn ?? `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:flowhooks-emulator-alerts` }));
  }
  if (channels.length === 0) channels.push(consoleChannel({ write: options.write }));
  channels.push(...cloudNativeChannels(handlerEnv, options.write));
  return channels;
}

/**
 * The stack's Amazon Q Developer topic and alert bus (`alerts.chatbot`, `alerts.eventBus`): to the
 * local endpoints `AWS_ENDPOINT_URL_SNS` / `AWS_ENDPOINT_URL_EVENTBRIDGE` where set, else each alert
 * event printed as the bus would carry it.
 */
function cloudNativeChannels(handlerEnv: Record<string, unknown>, write?: (text: string) => void): AlertChannel[] {
  const channels: AlertChannel[] = [];
  if (handlerEnv.FLOWHOOKS_CHATBOT_TOPIC_ARN !== undefined && process.env.AWS_ENDPOINT_URL_SNS) {
    channels.push(chatbotChannel({ topicArn: `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:flowhooks-emulator-chat` }));
  }
  if (handlerEnv.FLOWHOOKS_ALERT_EVENT_BUS !== undefined) {
    const print = write ?? ((text: string) => void process.stdout.write(`${text}\n`));
    channels.push(
      process.env.AWS_ENDPOINT_URL_EVENTBRIDGE
        ? eventBridgeChannel({ eventBusName: "default" })
        : {
            name: "eventbridge",
            async send(alert: Alert): Promise<void> {
              const entry = alertEventEntry(alert, "default");
              print(`⇢ EventBridge ${entry.Source} "${entry.DetailType}" ${entry.Detail}`);
            },
          },
    );
  }
  return channels;
}

/** The run's channels, each reporting what went out (a digest's alerts when flushed, never when dead-lettered). */
export function emulatorChannels(options: AlertChannelOptions): AlertChannel[] {
  return configuredChannels(options).map((base) => {
    const channel = reportingDelivery(base, (alert) => options.onAlert(base.name, alert));
    const wrapped: AlertChannel = {
      name: channel.name,
      send: async (bundled: Alert) => {
        // The bundled handler carries its own copy of the state classes; the channels here use this
        // process's, whose instanceof checks (Retrying's start time, TimedOut, …) must hold.
        const alert: Alert = { ...bundled, oldState: State.fromJSON(bundled.oldState.toJSON()), newState: State.fromJSON(bundled.newState.toJSON()) };
        await channel.send(alert);
      },
    };
    return isDigestChannel(channel) ? ({ ...wrapped, flush: channel.flush, notice: channel.notice } satisfies DigestChannel) : wrapped;
  });
}
