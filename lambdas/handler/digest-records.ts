/**
 * The records of grouped alerting the handler receives besides events: digest flushes (from its
 * own queue) and the dead-letter alarm (from the notices topic). Deferral is SQS's job: a flush
 * that must wait ends the invocation and comes back when the destination has room.
 */
import { createHash } from "node:crypto";
import type { SNSEvent, SQSRecord } from "aws-lambda";
import { alarmNotice } from "../../lib/aws/alarm-notice";
import type { Logger } from "../../lib/aws/logger";
import type { AlertQueue } from "../../lib/aws/queue";
import type { AlertChannel } from "../../lib/notify/alert";
import { isDigestChannel, type FlushRequest } from "../../lib/notify/digest";
import { takesNotices } from "../../lib/notify/ports";
import type { TransitionKey, TransitionStore } from "../../lib/aws/dedupe";
import { deliverOnce } from "./deliver";

/**
 * Receives after which a deferred flush record is sent again as a new record instead of being made
 * visible later: every deferral counts as a receive, and a long digest (20 messages at Slack's pace)
 * must not reach the queue's maxReceiveCount (at least 5, checked at synth) and be dead-lettered.
 */
export const REQUEUE_AFTER_RECEIVES = 3;

export interface FlushRecordParts {
  channels: readonly AlertChannel[];
  queue: AlertQueue;
  log: Logger;
  /** The invocation's remaining time. @default - unlimited */
  remainingMs?: () => number;
}

/** Sends what the flush asks for: "done" (delete the record), or "retry" (deferred: report it as a batch item failure). */
export async function processFlushRecord(record: SQSRecord, flush: FlushRequest, parts: FlushRecordParts): Promise<"done" | "retry"> {
  const log = parts.log.child({ executionArn: flush.group, channel: flush.channel });
  const channel = parts.channels.find((c) => c.name === flush.channel);
  if (!channel || !isDigestChannel(channel)) {
    log.error(`Dropped a digest flush for channel "${flush.channel}", which this handler does not have (was the stack changed?).`);
    return "done";
  }
  const result = await channel.flush(flush.group, { remainingMs: parts.remainingMs });
  for (const message of result.ambiguous ?? []) log.error(message);
  for (const message of result.undelivered ?? []) log.warn(message);
  if (result.deferSeconds === undefined) {
    log.info(`Digest flushed: ${result.requests} request${result.requests === 1 ? "" : "s"} to ${flush.channel}.`, { requests: result.requests });
    return "done";
  }
  log.info(`Digest deferred ${result.deferSeconds}s (destination busy).`, { requests: result.requests });
  if (await requeued(parts.queue, record, result.deferSeconds, log)) return "done";
  await parts.queue.defer(record, result.deferSeconds).catch((error) => log.warn("Could not defer the record; it returns after the visibility timeout.", { error }));
  return "retry";
}

async function requeued(queue: AlertQueue, record: SQSRecord, delaySeconds: number, log: Logger): Promise<boolean> {
  if (Number(record.attributes?.ApproximateReceiveCount ?? 1) < REQUEUE_AFTER_RECEIVES) return false;
  try {
    await queue.send(record.body, delaySeconds);
    return true;
  } catch (error) {
    log.warn("Could not requeue the deferred flush; deferring it instead.", { error });
    return false;
  }
}

export interface NoticeParts {
  /** Records which destinations got each notice, so Lambda's retry of the invocation posts only to those that did not. */
  store: TransitionStore;
  /** Records a send (lambdas/handler/deliver.ts `keepTrying`). */
  keep: (write: () => Promise<void>, log: Logger) => Promise<void>;
}

/**
 * The dead-letter alarm (CloudWatch → SNS): Slack and a FIFO alert topic hear of it as a standard topic's subscribers do. Throwing
 * makes Lambda retry the whole invocation, so each destination's post is claimed: one that got the
 * notice does not get it again when a later one failed.
 */
export async function postAlarmNotices(event: SNSEvent, flowName: string, channels: readonly AlertChannel[], logger: Logger, parts: NoticeParts): Promise<void> {
  for (const record of event.Records) {
    const notice = alarmNotice(record.Sns.Message, flowName);
    if (!notice) continue;
    const grouped = channels.filter(takesNotices);
    logger.warn(notice.title, { executionArn: null, channels: grouped.map((c) => c.name) });
    await deliverOnce({
      store: parts.store,
      key: alarmNoticeKey(flowName, record.Sns.Message),
      destinations: grouped,
      send: (channel) => channel.notice(notice),
      keep: (write) => parts.keep(write, logger),
      log: logger,
      what: "Dead-letter notice",
    });
  }
}

/** One alarm notification's key: its text (an ALARM transition has its own StateChangeTime), hashed to fit a key. */
export function alarmNoticeKey(flowName: string, message: string): TransitionKey {
  const digest = createHash("sha256").update(message).digest("hex");
  return { executionArn: `flow:${flowName}`, object: "dead-letter-notice", transition: digest };
}

/**
 * The reconciler's sweep of one execution (lib/aws/reconcile.ts `sweep`): each digest channel arms
 * a flush for the execution's digest if it waits with none coming (its flush record dead-lettered
 * or lost). True when one was armed.
 */
export async function rearmDigests(executionArn: string, channels: readonly AlertChannel[], log: Logger): Promise<boolean> {
  let armed = false;
  for (const channel of channels.filter(isDigestChannel)) {
    if (!channel.rearm || !(await channel.rearm(executionArn))) continue;
    log.warn("A digest waited with no flush coming (its flush record was dead-lettered or lost); a flush is armed again.", { executionArn, channel: channel.name });
    armed = true;
  }
  return armed;
}
