/**
 * The handler's queue: the EventBridge rule → SQS queue → handler Lambda path, one record at a time,
 * redelivered while the handler reports it failed, then dead-lettered. Records wait their delay (a
 * digest window, a deferral) on the handler side's clock. Both engines feed it the same way.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { Clock } from "../core/clock";
import type { AlertQueue } from "../aws/queue";
import { parseFlushRecord } from "../notify/digest";
import { sqsRecord, type EventBridgeEnvelope } from "./envelopes";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./synth";

/** A record on the emulated queue: its body and how often the handler was given it. */
interface QueueItem {
  body: string;
  receives: number;
}

/** What the dead-letter list shows for a record: its EventBridge envelope, or a stand-in naming a digest flush. */
function deadLetterEnvelope(body: string): EventBridgeEnvelope {
  const flush = parseFlushRecord(body);
  if (!flush) return JSON.parse(body) as EventBridgeEnvelope;
  return {
    version: "0",
    id: "digest-flush",
    "detail-type": "flowhooks digest flush",
    source: "flowhooks",
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [flush.group],
    detail: { ...flush },
  };
}

export interface HandlerQueueOptions {
  /** The queue's ARN, as the SQS records name it. */
  queueArn: string;
  /** The handler side's clock. */
  clock: Clock;
  /** How many times a failing record is handed to the handler before it is dead-lettered. */
  maxReceiveCount: number;
  /** Called with each record the handler never processed. */
  onDeadLetter: (envelope: EventBridgeEnvelope, error: unknown) => void;
}

export class HandlerQueue {
  /** Records the handler never processed (they would sit in the dead-letter queue). */
  readonly deadLettered: EventBridgeEnvelope[] = [];
  /** The queue as the handler Lambda's code sends to it (digest flushes) and defers its records. */
  readonly alertQueue: AlertQueue = {
    send: async (body, delaySeconds) => this.enqueue({ body, receives: 0 }, delaySeconds * 1000, true),
    defer: async (record, seconds) => void this.deferrals.set(record.receiptHandle, seconds),
  };
  /** `early`: a flush scheduled by the handler, which may run as soon as the execution has ended. */
  private readonly delayed: { dueAt: number; item: QueueItem; early: boolean }[] = [];
  private readonly deferrals = new Map<string, number>();
  private tail = Promise.resolve();
  private handler: (event: SQSEvent) => Promise<SQSBatchResponse> = async () => {
    throw new Error("The handler's queue has no handler yet.");
  };
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly options: HandlerQueueOptions) {
    // Delayed records whose time came (a real-time clock moves by itself; a virtual one when the run is idle).
    this.ticker = setInterval(() => this.releaseDue(), 50);
    this.ticker.unref();
  }

  /** The handler Lambda the records go to. */
  connect(handler: (event: SQSEvent) => Promise<SQSBatchResponse>): void {
    this.handler = handler;
  }

  /** An EventBridge envelope the rule matched: onto the queue now. */
  deliver(envelope: EventBridgeEnvelope): void {
    this.deliverItem({ body: JSON.stringify(envelope), receives: 0 });
  }

  /** Runs the queue until nothing is left, moving the clock on to each delayed record's time. */
  async drain(): Promise<void> {
    for (;;) {
      // Records added while the queue ran (a flush scheduled at once) run before time moves on.
      for (let current = this.tail; ; current = this.tail) {
        await current;
        if (current === this.tail) break;
      }
      if (this.delayed.length === 0) return;
      // The execution has ended: a digest window need not run out (its ending flushed it); the flush
      // itself still keeps Slack's pace, deferring to its slot.
      const early = this.delayed.filter((d) => d.early);
      if (early.length > 0) {
        for (const entry of early) this.take(entry);
        continue;
      }
      const next = this.delayed.reduce((a, b) => (b.dueAt < a.dueAt ? b : a));
      const waitMs = next.dueAt - this.now();
      if (waitMs > 0) await this.options.clock.sleep(waitMs);
      this.releaseDue();
      if (this.delayed.includes(next)) this.take(next);
    }
  }

  /** Stops the timer that releases delayed records. */
  close(): void {
    clearInterval(this.ticker);
  }

  private now(): number {
    return this.options.clock.now().getTime();
  }

  private enqueue(item: QueueItem, delayMs: number, early = false): void {
    if (delayMs <= 0) return this.deliverItem(item);
    this.delayed.push({ dueAt: this.now() + delayMs, item, early });
  }

  private take(entry: (typeof this.delayed)[number]): void {
    this.delayed.splice(this.delayed.indexOf(entry), 1);
    this.deliverItem(entry.item);
  }

  private releaseDue(): void {
    const t = this.now();
    for (const entry of this.delayed.filter((d) => d.dueAt <= t)) this.take(entry);
  }

  private deliverItem(item: QueueItem): void {
    this.tail = this.tail.then(() => this.receive(item));
  }

  /** Hands the record to the handler until it succeeds, is deferred, or runs out of receives. */
  private async receive(item: QueueItem): Promise<void> {
    const { maxReceiveCount, queueArn } = this.options;
    let lastError: unknown;
    while (item.receives < maxReceiveCount) {
      item.receives++;
      const record = sqsRecord(item.body, queueArn, item.receives);
      try {
        const response = await this.handler({ Records: [record] });
        if (response.batchItemFailures.length === 0) return;
      } catch (error) {
        lastError = error;
      }
      const deferSeconds = this.deferrals.get(record.receiptHandle);
      if (deferSeconds !== undefined && item.receives < maxReceiveCount) {
        // The handler asked SQS to hold the record (a busy destination): it comes back then, not now.
        this.deferrals.delete(record.receiptHandle);
        this.enqueue(item, deferSeconds * 1000);
        return;
      }
      await sleep(10 * item.receives);
    }
    const envelope = deadLetterEnvelope(item.body);
    this.deadLettered.push(envelope);
    this.options.onDeadLetter(envelope, lastError);
  }
}
