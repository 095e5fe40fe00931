/**
 * `FlowAlerts`: the handler Lambda of one flow and everything that feeds it — EventBridge rules
 * into an SQS queue (with a dead-letter queue and its alarm), the claims table, the scheduled
 * reconciler — plus the alert topic. `FlowStateMachine` creates it when `alerts` is set.
 * Resources and permissions follow docs/alerts.md ("What the deployment must provide").
 */
import { Annotations, ArnFormat, CfnResource, Duration, RemovalPolicy, Stack, Token, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { secretArnVariable } from "../aws/secrets";
import { claimLeaseSecondsFor, QUEUE_VISIBILITY_SECONDS } from "../aws/dedupe";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { DEFAULT_RUNTIME } from "./task-functions";
import { SlackApprovals, validateSlackApprovalsProps, type SlackApprovalsProps } from "./slack-approvals";
import { SnsEventSource, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { FlowDefinitionError } from "../core/errors";
import type { Flow } from "../core/flow";
import type { StateHandler } from "../core/handlers";
import { STATE_CLASSES, type StateName } from "../core/states";
import { notifierInfo, type NotifierInfo } from "../notify/notifier";
import { ALERT_DETAIL_TYPE, ALERT_EVENT_SOURCE } from "../notify/eventbridge";
import { FLOW_STATE_CHANGE, SFN_EVENT_SOURCE, SFN_STATUS_CHANGE, TASK_EVENT_SOURCE, TASK_STATE_CHANGE } from "../aws/events";

/** The states `alerts.on` may name. */
export const ALERTABLE_STATES = ["Failed", "TimedOut", "Retrying", "TriggerFailed", "Cancelled", "Success", "Paused"] as const;
export type AlertableState = (typeof ALERTABLE_STATES)[number];
/** What alerts when `alerts.on` is left out (the handler Lambda's own default). */
export const DEFAULT_ALERT_STATES: readonly AlertableState[] = ["Failed", "TimedOut", "Retrying", "Paused"];

/** Which state changes alert, and where to (wired by the handler Lambda). */
export interface FlowAlertsProps {
  /**
   * An SNS topic for alerts, or `true` for a new one encrypted with a new KMS key (rotation on).
   * The dead-letter queue's alarm also goes to this topic (to a FIFO one through the handler Lambda:
   * CloudWatch cannot publish to FIFO topics, which deliver to SQS queues only, not e-mail or SMS).
   * @default - no SNS alerts
   */
  readonly topic?: sns.ITopic | true;
  /**
   * A secret whose value is a Slack incoming-webhook URL; only its ARN reaches the handler. Alerts of
   * one execution go out as digest messages (a webhook cannot thread or edit).
   * @default - no Slack webhook alerts
   */
  readonly slackWebhookSecret?: secretsmanager.ISecret;
  /**
   * A Slack app: one parent message per execution in `channel`, task alerts as replies in its
   * thread, the parent updated in place (counts, then the outcome). The bot token (`xoxb-…`, scope
   * `chat:write`) stays in the secret; only its ARN reaches the handler.
   * @default - no Slack app alerts
   */
  readonly slack?: SlackAppProps;
  /**
   * Amazon Q Developer in chat applications (formerly AWS Chatbot): the SNS topic a chat channel's
   * configuration subscribes to, or `true` for a new encrypted one (`FlowAlerts.chatbotTopic`; pass
   * it to the channel configuration's `notificationTopics`). Alerts are custom notifications, one
   * thread per execution; the dead-letter alarm goes to it too. A FIFO topic is refused.
   * @default - no chat notifications
   */
  readonly chatbot?: sns.ITopic | true;
  /**
   * An EventBridge bus every alert is put on as an event (`Source: "flowhooks"`, `DetailType:
   * "Flowhooks Alert"`), or `true` for a new bus (`FlowAlerts.alertBus`). Route them with
   * `FlowStateMachine.onAlert`. A bus in another account needs a resource policy letting this
   * account put events (synth warns).
   * @default - no alert events
   */
  readonly eventBus?: events.IEventBus | true;
  /** The states that alert (flows' and tasks'). Needs a channel (`topic`, `slackWebhookSecret`, `slack`, `chatbot` or `eventBus`). @default ["Failed", "TimedOut", "Retrying", "Paused"] */
  readonly on?: AlertableState[];
}

/** A Slack app's bot token and the channel its alerts go to. */
export interface SlackAppProps {
  /** A secret whose value is the bot token (`xoxb-…`) of a Slack app with the `chat:write` scope. */
  readonly botTokenSecret: secretsmanager.ISecret;
  /** The channel's id (`C0123ABCDEF`, from the channel's details); invite the app to it. */
  readonly channel: string;
  /**
   * Approve and Reject buttons on a Paused task's alert, answered by an interactivity endpoint (a
   * Lambda function URL, output as the Slack app's Request URL) that checks Slack's signature and
   * the approvers. One Slack app per flow: an app has one Request URL.
   * @default - no buttons (answer with `flowhooks resume`)
   */
  readonly approvals?: SlackApprovalsProps;
}

/** Which alert events a rule made by `FlowStateMachine.onAlert` routes, and where. */
export interface OnAlertOptions {
  /** Where the matching alert events go (a queue, a function, an API destination, another bus …). */
  readonly target: events.IRuleTarget;
  /**
   * Only alerts whose new state is one of these (exact state names: `Failed` does not include
   * `TimedOut`); each must be one `alerts.on` alerts on.
   * @default - every alert of this flow
   */
  readonly states?: AlertableState[];
  /** The rule's description. @default - names the flow and the states */
  readonly description?: string;
}

/** What `FlowAlerts` needs from its `FlowStateMachine`. */
export interface FlowAlertsConstructProps {
  /** The flow's name (task and final-report events carry it). */
  readonly flowName: string;
  /** The flow's state machine, whose executions the handler reads. */
  readonly stateMachine: sfn.StateMachine;
  /** The bus the flow's task and final-report events go to (`FlowEventBus`: only the flow's roles may put events on it). */
  readonly eventBus: events.IEventBus;
  /** The flow's code asset (exports `events` and `reconcile`). */
  readonly code: lambda.Code;
  /** The user's alert settings (already validated by `validateAlertsProps`). */
  readonly alerts: FlowAlertsProps;
  /** X-Ray tracing of the handler and reconciler. @default true */
  readonly tracing?: boolean;
  /** Secrets the flow's state handlers read, by name (see `FlowStateMachineProps.secrets`). @default - none */
  readonly secrets?: Record<string, secretsmanager.ISecret>;
  /** The asset has a source map (`bundling.sourceMap`): Node maps stack traces with it. @default false */
  readonly sourceMaps?: boolean;
  /**
   * The flow's results bucket: the handler and the reconciler read the crashed children a
   * Distributed Map's collect step kept there (lambdas/handler/crashed-children.ts). @default - not read
   */
  readonly resultsBucket?: s3.IBucket;
  /**
   * Gives the Slack interactivity function (`alerts.slack.approvals`) what the approval store needs
   * (grants and environment variables). @default - no store access
   */
  readonly grantApprovalStore?: (fn: lambda.Function) => void;
}

/** The handler Lambda's timeout: one Slack request takes at most 10 s; busy destinations are deferred through SQS, never waited for. */
export const HANDLER_TIMEOUT_SECONDS = 60;
/** Handler invocations the queue may run at once: Slack takes about one message a second, so more would only contend. SQS's minimum is 2. */
export const HANDLER_MAX_CONCURRENCY = 5;
/** How long a claim in progress blocks others (the handler's default): derived from the queue's visibility timeout, so it is longer by construction. */
const CLAIM_LEASE_SECONDS = claimLeaseSecondsFor(QUEUE_VISIBILITY_SECONDS);
/** Deliveries of one queue message before it moves to the dead-letter queue (about an hour at 6-minute visibility). */
export const MAX_RECEIVE_COUNT = 10;
const RECONCILE_TIMEOUT_SECONDS = 300;
const RECONCILE_RATE = Duration.minutes(5);

/** The delivery settings that must fit together (all in seconds, except counts). */
export interface DeliverySettings {
  handlerTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  maxConcurrency: number;
  claimLeaseSeconds: number;
}

/** What is wrong with `s`, one sentence per problem naming the fix; empty when the settings fit. */
export function deliverySettingsProblems(s: DeliverySettings): string[] {
  const problems: string[] = [];
  if (s.visibilityTimeoutSeconds < 6 * s.handlerTimeoutSeconds) {
    problems.push(
      `The queue's visibility timeout (${s.visibilityTimeoutSeconds}s) is under 6 × the handler's timeout (${s.handlerTimeoutSeconds}s): a record still being processed would be handed out again; raise it to at least ${6 * s.handlerTimeoutSeconds}s.`,
    );
  }
  if (s.claimLeaseSeconds <= s.handlerTimeoutSeconds) {
    problems.push(
      `The claim lease (${s.claimLeaseSeconds}s) is not above the handler's timeout (${s.handlerTimeoutSeconds}s): a slow invocation's claim could be taken over while it still sends; raise FLOWHOOKS_CLAIM_LEASE_SECONDS.`,
    );
  } else if (s.claimLeaseSeconds <= s.visibilityTimeoutSeconds) {
    problems.push(
      `The claim lease (${s.claimLeaseSeconds}s) is not above the queue's visibility timeout (${s.visibilityTimeoutSeconds}s): a record redelivered after a failed invocation would take over a send that went out and alert it twice; set FLOWHOOKS_CLAIM_LEASE_SECONDS to ${claimLeaseSecondsFor(s.visibilityTimeoutSeconds)} (claimLeaseSecondsFor).`,
    );
  }
  if (!Number.isInteger(s.maxConcurrency) || s.maxConcurrency < 2 || s.maxConcurrency > 1000) {
    problems.push(`The event source's maximum concurrency must be a whole number from 2 to 1000 (SQS's limits), got ${s.maxConcurrency}.`);
  }
  if (s.maxReceiveCount < 5) {
    problems.push(`maxReceiveCount ${s.maxReceiveCount} leaves too few receives for deferrals (a busy Slack defers a flush a few times); use at least 5.`);
  }
  return problems;
}

/** Refuses `alerts` settings that cannot do what they say, before anything is created. */
export function validateAlertsProps(owner: string, alerts: FlowAlertsProps): void {
  if (typeof alerts !== "object" || alerts === null) {
    throw new FlowDefinitionError(`${owner}: \`alerts\` must be an object such as { topic: true } or { slackWebhookSecret: secret }.`);
  }
  const topic = alerts.topic as unknown;
  if (topic !== undefined && topic !== true && !(typeof topic === "object" && topic !== null && "topicArn" in topic)) {
    throw new FlowDefinitionError(`${owner}: \`alerts.topic\` must be an SNS topic (sns.ITopic) or \`true\` for a new encrypted one.`);
  }
  const secret = alerts.slackWebhookSecret as unknown;
  if (secret !== undefined && !(typeof secret === "object" && secret !== null && "secretArn" in secret)) {
    throw new FlowDefinitionError(
      `${owner}: \`alerts.slackWebhookSecret\` must be a Secrets Manager secret (secretsmanager.ISecret, e.g. Secret.fromSecretNameV2(this, "Slack", "slack-webhook")) holding the webhook URL.`,
    );
  }
  const app = alerts.slack as unknown;
  if (app !== undefined) {
    const a = app as Partial<SlackAppProps> | null;
    if (typeof a !== "object" || a === null || !(typeof a.botTokenSecret === "object" && a.botTokenSecret !== null && "secretArn" in a.botTokenSecret)) {
      throw new FlowDefinitionError(
        `${owner}: \`alerts.slack.botTokenSecret\` must be a Secrets Manager secret (secretsmanager.ISecret) holding the Slack app's bot token (xoxb-…).`,
      );
    }
    if (typeof a.channel !== "string" || !/^[CGD][A-Z0-9]{6,}$/.test(a.channel)) {
      throw new FlowDefinitionError(
        `${owner}: \`alerts.slack.channel\` must be a Slack channel id such as "C0123ABCDEF" (the channel's details show it), got ${JSON.stringify(a.channel)}.`,
      );
    }
    if (a.approvals !== undefined) validateSlackApprovalsProps(owner, a.approvals);
    if (secret !== undefined) {
      throw new FlowDefinitionError(`${owner}: set \`alerts.slack\` (a Slack app: threads updated in place) or \`alerts.slackWebhookSecret\` (a webhook: digests), not both.`);
    }
  }
  validateCloudNativeProps(owner, alerts);
  if (alerts.on !== undefined) {
    if (!Array.isArray(alerts.on) || alerts.on.length === 0) {
      throw new FlowDefinitionError(
        `${owner}: \`alerts.on\` must list at least one of ${ALERTABLE_STATES.join(", ")}; to send no built-in alerts, leave out \`topic\` and \`slackWebhookSecret\` instead.`,
      );
    }
    const unknown = alerts.on.filter((name) => !(ALERTABLE_STATES as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new FlowDefinitionError(`${owner}: \`alerts.on\` names unknown states ${unknown.map((n) => `"${n}"`).join(", ")}; use ${ALERTABLE_STATES.join(", ")}.`);
    }
    if (topic === undefined && secret === undefined && app === undefined && alerts.chatbot === undefined && alerts.eventBus === undefined) {
      throw new FlowDefinitionError(
        `${owner}: \`alerts.on\` chooses which states alert, but no channel is set; add \`topic: true\` (or your sns.ITopic), \`slackWebhookSecret\`, \`slack\`, \`chatbot\` or \`eventBus\`.`,
      );
    }
  }
}

/** Refuses `alerts.chatbot` and `alerts.eventBus` values that cannot work: wrong types, a FIFO topic for the chat service. */
function validateCloudNativeProps(owner: string, alerts: FlowAlertsProps): void {
  const chat = alerts.chatbot as unknown;
  if (chat !== undefined && chat !== true && !(typeof chat === "object" && chat !== null && "topicArn" in chat)) {
    throw new FlowDefinitionError(`${owner}: \`alerts.chatbot\` must be an SNS topic (sns.ITopic) your chat channel subscribes to, or \`true\` for a new encrypted one.`);
  }
  if (typeof chat === "object" && chat !== null && isFifo(chat as sns.ITopic)) {
    throw new FlowDefinitionError(
      `${owner}: \`alerts.chatbot\` is a FIFO topic, which Amazon Q Developer in chat applications does not subscribe to; pass a standard topic (or \`true\` for a new one).`,
    );
  }
  const bus = alerts.eventBus as unknown;
  if (bus !== undefined && bus !== true && !(typeof bus === "object" && bus !== null && "eventBusArn" in bus)) {
    throw new FlowDefinitionError(
      `${owner}: \`alerts.eventBus\` must be an EventBridge bus (events.IEventBus, e.g. EventBus.fromEventBusName(this, "Bus", "default")) or \`true\` for a new one.`,
    );
  }
}

/** A FIFO topic: its `fifo` flag, or a known name ending in `.fifo`. */
function isFifo(topic: sns.ITopic): boolean {
  if (topic.fifo) return true;
  const name = topic.topicName;
  return typeof name === "string" && !Token.isUnresolved(name) && name.endsWith(".fifo");
}

/**
 * Whether a topic is FIFO, as far as synth can tell: a topic made in this app says so itself, an
 * imported one by its name; undefined for an imported topic whose ARN is only known at deploy.
 */
function fifoAtSynth(topic: sns.ITopic): boolean | undefined {
  if (isFifo(topic)) return true;
  if (topic.node.defaultChild instanceof sns.CfnTopic || !Token.isUnresolved(topic.topicName)) return false;
  return undefined;
}

/** Where a flow's Slack notifier sits, for messages. */
function notifierPlaces(flow: Flow, handler: StateHandler): string {
  if (flow.alerts.includes(handler)) return "in the flow's `alerts`";
  if (flow.stateHandlers.includes(handler)) return "in the flow's `stateHandlers`";
  const tasks = flow.graph().nodes.filter((n) => n.task.stateHandlers.includes(handler)).map((n) => `\`${n.name}\``);
  return `in the \`stateHandlers\` of task${tasks.length > 1 ? "s" : ""} ${tasks.join(", ")}`;
}

/**
 * One alert per transition per destination: refuses a flow whose own Slack notifier reads the same
 * webhook secret as the construct's `alerts.slackWebhookSecret` and alerts on some of the same states,
 * since both would post each of those alerts (the notifier from the task functions and the handler
 * Lambda's chains, the built-in alerts from the handler Lambda). Warns about a notifier whose secret
 * the construct does not give the functions: deployed, it would fail the transition it alerts on.
 */
export function checkFlowNotifiers(
  scope: Construct,
  owner: string,
  flow: Flow,
  alerts: FlowAlertsProps | undefined,
  secrets: Record<string, secretsmanager.ISecret> | undefined,
): void {
  const handlers = new Set<StateHandler>([...flow.stateHandlers, ...flow.graph().nodes.flatMap((n) => n.stateHandlers)]);
  const stack = Stack.of(scope);
  const sameSecret = (a: secretsmanager.ISecret, b: secretsmanager.ISecret) =>
    a === b || JSON.stringify(stack.resolve(a.secretArn)) === JSON.stringify(stack.resolve(b.secretArn));
  const builtIn = alerts?.slackWebhookSecret;
  const builtInStates = (alerts?.on ?? DEFAULT_ALERT_STATES).filter((name) => name in STATE_CLASSES);
  const warned = new Set<string>();
  for (const handler of handlers) {
    const info = notifierInfo(handler);
    if (info) refuseRepeatedCloudAlerts(stack, owner, flow, handler, info, alerts);
    if (!info || info.secret === undefined) continue;
    const secret = secrets?.[info.secret];
    if (!secret) {
      // With `whenMissing`, a secret left out is the user's choice: its alerts go to the fallback.
      if (info.fallback === undefined && !warned.has(info.secret)) {
        warned.add(info.secret);
        Annotations.of(scope).addWarningV2(
          "flowhooks:notifierSecretMissing",
          `${info.name}() ${notifierPlaces(flow, handler)} reads the secret "${info.secret}", which \`secrets\` does not give the functions; ` +
            `deployed, its alerts would fail with SecretNotFoundError. Add \`secrets: { ${info.secret}: secret }\` to ${owner}.`,
        );
      }
      continue;
    }
    if (info.channel !== "slack" || !builtIn || !sameSecret(secret, builtIn)) continue;
    const both = builtInStates.filter((name) => info.wants(new STATE_CLASSES[name as StateName]()));
    if (both.length === 0) continue;
    throw new FlowDefinitionError(
      `${owner}: ${both.join(", ")} alerts would be posted to the same Slack webhook twice, by ${info.name}() ${notifierPlaces(flow, handler)} ` +
        `(secret "${info.secret}", given by \`secrets.${info.secret}\`) and by the construct's \`alerts.slackWebhookSecret\`. Keep one: ` +
        `remove \`alerts.slackWebhookSecret\` to keep the flow's notifier (the same alerts locally and deployed; keep \`alerts: {}\` or \`alerts: { topic }\` ` +
        `for the handler Lambda), or remove ${info.name}() from the flow to keep the built-in alerts (chosen by \`alerts.on\`, deployed only).`,
    );
  }
}

/** The construct's own destination a flow's notifier of each channel could repeat, and how to name it. */
const BUILT_IN_DESTINATIONS = {
  sns: { prop: "topic", what: "SNS topic" },
  chatbot: { prop: "chatbot", what: "Amazon Q Developer topic" },
  eventbridge: { prop: "eventBus", what: "event bus" },
} as const;

/**
 * One alert per transition per destination, for the cloud-native channels: refuses a flow whose own
 * `snsNotifier`, `chatbotNotifier` or `eventBridgeNotifier` delivers to the topic or bus the construct's
 * `alerts.topic`, `alerts.chatbot` or `alerts.eventBus` names and alerts on some of the same states.
 */
function refuseRepeatedCloudAlerts(stack: Stack, owner: string, flow: Flow, handler: StateHandler, info: NotifierInfo, alerts: FlowAlertsProps | undefined): void {
  if (info.destination === undefined || !(info.channel in BUILT_IN_DESTINATIONS)) return;
  const { prop, what } = BUILT_IN_DESTINATIONS[info.channel as keyof typeof BUILT_IN_DESTINATIONS];
  const builtIn = alerts?.[prop];
  if (builtIn === undefined || builtIn === true) return;
  const same = "eventBusArn" in builtIn ? sameBus(stack, info.destination, builtIn) : sameTopic(stack, info.destination, builtIn);
  if (!same) return;
  const both = (alerts?.on ?? DEFAULT_ALERT_STATES).filter((name) => name in STATE_CLASSES && info.wants(new STATE_CLASSES[name as StateName]()));
  if (both.length === 0) return;
  throw new FlowDefinitionError(
    `${owner}: ${both.join(", ")} alerts would be sent to the same ${what} twice, by ${info.name}() ${notifierPlaces(flow, handler)} ` +
      `(${info.destination}) and by the construct's \`alerts.${prop}\`. Keep one: remove \`alerts.${prop}\` to keep the flow's notifier (the same ` +
      `alerts locally and deployed), remove ${info.name}() from the flow to keep the built-in alerts (chosen by \`alerts.on\`, deployed only), ` +
      `or give the notifier \`onlyStates\` that \`alerts.on\` leaves out.`,
  );
}

/** The account a literal ARN names, and its last part (a topic name, `event-bus/NAME`'s NAME). */
function arnParts(arn: string): { account: string; name: string } | undefined {
  const m = /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):(?:event-bus\/)?(.+)$/.exec(arn);
  return m ? { account: m[1]!, name: m[2]! } : undefined;
}

/** `value` resolved in `stack`, when it resolves to a plain string (a literal, not a reference). */
function literal(stack: Stack, value: string): string | undefined {
  const resolved: unknown = stack.resolve(value);
  return typeof resolved === "string" ? resolved : undefined;
}

/** The name a topic or bus created in this app was given (its name attribute is a reference until deployed). */
function declaredName(stack: Stack, resource: sns.ITopic | events.IEventBus): string | undefined {
  const cfn = resource.node.defaultChild;
  const name = cfn instanceof sns.CfnTopic ? cfn.topicName : cfn instanceof events.CfnEventBus ? cfn.name : undefined;
  return name === undefined ? undefined : literal(stack, name);
}

/** The same account, unless one side is not known at synth (then the names decide). */
function sameAccount(stack: Stack, account: string, resourceAccount: string): boolean {
  const there = literal(stack, resourceAccount) ?? literal(stack, stack.account);
  return there === undefined || there === account;
}

/** A notifier's topic ARN names the construct's topic: the same ARN, or the same name in the same account. */
function sameTopic(stack: Stack, arn: string, topic: sns.ITopic): boolean {
  const topicArn = literal(stack, topic.topicArn);
  if (topicArn !== undefined) return topicArn === arn;
  const parts = arnParts(arn);
  const name = literal(stack, topic.topicName) ?? declaredName(stack, topic);
  return parts !== undefined && name === parts.name && sameAccount(stack, parts.account, topic.env.account);
}

/** A notifier's bus (an ARN, or a name: a bus in the functions' own account, this stack's) is the construct's bus. */
function sameBus(stack: Stack, nameOrArn: string, bus: events.IEventBus): boolean {
  const busName = literal(stack, bus.eventBusName) ?? declaredName(stack, bus);
  if (nameOrArn.startsWith("arn:")) {
    const busArn = literal(stack, bus.eventBusArn);
    if (busArn !== undefined) return busArn === nameOrArn;
    const parts = arnParts(nameOrArn);
    return parts !== undefined && busName === parts.name && sameAccount(stack, parts.account, bus.env.account);
  }
  // A bus whose account is a reference is in this stack's account; a known other account is not "this account".
  const there = literal(stack, bus.env.account);
  return busName === nameOrArn && (there === undefined || there === literal(stack, stack.account));
}

export class FlowAlerts extends Construct {
  /** The handler Lambda: queue records → the flow's state handlers → alerts. */
  readonly handlerFunction: lambda.Function;
  /** The scheduled reconciler: recovers endings no event reported. */
  readonly reconcileFunction: lambda.Function;
  /** The buffer between EventBridge and the handler. */
  readonly queue: sqs.Queue;
  /** Where records go after `MAX_RECEIVE_COUNT` failed deliveries. */
  readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the dead-letter queue holds a message; it notifies every destination (the alert topic, Slack and a FIFO alert topic through `deadLetterNotices`). */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Carries the dead-letter alarm to the handler, which posts it to Slack and publishes it to a FIFO alert topic (set when either is configured). */
  readonly deadLetterNotices?: sns.Topic;
  /** Claims (one per transition, with TTL) and the reconciler's watermark. */
  readonly table: dynamodb.Table;
  /** Routes the state machine's "Execution Status Change" events to the queue. */
  readonly statusRule: events.Rule;
  /** Routes this flow's task and final-report events to the queue. */
  readonly flowEventsRule: events.Rule;
  /** Runs the reconciler every five minutes. */
  readonly reconcileSchedule: events.Rule;
  /** The topic alerts go to, when SNS alerts are on. */
  readonly alertTopic?: sns.ITopic;
  /** The key of a topic created with `topic: true`. */
  readonly alertTopicKey?: kms.Key;
  /** The topic Amazon Q Developer notifications go to (`alerts.chatbot`); give it to the chat channel's configuration. */
  readonly chatbotTopic?: sns.ITopic;
  /** The bus every alert is put on as an event (`alerts.eventBus`); `FlowStateMachine.onAlert` routes them. */
  readonly alertBus?: events.IEventBus;
  /** The Slack interactivity endpoint answering Approve/Reject buttons (`alerts.slack.approvals`); its `url` is the Slack app's Request URL. */
  readonly slackApprovals?: SlackApprovals;

  constructor(scope: Construct, id: string, props: FlowAlertsConstructProps) {
    super(scope, id);
    const { alerts, stateMachine } = props;
    validateAlertsProps(`FlowAlerts for flow \`${props.flowName}\``, alerts);
    const stack = Stack.of(this);
    const tracing = props.tracing ?? true;

    if (alerts.topic === true) {
      this.alertTopicKey = cloudWatchTopicKey(this, "TopicKey", `Encrypts the alert topic of flowhooks flow ${props.flowName}`);
      this.alertTopic = cloudWatchTopic(this, "Topic", this.alertTopicKey, `flowhooks ${props.flowName} alerts`);
    } else if (alerts.topic) {
      this.alertTopic = alerts.topic;
    }
    this.chatbotTopic = this.createChatbotTopic(props);
    this.alertBus = this.createAlertBus(props);

    this.table = new dynamodb.Table(this, "Claims", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: "expiresAt",
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Claims only prevent duplicate alerts for executions of this stack; they expire by TTL and mean nothing without it.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetters", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, "Events", {
      // SQS-managed SSE: EventBridge cannot use the AWS-managed aws/sqs KMS key.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(QUEUE_VISIBILITY_SECONDS),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, "DeadLettersAlarm", {
      alarmDescription: `flowhooks ${props.flowName}: events the handler Lambda could not process are in the dead-letter queue; read them there, fix the cause, then redrive them.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterNotices = this.routeDeadLetterAlarm(props);

    // Two rules into one queue: a pattern matching two sources needs `$or`, which CDK's typed EventPattern cannot express.
    this.statusRule = new events.Rule(this, "StatusRule", {
      description: `flowhooks ${props.flowName}: the state machine's status changes to the handler queue`,
      eventPattern: {
        source: [SFN_EVENT_SOURCE],
        detailType: [SFN_STATUS_CHANGE],
        detail: { stateMachineArn: [stateMachine.stateMachineArn] },
      },
    });
    // Scoped by execution ARN, not only by flow name: another stack may deploy a flow of the same name.
    const executionArnPrefix = `${executionArn(stack, stateMachine.stateMachineName)}:`;
    this.flowEventsRule = new events.Rule(this, "FlowEventsRule", {
      eventBus: props.eventBus,
      description: `flowhooks ${props.flowName}: task and final-report events of its executions to the handler queue`,
      eventPattern: {
        source: [TASK_EVENT_SOURCE],
        detailType: [TASK_STATE_CHANGE, FLOW_STATE_CHANGE],
        detail: { flow: [props.flowName], executionArn: events.Match.prefix(executionArnPrefix) },
      },
    });
    for (const rule of [this.statusRule, this.flowEventsRule]) rule.addTarget(new targets.SqsQueue(this.queue));

    const env: Record<string, string> = {
      FLOWHOOKS_DEDUPE_TABLE: this.table.tableName,
      FLOWHOOKS_STATE_MACHINE_ARN: stateMachine.stateMachineArn,
      FLOWHOOKS_ALERT_ON: (alerts.on ?? DEFAULT_ALERT_STATES).join(","),
    };
    if (this.alertTopic) env.FLOWHOOKS_ALERT_TOPIC_ARN = this.alertTopic.topicArn;
    if (this.chatbotTopic) env.FLOWHOOKS_CHATBOT_TOPIC_ARN = this.chatbotTopic.topicArn;
    // The ARN, not the name: PutEvents to a bus in another account or region needs it.
    if (this.alertBus) env.FLOWHOOKS_ALERT_EVENT_BUS = this.alertBus.eventBusArn;
    if (alerts.slackWebhookSecret) env.FLOWHOOKS_SLACK_SECRET_ARN = alerts.slackWebhookSecret.secretArn;
    if (alerts.slack) {
      env.FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN = alerts.slack.botTokenSecret.secretArn;
      env.FLOWHOOKS_SLACK_CHANNEL = alerts.slack.channel;
    }
    if (alerts.slack?.approvals) {
      this.slackApprovals = this.createSlackApprovals(props, alerts.slack.approvals);
      env.FLOWHOOKS_SLACK_APPROVAL_BUTTONS = "1";
    }
    // Digest flushes are scheduled on the handler's own queue.
    env.FLOWHOOKS_EVENTS_QUEUE_URL = this.queue.queueUrl;
    if (props.resultsBucket) env.FLOWHOOKS_RESULTS_BUCKET = props.resultsBucket.bucketName;
    for (const [name, secret] of Object.entries(props.secrets ?? {})) env[secretArnVariable(name)] = secret.secretArn;

    const makeFunction = (fnId: string, handler: string, description: string, timeoutSeconds: number, extra: Partial<lambda.FunctionProps>) =>
      this.createFunction(props, env, { fnId, handler, description, timeoutSeconds, extra });
    this.handlerFunction = makeFunction("Handler", "index.events", `flowhooks ${props.flowName}: status and task events to state handlers and alerts`, HANDLER_TIMEOUT_SECONDS, {});
    this.handlerFunction.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: HANDLER_MAX_CONCURRENCY }),
    );
    if (this.deadLetterNotices) this.handlerFunction.addEventSource(new SnsEventSource(this.deadLetterNotices));
    this.node.addValidation({
      validate: () =>
        deliverySettingsProblems({
          handlerTimeoutSeconds: this.handlerFunction.timeout?.toSeconds() ?? 3,
          visibilityTimeoutSeconds: Number((this.queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout),
          maxReceiveCount: MAX_RECEIVE_COUNT,
          maxConcurrency: HANDLER_MAX_CONCURRENCY,
          claimLeaseSeconds: Number(env.FLOWHOOKS_CLAIM_LEASE_SECONDS ?? CLAIM_LEASE_SECONDS),
        }),
    });

    this.reconcileFunction = makeFunction(
      "Reconciler",
      "index.reconcile",
      `flowhooks ${props.flowName}: finds endings no event reported`,
      RECONCILE_TIMEOUT_SECONDS,
      // Passes must not overlap; a lease in the claims table keeps them apart (lib/aws/reconcile.ts), not
      // reserved concurrency, which accounts at the default concurrency quota (10) refuse.
      {},
    );
    this.reconcileFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:ListExecutions"], resources: [stateMachine.stateMachineArn] }));
    this.reconcileSchedule = new events.Rule(this, "ReconcileSchedule", {
      description: `flowhooks ${props.flowName}: runs the reconciler`,
      schedule: events.Schedule.rate(RECONCILE_RATE),
      targets: [new targets.LambdaFunction(this.reconcileFunction, { retryAttempts: 0 })],
    });

    if (props.resultsBucket) {
      for (const fn of [this.handlerFunction, this.reconcileFunction]) {
        // ListBucket makes a missing key NoSuchKey (no crashed child kept), not AccessDenied.
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [props.resultsBucket.arnForObjects("*/crashed-children.json")] }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [props.resultsBucket.bucketArn] }));
      }
    }
    this.acknowledgeFindings(stateMachine, tracing, props.resultsBucket);
    this.flowName = props.flowName;
    this.executionArnPrefix = executionArnPrefix;
    this.alertStates = alerts.on ?? DEFAULT_ALERT_STATES;
  }

  private readonly flowName: string;
  private readonly executionArnPrefix: string;
  private readonly alertStates: readonly AlertableState[];

  /**
   * Where the dead-letter alarm goes: standard topics (the alert topic, the chat topic, which Amazon Q
   * Developer renders itself) as alarm actions; Slack and a FIFO alert topic through a notices topic
   * and the handler, which posts the notice to Slack and publishes it to the FIFO topic with a message
   * group id. A CloudWatch alarm's publish carries none, and SNS refuses a FIFO publish without one, so
   * an alarm action on a FIFO topic would never arrive. The handler publishes notices only to a FIFO
   * topic, so a topic synth cannot classify gets both routes. Returns the notices topic, when needed.
   */
  private routeDeadLetterAlarm(props: FlowAlertsConstructProps): sns.Topic | undefined {
    const { alerts } = props;
    // Unknown (an imported ARN only known at deploy): both routes; exactly one of them delivers.
    const fifo = this.alertTopic === undefined ? false : fifoAtSynth(this.alertTopic);
    if (this.alertTopic && fifo !== true) this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alertTopic));
    if (this.chatbotTopic) this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(this.chatbotTopic));
    if (!alerts.slackWebhookSecret && !alerts.slack && fifo === false) return undefined;
    const key = this.alertTopicKey ?? cloudWatchTopicKey(this, "NoticesKey", `Encrypts the dead-letter notices of flowhooks flow ${props.flowName}`);
    const notices = cloudWatchTopic(this, "DeadLetterNotices", key, `flowhooks ${props.flowName} dead-letter notices`);
    this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(notices));
    return notices;
  }

  /**
   * A rule on the alert bus matching this flow's alert events (of its own executions, so a flow of
   * the same name in another stack is not matched), optionally only some states, to `target`.
   */
  alertRule(scope: Construct, id: string, options: OnAlertOptions): events.Rule {
    if (!this.alertBus) {
      throw new FlowDefinitionError(
        `onAlert("${id}") routes the alert events of flow \`${this.flowName}\` put on \`alerts.eventBus\`, which is not set; add \`alerts: { eventBus: true }\` (or your events.IEventBus).`,
      );
    }
    if (typeof options !== "object" || options === null || typeof options.target?.bind !== "function") {
      throw new FlowDefinitionError(`onAlert("${id}"): give \`{ target }\`, an events.IRuleTarget such as new targets.SqsQueue(queue).`);
    }
    const states = this.checkAlertStates(id, options.states);
    return new events.Rule(scope, id, {
      eventBus: this.alertBus,
      description: options.description ?? `flowhooks ${this.flowName}: ${states ? states.join(", ") : "all"} alerts`,
      eventPattern: {
        source: [ALERT_EVENT_SOURCE],
        detailType: [ALERT_DETAIL_TYPE],
        detail: {
          flow: [this.flowName],
          executionId: events.Match.prefix(this.executionArnPrefix),
          ...(states ? { newState: states } : {}),
        },
      },
      targets: [options.target],
    });
  }

  /** The states an `onAlert` rule filters on, refused when one is not a state name or is never alerted. */
  private checkAlertStates(id: string, states: unknown): AlertableState[] | undefined {
    if (states === undefined) return undefined;
    if (!Array.isArray(states) || states.length === 0) {
      throw new FlowDefinitionError(`onAlert("${id}"): \`states\` must list at least one of ${this.alertStates.join(", ")}, or be left out for every alert.`);
    }
    for (const name of states) {
      if (!(ALERTABLE_STATES as readonly unknown[]).includes(name)) {
        throw new FlowDefinitionError(`onAlert("${id}"): ${JSON.stringify(name)} is not a state that alerts; use one of ${ALERTABLE_STATES.join(", ")}.`);
      }
      if (!this.alertStates.includes(name as AlertableState)) {
        throw new FlowDefinitionError(
          `onAlert("${id}"): flow \`${this.flowName}\` does not alert on ${name} (alerts.on is ${this.alertStates.join(", ")}), so the rule would never match; add "${name}" to \`alerts.on\` or drop it here.`,
        );
      }
    }
    return [...states] as AlertableState[];
  }

  /**
   * One of the alerts' functions (handler, reconciler), with a role of its own: its log group,
   * the executions' history, the claims table, the alert channels, the queue, the flow's secrets.
   */
  private createFunction(
    props: FlowAlertsConstructProps,
    env: Record<string, string>,
    fn: { fnId: string; handler: string; description: string; timeoutSeconds: number; extra: Partial<lambda.FunctionProps> },
  ): lambda.Function {
    const { alerts, stateMachine } = props;
    const tracing = props.tracing ?? true;
    const { fnId, handler, description, timeoutSeconds, extra } = fn;
    const executions = Stack.of(this).formatArn({
      service: "states",
      resource: "execution",
      resourceName: `${stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const logGroup = new logs.LogGroup(this, `${fnId}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, `${fnId}Role`, { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"), description });
    logGroup.grantWrite(role);
    role.addToPolicy(new iam.PolicyStatement({ actions: ["states:DescribeExecution", "states:GetExecutionHistory"], resources: [executions] }));
    this.table.grant(role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem");
    if (this.alertTopic) this.alertTopic.grantPublish(role);
    this.chatbotTopic?.grantPublish(role);
    this.alertBus?.grantPutEventsTo(role);
    alerts.slackWebhookSecret?.grantRead(role);
    alerts.slack?.botTokenSecret.grantRead(role);
    this.queue.grantSendMessages(role);
    for (const secret of Object.values(props.secrets ?? {})) secret.grantRead(role);
    if (tracing) role.addToPolicy(new iam.PolicyStatement({ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }));
    return new lambda.Function(this, fnId, {
      description,
      runtime: DEFAULT_RUNTIME,
      handler,
      code: props.code,
      role,
      logGroup,
      memorySize: 256,
      timeout: Duration.seconds(timeoutSeconds),
      environment: props.sourceMaps ? { ...env, NODE_OPTIONS: "--enable-source-maps" } : env,
      tracing: tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      ...extra,
    });
  }

  /** The interactivity endpoint; warns when `alerts.on` leaves out Paused, whose alerts carry the buttons. */
  private createSlackApprovals(props: FlowAlertsConstructProps, approvals: SlackApprovalsProps): SlackApprovals {
    if (props.alerts.on && !(props.alerts.on as string[]).includes("Paused")) {
      Annotations.of(this).addWarningV2(
        "flowhooks:approvalsWithoutPausedAlerts",
        `alerts.slack.approvals puts Approve/Reject buttons on Paused alerts, but alerts.on (${props.alerts.on.join(", ")}) leaves Paused out, so no button is ever shown; add "Paused" to alerts.on.`,
      );
    }
    return new SlackApprovals(this, "SlackApprovals", {
      flowName: props.flowName,
      stateMachine: props.stateMachine,
      code: props.code,
      approvals,
      tracing: props.tracing,
      sourceMaps: props.sourceMaps,
      grantApprovalStore: props.grantApprovalStore,
    });
  }

  /**
   * The Amazon Q Developer topic: the user's, or (`true`) a new one encrypted with a key CloudWatch
   * (the dead-letter alarm) and the chat service may use.
   */
  private createChatbotTopic(props: FlowAlertsConstructProps): sns.ITopic | undefined {
    const chat = props.alerts.chatbot;
    if (chat === undefined) return undefined;
    if (chat !== true) return chat;
    const key = cloudWatchTopicKey(this, "ChatbotTopicKey", `Encrypts the Amazon Q Developer chat topic of flowhooks flow ${props.flowName}`);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        principals: [new iam.ServicePrincipal("chatbot.amazonaws.com")],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
    );
    return cloudWatchTopic(this, "ChatbotTopic", key, `flowhooks ${props.flowName} chat notifications`);
  }

  /** The alert bus: the user's (warned about when it is in another account), or (`true`) a new one. */
  private createAlertBus(props: FlowAlertsConstructProps): events.IEventBus | undefined {
    const bus = props.alerts.eventBus;
    if (bus === undefined) return undefined;
    if (bus === true) return new events.EventBus(this, "AlertBus", { description: `flowhooks ${props.flowName}: one event per alert` });
    const here = Stack.of(this).account;
    const there = bus.env.account;
    if (!Token.isUnresolved(here) && !Token.isUnresolved(there) && here !== there) {
      Annotations.of(this).addWarningV2(
        "flowhooks:alertBusOtherAccount",
        `alerts.eventBus is in account ${there}, this stack in ${here}: its handler can put alert events there only if the bus's resource policy ` +
          `allows events:PutEvents from account ${here} (in account ${there}: new events.CfnEventBusPolicy(…, { eventBusName, statementId: "flowhooks", ` +
          `statement: { Effect: "Allow", Principal: { AWS: "arn:aws:iam::${here}:root" }, Action: "events:PutEvents", Resource: <the bus ARN> } })). ` +
          `Without it every alert event fails with AccessDeniedException.`,
      );
    }
    return bus;
  }

  /** cdk-nag (AwsSolutions) findings that are deliberate, each acknowledged with its reason. */
  private acknowledgeFindings(stateMachine: sfn.StateMachine, tracing: boolean, resultsBucket?: s3.IBucket): void {
    const nag = (id: string, finding?: string) => `AwsSolutions::AwsSolutions-${id}${finding ? `[${finding}]` : ""}`;
    const smLogicalId = Stack.of(this).getLogicalId(stateMachine.node.defaultChild as CfnResource);
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${smLogicalId}.Name>:*`;
    for (const fn of [this.handlerFunction, this.reconcileFunction]) {
      Validations.of(fn).acknowledge({
        id: nag("L1"),
        reason: "The handler runs flowhooks' default runtime (Node.js 24, DEFAULT_RUNTIME), which the flow's bundle targets or predates.",
      });
      const role = fn.role!;
      Validations.of(role).acknowledge({
        id: nag("IAM5", `Resource::${executions}`),
        reason: "Execution ARNs end with the execution's name, unknown at deploy time; the role may read only executions of this flow's state machine.",
      });
      const bucket = resultsBucket?.node.defaultChild;
      if (bucket instanceof CfnResource) {
        Validations.of(role).acknowledge({
          id: nag("IAM5", `Resource::<${Stack.of(this).getLogicalId(bucket)}.Arn>/*/crashed-children.json`),
          reason: "The crashed children a Distributed Map's collect step keeps are under the execution's and the task's names, unknown at deploy time; the role may only read those objects.",
        });
      }
      if (this.alertTopic || this.chatbotTopic) {
        Validations.of(role).acknowledge({
          id: nag("IAM5", "Action::kms:GenerateDataKey*"),
          reason: "Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* (CDK's topic grant), on the topic's own key only.",
        });
      }
      if (tracing) {
        Validations.of(role).acknowledge({
          id: nag("IAM5", "Resource::*"),
          reason: "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (tracing is on).",
        });
      }
    }
  }
}

/** A customer-managed key CloudWatch alarms may use: the AWS-managed alias/aws/sns key cannot be granted to CloudWatch. */
function cloudWatchTopicKey(scope: Construct, id: string, description: string): kms.Key {
  const key = new kms.Key(scope, id, { enableKeyRotation: true, description });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      resources: ["*"],
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  );
  return key;
}

/** An encrypted topic this account's CloudWatch alarms may publish to. */
function cloudWatchTopic(scope: Construct, id: string, key: kms.IKey, displayName: string): sns.Topic {
  const topic = new sns.Topic(scope, id, { masterKey: key, enforceSSL: true, displayName });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ["sns:Publish"],
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      resources: [topic.topicArn],
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  );
  return topic;
}

/** `arn:<partition>:states:<region>:<account>:execution:<state machine name>`. */
function executionArn(stack: Stack, stateMachineName: string): string {
  return stack.formatArn({ service: "states", resource: "execution", resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}
