/**
 * lib/notify: alerts and the notifiers that send them. Reading order for a newcomer (lib/notify
 * imports only lib/core; what it needs from AWS is declared in ports.ts and provided by lib/aws):
 *  1. alert.ts: the one `Alert` model and the `AlertChannel` interface every destination implements.
 *  2. build.ts, format.ts: the alert for a transition; what it says, decided once, and each
 *     channel's layout within its own limits.
 *  3. notifier.ts: `channelNotifier`, the state handler every notifier is (filter → build → send).
 *  4. slack.ts, sns.ts, chatbot.ts, eventbridge.ts, console.ts: one file per destination, each with
 *     a one-line factory.
 *  5. ports.ts: what the destinations need from AWS (secrets, Publish, PutEvents, the handler's queue).
 *  6. documents.ts, rate-limit.ts, digest.ts: the handler Lambda's grouping per execution (versioned
 *     documents, a rate per destination, the digest protocol); slack-digest.ts and slack-app.ts are
 *     its two Slack targets (webhook digests, an app's thread per execution).
 */
export type { Alert, AlertChannel } from "./alert";
export { alertSubject, reportAlertSent } from "./alert";
export { alertFromTransition, executionConsoleUrl, type AlertContextOptions } from "./build";
export {
  formatAlert,
  alertTitle,
  alertToJSON,
  formatSlackMessage,
  formatSnsMessage,
  formatConsoleAlert,
  formatEmailText,
  formatSmsText,
  stateColor,
  type FormattedAlert,
  type AlertError,
  type SlackMessage,
  type SlackBlock,
  type SnsMessage,
} from "./format";
export {
  channelNotifier,
  stateFilter,
  type StateClassLike,
  type StateFilterOptions,
  type ChannelNotifierOptions,
  type SecretFallbackOptions,
} from "./notifier";
export { slackChannel, slackNotifier, type SlackChannelOptions, type SlackNotifierOptions } from "./slack";
export { snsChannel, snsNotifier, type SnsChannelOptions, type SnsNotifierOptions } from "./sns";
export {
  chatbotChannel,
  chatbotNotifier,
  formatChatbotNotification,
  type ChatbotChannelOptions,
  type ChatbotNotifierOptions,
  type ChatbotNotification,
} from "./chatbot";
export {
  eventBridgeChannel,
  eventBridgeNotifier,
  alertEventDetail,
  ALERT_EVENT_SOURCE,
  ALERT_DETAIL_TYPE,
  ALERT_SCHEMA_VERSION,
  type AlertEventDetail,
  type EventBridgeChannelOptions,
  type EventBridgeNotifierOptions,
} from "./eventbridge";
export { consoleChannel, consoleNotifier, type ConsoleChannelOptions, type ConsoleNotifierOptions } from "./console";
