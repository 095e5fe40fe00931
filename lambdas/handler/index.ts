/**
 * The handler Lambda: `createEventsHandler(flow)` consumes the flow's SQS queue (EventBridge
 * status and task events), `createReconcileHandler(flow)` runs on a schedule and recovers endings
 * no event reported. Thin: parse, hand to the processor, report which records to retry.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { Flow } from "../../lib/core/flow";
import type { AlertChannel } from "../../lib/notify/alert";
import { slackChannel } from "../../lib/notify/slack";
import { snsChannel } from "../../lib/notify/sns";
import { createSecrets, secretArnVariable } from "../../lib/aws/secrets";
import { ClaimInProgressError, DynamoDbTransitionStore, type TransitionStore, type WatermarkStore } from "../../lib/aws/dedupe";
import { MalformedEventError, parseRecordBody } from "../../lib/aws/events";
import { createLogger, type Logger } from "../../lib/aws/logger";
import { reconcile, type ReconcileSummary } from "../../lib/aws/reconcile";
import { readHandlerEnv, type HandlerEnv } from "./env";
import { EventProcessor } from "./process";

export { EventProcessor, DEFAULT_ALERT_ON } from "./process";
export { readHandlerEnv, HandlerConfigError } from "./env";

export interface HandlerDeps {
  /** Configuration source. @default process.env */
  env?: Record<string, string | undefined>;
  /** Claims and watermark. @default - DynamoDB table FLOWHOOKS_DEDUPE_TABLE */
  store?: TransitionStore & WatermarkStore;
  /** Built-in alert channels. @default - SNS (FLOWHOOKS_ALERT_TOPIC_ARN) and/or Slack (FLOWHOOKS_SLACK_SECRET_ARN) */
  channels?: AlertChannel[];
  /** @default - one client per container */
  sfn?: Pick<SFNClient, "send">;
  /** @default - one client per container */
  dynamodb?: DynamoDBClient;
  /** @default - JSON lines on stdout */
  logger?: Logger;
  /** The run context's runtime for state handlers. @default "lambda" */
  runtime?: "lambda" | "emulator";
  /** The reconciler's clock. @default () => new Date() */
  now?: () => Date;
}

/** Created once per container, on first use, so importing this module needs no AWS configuration. */
let sharedSfn: SFNClient | undefined;
let sharedDynamo: DynamoDBClient | undefined;

const SLACK_SECRET = "FLOWHOOKS_ALERTS_SLACK_WEBHOOK";

function defaultChannels(env: HandlerEnv): AlertChannel[] {
  const channels: AlertChannel[] = [];
  if (env.alertTopicArn) channels.push(snsChannel({ topicArn: env.alertTopicArn }));
  if (env.slackSecretArn) {
    // The webhook URL stays in Secrets Manager; only its ARN is in the environment.
    const secrets = createSecrets({ env: { [secretArnVariable(SLACK_SECRET)]: env.slackSecretArn } });
    channels.push(slackChannel({ webhookSecret: SLACK_SECRET, secrets }));
  }
  return channels;
}

function setup(flow: Flow, deps: HandlerDeps, needStateMachine: boolean) {
  const env = readHandlerEnv(deps.env ?? process.env, { needStateMachine });
  const logger = deps.logger ?? createLogger({ fields: { flow: flow.name } });
  const sfn = deps.sfn ?? (sharedSfn ??= new SFNClient({}));
  const store =
    deps.store ??
    new DynamoDbTransitionStore({
      tableName: env.dedupeTable,
      client: deps.dynamodb ?? (sharedDynamo ??= new DynamoDBClient({})),
      leaseSeconds: env.claimLeaseSeconds,
    });
  const processor = new EventProcessor({
    flow,
    store,
    channels: deps.channels ?? defaultChannels(env),
    alertOn: env.alertOn,
    logger,
    sfn,
    runtime: deps.runtime,
    stateMachineArn: env.stateMachineArn,
  });
  return { env, logger, sfn, store, processor };
}

/** The SQS-triggered handler (configure the event source with `reportBatchItemFailures`). */
export function createEventsHandler(flow: Flow, deps: HandlerDeps = {}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  let ready: ReturnType<typeof setup> | undefined;
  return async (event) => {
    ready ??= setup(flow, deps, false);
    const { logger, processor } = ready;
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      let log = logger.child({ messageId: record.messageId });
      try {
        const parsed = parseRecordBody(record.body);
        log = log.child({ executionArn: parsed.executionArn });
        await processor.process(parsed);
      } catch (error) {
        if (error instanceof MalformedEventError) {
          // Retrying cannot fix it: log it whole and let SQS delete it.
          log.error(`Dropped a malformed record: ${error.message}`, { body: record.body.slice(0, 2000) });
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
export function createReconcileHandler(flow: Flow, deps: HandlerDeps = {}): (event?: unknown) => Promise<ReconcileSummary> {
  let ready: ReturnType<typeof setup> | undefined;
  return async () => {
    ready ??= setup(flow, deps, true);
    const { env, logger, sfn, store, processor } = ready;
    return reconcile({
      sfn,
      stateMachineArn: env.stateMachineArn!,
      store,
      process: (e) => processor.processExecutionStatus(e),
      logger,
      lookbackSeconds: env.reconcileLookbackSeconds,
      now: deps.now,
    });
  };
}
