/** The handler Lambda's configuration, read from the environment in this one place. */
import { FlowhooksError } from "../../lib/core/errors";
import { STATE_CLASSES } from "../../lib/core/states";
import { DEFAULT_CLAIM_LEASE_SECONDS, QUEUE_VISIBILITY_SECONDS } from "../../lib/aws/dedupe";
import { DEFAULT_ALERT_ON } from "./process";

/** The handler Lambda was deployed without a setting it needs. */
export class HandlerConfigError extends FlowhooksError {}

export interface HandlerEnv {
  /** FLOWHOOKS_DEDUPE_TABLE: DynamoDB table (pk S, TTL `expiresAt`) for claims and the reconciler's watermark. */
  dedupeTable: string;
  /** FLOWHOOKS_STATE_MACHINE_ARN: the flow's state machine (the reconciler lists its executions). */
  stateMachineArn?: string;
  /** FLOWHOOKS_ALERT_TOPIC_ARN: SNS topic for built-in alerts. @default - no SNS alerts */
  alertTopicArn?: string;
  /** FLOWHOOKS_CHATBOT_TOPIC_ARN: SNS topic of an Amazon Q Developer chat channel (custom notifications). @default - no chat notifications */
  chatbotTopicArn?: string;
  /** FLOWHOOKS_ALERT_EVENT_BUS: the bus (name or ARN) every alert is put on as an EventBridge event. @default - no alert events */
  alertEventBus?: string;
  /** FLOWHOOKS_SLACK_SECRET_ARN: Secrets Manager secret (ARN or name) holding the Slack webhook URL. @default - no Slack alerts */
  slackSecretArn?: string;
  /** FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN: Secrets Manager secret holding a Slack app's bot token. @default - no Slack app alerts */
  slackBotTokenSecretArn?: string;
  /** FLOWHOOKS_SLACK_CHANNEL: the channel id the Slack app posts to (required with the bot token). */
  slackChannel?: string;
  /** FLOWHOOKS_SLACK_APPROVAL_BUTTONS: "1" when an interactivity endpoint answers Approve/Reject buttons on Paused alerts (alerts.slack.approvals). @default false */
  slackApprovalButtons?: boolean;
  /** FLOWHOOKS_ALERT_ON: comma-separated state names. @default "Failed,TimedOut,Retrying,Paused" */
  alertOn: Set<string>;
  /** FLOWHOOKS_RECONCILE_LOOKBACK_SECONDS. @default 86400 */
  reconcileLookbackSeconds?: number;
  /** FLOWHOOKS_CLAIM_LEASE_SECONDS: how long an unfinished claim blocks retries; above the queue's visibility timeout. @default DEFAULT_CLAIM_LEASE_SECONDS (420) */
  claimLeaseSeconds: number;
  /** FLOWHOOKS_EVENTS_QUEUE_URL: the handler's own queue, where digest flushes are scheduled. @default - none (Slack digests cannot be scheduled) */
  eventsQueueUrl?: string;
  /** FLOWHOOKS_ALERT_WINDOW_SECONDS: task alerts of one execution within this window go out as one Slack message. @default 5 */
  alertWindowSeconds?: number;
  /** FLOWHOOKS_RESULTS_BUCKET: the results bucket (a Distributed Map's crashed children are kept there). @default - none */
  resultsBucket?: string;
  /** FLOWHOOKS_RESULTS_DIR: the emulator's folder standing in for the results bucket. @default - none */
  resultsDir?: string;
}

type Env = Record<string, string | undefined>;


function required(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) {
    throw new HandlerConfigError(`Environment variable ${name} is not set; it must hold ${what}. The FlowStateMachine construct sets it — redeploy the stack.`);
  }
  return value;
}

function optional(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

function seconds(env: Env, name: string): number | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  if (!(Number(value) > 0)) throw new HandlerConfigError(`Environment variable ${name} must be a number of seconds > 0, got "${value}".`);
  return Number(value);
}

export function readHandlerEnv(env: Env = process.env, options: { needStateMachine?: boolean } = {}): HandlerEnv {
  const alertOnRaw = optional(env, "FLOWHOOKS_ALERT_ON");
  const alertOn = new Set(alertOnRaw ? alertOnRaw.split(",").map((s) => s.trim()).filter(Boolean) : DEFAULT_ALERT_ON);
  for (const name of alertOn) {
    if (!Object.hasOwn(STATE_CLASSES, name)) {
      throw new HandlerConfigError(
        `Environment variable FLOWHOOKS_ALERT_ON names the unknown state "${name}"; use a comma list of ${Object.keys(STATE_CLASSES).join(", ")}.`,
      );
    }
  }
  const lookback = seconds(env, "FLOWHOOKS_RECONCILE_LOOKBACK_SECONDS");
  const lease = seconds(env, "FLOWHOOKS_CLAIM_LEASE_SECONDS");
  if (lease !== undefined && lease <= QUEUE_VISIBILITY_SECONDS) {
    throw new HandlerConfigError(
      `Environment variable FLOWHOOKS_CLAIM_LEASE_SECONDS is ${lease}; it must exceed the events queue's visibility timeout (${QUEUE_VISIBILITY_SECONDS} s as ` +
        `FlowStateMachine deploys it), or a record redelivered after a failed invocation takes over a send that went out and alerts it twice. ` +
        `Leave it unset (${DEFAULT_CLAIM_LEASE_SECONDS}).`,
    );
  }
  return {
    dedupeTable: required(env, "FLOWHOOKS_DEDUPE_TABLE", "the DynamoDB table that records each transition before it is alerted"),
    stateMachineArn: options.needStateMachine
      ? required(env, "FLOWHOOKS_STATE_MACHINE_ARN", "the ARN of the flow's state machine")
      : optional(env, "FLOWHOOKS_STATE_MACHINE_ARN"),
    alertTopicArn: optional(env, "FLOWHOOKS_ALERT_TOPIC_ARN"),
    chatbotTopicArn: optional(env, "FLOWHOOKS_CHATBOT_TOPIC_ARN"),
    alertEventBus: optional(env, "FLOWHOOKS_ALERT_EVENT_BUS"),
    slackSecretArn: optional(env, "FLOWHOOKS_SLACK_SECRET_ARN"),
    slackBotTokenSecretArn: optional(env, "FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN"),
    slackChannel: optional(env, "FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN")
      ? required(env, "FLOWHOOKS_SLACK_CHANNEL", "the Slack channel id the app posts to (alerts.slack.channel)")
      : optional(env, "FLOWHOOKS_SLACK_CHANNEL"),
    slackApprovalButtons: optional(env, "FLOWHOOKS_SLACK_APPROVAL_BUTTONS") === "1",
    alertOn,
    reconcileLookbackSeconds: lookback,
    claimLeaseSeconds: lease ?? DEFAULT_CLAIM_LEASE_SECONDS,
    eventsQueueUrl: optional(env, "FLOWHOOKS_EVENTS_QUEUE_URL"),
    alertWindowSeconds: seconds(env, "FLOWHOOKS_ALERT_WINDOW_SECONDS"),
    resultsBucket: optional(env, "FLOWHOOKS_RESULTS_BUCKET"),
    resultsDir: optional(env, "FLOWHOOKS_RESULTS_DIR"),
  };
}
