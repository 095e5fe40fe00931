/**
 * The handler Lambda: `createEventsHandler(flow)` consumes the flow's SQS queue (EventBridge
 * status and task events), `createReconcileHandler(flow)` runs on a schedule and recovers endings
 * no event reported. Thin: parse, hand to the processor, report which records to retry.
 */
import type { Context, SNSEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { isSnsEvent } from "../../lib/aws/alarm-notice";
import { systemClock, type Clock } from "../../lib/core/clock";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { getRunContext, type RunContext } from "../../lib/core/context";
import type { Flow } from "../../lib/core/flow";
import type { AlertChannel } from "../../lib/notify/alert";
import { digestChannel, parseFlushRecord } from "../../lib/notify/digest";
import { slackDigestTarget } from "../../lib/notify/slack-digest";
import { slackAppTarget } from "../../lib/notify/slack-app";
import { snsChannel } from "../../lib/notify/sns";
import { chatbotChannel } from "../../lib/notify/chatbot";
import { eventBridgeChannel } from "../../lib/notify/eventbridge";
// lib/aws/index.ts, not secrets.ts: loading it gives the channels their AWS adapters (lib/notify/ports.ts).
import { createSecrets, loadConfiguredSecrets, secretArnVariable, type Secrets } from "../../lib/aws/index";
import { configuredSecretNames } from "../../lib/aws/secrets";
import { maskSecrets } from "../../lib/core/mask";
import { DynamoDbDocumentStore, type DocumentStore } from "../../lib/aws/documents";
import { sqsAlertQueue, type AlertQueue } from "../../lib/aws/queue";
import { ClaimInProgressError, DynamoDbTransitionStore, type TransitionStore, type WatermarkStore } from "../../lib/aws/dedupe";
import { MalformedEventError, parseRecordBody } from "../../lib/aws/events";
import { createLogger, type Logger } from "../../lib/aws/logger";
import { reconcile, type ReconcileSummary } from "../../lib/aws/reconcile";
import { loadSfn } from "../../lib/aws/sdk";
import { HandlerConfigError, readHandlerEnv, type HandlerEnv } from "./env";
import { EventProcessor, type ProcessLimits } from "./process";
import { postAlarmNotices, processFlushRecord, rearmDigests } from "./digest-records";
import { keepTrying } from "./deliver";
import type { ResultStore } from "../../lib/core/results";
import { resultStoreFromEnv } from "../../lib/aws/results";

/** How long the write recording a posted dead-letter notice is retried (the invocation has a 60 s timeout). */
const NOTICE_KEEP_MS = 30_000;

export { EventProcessor, DEFAULT_ALERT_ON } from "./process";
export { readHandlerEnv, HandlerConfigError } from "./env";
export { REQUEUE_AFTER_RECEIVES } from "./digest-records";

export interface HandlerDeps {
  /** Configuration source. @default process.env */
  env?: Record<string, string | undefined>;
  /** Claims and watermark. @default - DynamoDB table FLOWHOOKS_DEDUPE_TABLE */
  store?: TransitionStore & WatermarkStore;
  /** Built-in alert channels. @default - SNS (FLOWHOOKS_ALERT_TOPIC_ARN), Amazon Q Developer (FLOWHOOKS_CHATBOT_TOPIC_ARN), EventBridge (FLOWHOOKS_ALERT_EVENT_BUS) and/or Slack (FLOWHOOKS_SLACK_SECRET_ARN) */
  channels?: AlertChannel[];
  /** Digests, Slack threads and rate budgets shared by invocations. @default - the DynamoDB table FLOWHOOKS_DEDUPE_TABLE */
  documents?: DocumentStore;
  /** The handler's queue: digest flushes are scheduled and busy destinations deferred there. @default - SQS (FLOWHOOKS_EVENTS_QUEUE_URL) */
  queue?: AlertQueue;
  /** @default - one client per container, created on the first Step Functions call */
  sfn?: Pick<SFNClient, "send">;
  /** Where a Distributed Map's collect step keeps its crashed children's events. @default - the bucket FLOWHOOKS_RESULTS_BUCKET (or folder FLOWHOOKS_RESULTS_DIR), else none */
  results?: ResultStore;
  /** @default - one client per container, created on the first DynamoDB call */
  dynamodb?: Pick<DynamoDBClient, "send">;
  /** @default - JSON lines on stdout */
  logger?: Logger;
  /** The run context's runtime for state handlers. @default "lambda" */
  runtime?: "lambda" | "emulator";
  /** The reconciler's clock. @default () => new Date() */
  now?: () => Date;
  /** Times state-handler chains against the invocation's remaining time, and waits between store retries. @default systemClock */
  clock?: Clock;
  /**
   * Wraps the flow before its chains run (the emulator records every chain call). It is given this
   * bundle's own `getRunContext`, because a bundle carries its own copy of lib/core.
   * @default - the flow as bundled
   */
  wrapFlow?: (flow: Flow, runtime: { getRunContext: () => RunContext | undefined }) => Flow;
}

/**
 * Emulator and testing hook: `HandlerDeps` set at `globalThis[Symbol.for("flowhooks.handlerDeps")]`
 * are merged over the factory's own deps on each invocation, so code that imports the bundled
 * handler (whose `createEventsHandler(flow)` call is baked into the bundle) can give it an
 * in-memory store, local alert channels and a history reader. Never set in a deployed Lambda.
 */
export const HANDLER_DEPS = Symbol.for("flowhooks.handlerDeps");

function injectedDeps(): HandlerDeps | undefined {
  return (globalThis as Record<symbol, HandlerDeps | undefined>)[HANDLER_DEPS];
}

/** Sets up once per container, and again whenever the injected deps change (a new emulation). */
function lazySetup(flow: Flow, deps: HandlerDeps, needStateMachine: boolean): () => ReturnType<typeof setup> {
  let ready: ReturnType<typeof setup> | undefined;
  let readyFor: HandlerDeps | undefined;
  return () => {
    const injected = injectedDeps();
    if (!ready || readyFor !== injected) {
      ready = setup(flow, injected ? { ...deps, ...injected } : deps, needStateMachine);
      readyFor = injected;
    }
    return ready;
  };
}

let sharedSfn: SFNClient | undefined;

/**
 * The container's Step Functions client, behind a `send` that loads the SDK module and creates the
 * client on the first call (a history read or DescribeExecution), not at init or on a record that
 * needs no Step Functions call.
 */
const lazySfn: Pick<SFNClient, "send"> = {
  send: (async (command: Parameters<SFNClient["send"]>[0]) => {
    const { SFNClient } = await loadSfn();
    return (sharedSfn ??= new SFNClient({})).send(command);
  }) as SFNClient["send"],
};

const SLACK_SECRET = "FLOWHOOKS_ALERTS_SLACK_WEBHOOK";
const SLACK_BOT_SECRET = "FLOWHOOKS_ALERTS_SLACK_BOT_TOKEN";

interface ChannelParts {
  documents: DocumentStore;
  queue: AlertQueue;
  now?: () => Date;
  secrets: Pick<Secrets, "get">;
}

/**
 * Where the handler's secrets are configured: the flow's `secrets` (`FLOWHOOKS_SECRET_ARN_<NAME>`,
 * the same every task function gets) and, when the built-in channels are used, the Slack webhook
 * and bot token under names of their own. The webhook URL and token stay in Secrets Manager; only
 * their ARNs are in the environment, whose rest tells secrets.get() it runs in Lambda.
 */
function secretsEnvironment(env: HandlerEnv, processEnv: Record<string, string | undefined>, builtInChannels: boolean): Record<string, string | undefined> {
  const out = { ...processEnv };
  if (builtInChannels && env.slackSecretArn) out[secretArnVariable(SLACK_SECRET)] = env.slackSecretArn;
  if (builtInChannels && env.slackBotTokenSecretArn && env.slackChannel) out[secretArnVariable(SLACK_BOT_SECRET)] = env.slackBotTokenSecretArn;
  return out;
}

function defaultChannels(env: HandlerEnv, parts: ChannelParts): AlertChannel[] {
  const channels: AlertChannel[] = [];
  const secrets = parts.secrets;
  if (env.alertTopicArn) channels.push(snsChannel({ topicArn: env.alertTopicArn }));
  if (env.chatbotTopicArn) channels.push(chatbotChannel({ topicArn: env.chatbotTopicArn }));
  if (env.alertEventBus) channels.push(eventBridgeChannel({ eventBusName: env.alertEventBus }));
  if (env.slackSecretArn) {
    // Grouped per execution and paced to the webhook's rate (lib/notify/digest.ts).
    const target = slackDigestTarget({ webhookUrl: () => secrets.get(SLACK_SECRET) });
    channels.push(digestChannel({ target, store: parts.documents, queue: parts.queue, windowSeconds: env.alertWindowSeconds, now: parts.now }));
  }
  if (env.slackBotTokenSecretArn && env.slackChannel) {
    // One thread per execution, its parent updated in place (lib/notify/slack-app.ts).
    const target = slackAppTarget({ botToken: () => secrets.get(SLACK_BOT_SECRET), channel: env.slackChannel, approvalButtons: env.slackApprovalButtons });
    channels.push(digestChannel({ target, store: parts.documents, queue: parts.queue, windowSeconds: env.alertWindowSeconds, now: parts.now }));
  }
  return channels;
}

function setup(bundled: Flow, deps: HandlerDeps, needStateMachine: boolean) {
  const flow = deps.wrapFlow ? deps.wrapFlow(bundled, { getRunContext }) : bundled;
  const env = readHandlerEnv(deps.env ?? process.env, { needStateMachine });
  const logger = deps.logger ?? createLogger({ fields: { flow: flow.name } });
  const sfn = deps.sfn ?? lazySfn;
  const store =
    deps.store ??
    new DynamoDbTransitionStore({
      tableName: env.dedupeTable,
      // Undefined: the store creates the container's client on its first call.
      client: deps.dynamodb,
      leaseSeconds: env.claimLeaseSeconds,
    });
  const documents = deps.documents ?? new DynamoDbDocumentStore({ tableName: env.dedupeTable, client: deps.dynamodb });
  const queue = deps.queue ?? sqsAlertQueue(env.eventsQueueUrl);
  const secretsEnv = secretsEnvironment(env, deps.env ?? process.env, deps.channels === undefined);
  // One reader (one cache) for the channels and the cold-start read of every secret.
  const secrets = createSecrets({ env: secretsEnv });
  const channels = deps.channels ?? defaultChannels(env, { documents, queue, now: deps.now, secrets });
  const processor = new EventProcessor({
    flow,
    store,
    channels,
    alertOn: env.alertOn,
    logger,
    sfn,
    runtime: deps.runtime,
    stateMachineArn: env.stateMachineArn,
    clock: deps.clock,
    results: deps.results ?? resultStoreFromEnv(env),
  });
  // Every secret the stack gives any function is read before a record is handled (cached between
  // invocations): a value arriving in an event or a history before this code asked for it is masked.
  // `secretsEnv` is this setup's own copy: which secrets it names is known now, not on each invocation.
  const loadSecrets = configuredSecretNames(secretsEnv).length === 0 ? async () => undefined : () => loadConfiguredSecrets(secrets, secretsEnv);
  return { env, logger, sfn, store, processor, channels, queue, loadSecrets, clock: deps.clock ?? systemClock };
}

/**
 * The invocation's deadline, from Lambda's remaining time. A claim's lease must outlast the
 * invocation that holds it, or another invocation takes the claim over mid-send and alerts twice.
 */
function invocationLimits(env: HandlerEnv, clock: Clock, context?: Pick<Context, "getRemainingTimeInMillis">): ProcessLimits {
  if (typeof context?.getRemainingTimeInMillis !== "function") return {};
  const remaining = context.getRemainingTimeInMillis();
  const lease = env.claimLeaseSeconds;
  if (lease * 1000 <= remaining) {
    throw new HandlerConfigError(
      `FLOWHOOKS_CLAIM_LEASE_SECONDS is ${lease} but this function may run ${Math.ceil(remaining / 1000)} s more: a claim would expire while its ` +
        `invocation still works on it, and another invocation would send the alert again. Set it above the function's timeout.`,
    );
  }
  return { deadline: clock.now().getTime() + remaining };
}

/** The SQS-triggered handler (configure the event source with `reportBatchItemFailures`). */
export function createEventsHandler(
  flow: Flow,
  deps: HandlerDeps = {},
): (event: SQSEvent | SNSEvent, context?: Pick<Context, "getRemainingTimeInMillis">) => Promise<SQSBatchResponse> {
  const ready = lazySetup(flow, deps, false);
  return async (event, context) => {
    const { env, logger, processor, channels, queue, clock, store, loadSecrets } = ready();
    const secretsProblem = await loadSecrets().then(
      () => undefined,
      (error: unknown) => error,
    );
    if (isSnsEvent(event)) {
      // The notice is flowhooks' own text: it goes out even when a secret cannot be read (that may be why records dead-letter).
      if (secretsProblem) logger.error("Posting the dead-letter notice although a secret could not be read.", { error: secretsProblem });
      await postAlarmNotices(event, flow.name, channels, logger, {
        store,
        keep: (write, log) => keepTrying(write, { clock, until: clock.now().getTime() + NOTICE_KEEP_MS, log }),
      });
      return { batchItemFailures: [] };
    }
    if (secretsProblem) {
      // Unmasked values could reach an alert: nothing is handled until every secret can be read (SQS delivers the records again).
      logger.error("No record handled: a secret this function is given could not be read, so its value could not be masked.", { error: secretsProblem });
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
    const limits = invocationLimits(env, clock, context);
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      let log = logger.child({ messageId: record.messageId });
      try {
        const flush = parseFlushRecord(record.body);
        if (flush) {
          const outcome = await processFlushRecord(record, flush, { channels, queue, log, remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined });
          if (outcome === "retry") batchItemFailures.push({ itemIdentifier: record.messageId });
          continue;
        }
        const parsed = parseRecordBody(record.body);
        log = log.child({ executionArn: parsed.executionArn });
        await processor.process(parsed, limits);
      } catch (error) {
        if (error instanceof MalformedEventError) {
          // Retrying cannot fix it: log it whole and let SQS delete it.
          // Masked before it is cut, so the cut leaves no part of a secret.
          log.error(`Dropped a malformed record: ${error.message}`, { body: maskSecrets(record.body).slice(0, 2000) });
          continue;
        }
        if (error instanceof ClaimInProgressError) log.warn(`Record postponed: ${error.message}`);
        else log.error("Record failed; SQS will deliver it again.", { error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}

/** The scheduled reconciler: recovers executions that ended without a recorded ending. */
export function createReconcileHandler(
  flow: Flow,
  deps: HandlerDeps = {},
): (event?: unknown, context?: Pick<Context, "getRemainingTimeInMillis">) => Promise<ReconcileSummary> {
  const ready = lazySetup(flow, deps, true);
  return async (_event, context) => {
    const { env, logger, sfn, store, processor, channels, clock, loadSecrets } = ready();
    const limits = invocationLimits(env, clock, context);
    try {
      await loadSecrets();
    } catch (error) {
      logger.error("Reconciliation skipped: a secret this function is given could not be read, so its value could not be masked.", { error });
      throw error;
    }
    return reconcile({
      sfn,
      stateMachineArn: env.stateMachineArn!,
      store,
      process: (e) => processor.processExecutionStatus(e, limits),
      timeLeft: limits.deadline === undefined ? undefined : () => limits.deadline! - clock.now().getTime(),
      logger,
      lookbackSeconds: env.reconcileLookbackSeconds,
      now: deps.now,
      sweep: (executionArn) => rearmDigests(executionArn, channels, logger),
    });
  };
}
