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
