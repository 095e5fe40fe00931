/**
 * The emulator's alert channels are the stack's: the built-in Slack digests run only where the
 * stack configures them (`alerts.slackWebhookSecret`), and an alert is reported as sent only once it
 * left for its destination (a digest's alerts when their flush went out, never when they were merely
 * recorded and then dead-lettered).
 */
import type { Flow } from "../core/flow";
import { localSecretVariable } from "../aws/secrets";
import type { Alert, AlertChannel } from "../notify/alert";
import { isDigestChannel, type DigestChannel } from "../notify/digest";
import { notifierInfo } from "../notify/notifier";

/** The handler Lambda's variable for `alerts.slackWebhookSecret` (lambdas/handler/env.ts). */
export const SLACK_ALERTS_ARN = "FLOWHOOKS_SLACK_SECRET_ARN";
/** The handler Lambda's variable for `alerts.slack`'s bot token secret (lambdas/handler/env.ts). */
export const SLACK_APP_TOKEN_ARN = "FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN";
/** The handler Lambda's variable for `alerts.slack`'s channel id (lambdas/handler/env.ts). */
export const SLACK_APP_CHANNEL = "FLOWHOOKS_SLACK_CHANNEL";

/** The secret names the flow's (and its tasks') Slack notifiers read their webhook from. */
export function flowSlackSecrets(flow: Flow): string[] {
  const handlers = [...flow.stateHandlers, ...flow.graph().nodes.flatMap((n) => n.stateHandlers)];
  return [...new Set(handlers.flatMap((h) => {
    const info = notifierInfo(h);
    return info?.channel === "slack" && info.secret !== undefined ? [info.secret] : [];
  }))].sort();
}

/** The local variables that hold the Slack webhook of the stack's Slack secrets (what `--slack-webhook-url` serves). */
export function slackSecretVariables(flow: Flow): string[] {
  return [...new Set([localSecretVariable("SLACK_WEBHOOK_URL"), ...flowSlackSecrets(flow).map(localSecretVariable)])];
}

/**
 * Whether the handler Lambda posts built-in Slack digests: the stack set `alerts.slackWebhookSecret`
 * or, for the stack the emulator makes itself around FILE (which has no props of the user's),
 * a webhook was given and the flow posts to Slack by no notifier of its own (both would post each alert).
 */
export function builtInSlackDigests(options: { handlerEnv: Record<string, string | undefined>; ownStack: boolean; flow: Flow }): boolean {
  if (options.handlerEnv[SLACK_ALERTS_ARN]) return true;
  return options.ownStack && flowSlackSecrets(options.flow).length === 0;
}

/**
 * Whether the handler Lambda posts Slack app threads: the stack set `alerts.slack`, or the stack is
 * the one the emulator makes itself around FILE (no props of the user's, so `--slack-channel` stands
 * in for them). A bot token on the host turns on no threads a user's stack lacks.
 */
export function builtInSlackApp(options: { handlerEnv: Record<string, string | undefined>; ownStack: boolean }): boolean {
  return Boolean(options.handlerEnv[SLACK_APP_TOKEN_ARN]) || options.ownStack;
}

/**
 * `channel`, calling `delivered` for each alert once it went out: at once for a channel that posts
 * in `send`; for a digest channel, when a flush finished with nothing left pending (the alerts it
 * recorded since). Alerts whose flush never finishes (dead-lettered) are never reported.
 */
export function reportingDelivery(channel: AlertChannel, delivered: (alert: Alert) => void): AlertChannel {
  if (!isDigestChannel(channel)) {
    return { name: channel.name, send: async (alert) => { await channel.send(alert); delivered(alert); } };
  }
  const pending: Alert[] = [];
  const wrapped: DigestChannel = {
    name: channel.name,
    send: async (alert) => {
      await channel.send(alert);
      pending.push(alert);
    },
    flush: async (group, options) => {
      const result = await channel.flush(group, options);
      if (result.deferSeconds === undefined) for (const alert of pending.splice(0)) delivered(alert);
      return result;
    },
    notice: (notice) => channel.notice(notice),
  };
  return wrapped;
}
