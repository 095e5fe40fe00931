/**
 * What the cloud would deliver to the handler Lambda, built locally in AWS's shapes: EventBridge
 * envelopes ("Step Functions Execution Status Change" and the task events), each wrapped in an SQS
 * record, and the execution history `GetExecutionHistory` would return.
 */
import { hash, randomUUID } from "node:crypto";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { SQSRecord } from "aws-lambda";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./synth";

export type EmulatedStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface EventBridgeEnvelope {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** The last second `eventTime` wrote, and its text: an execution's events mostly fall in the same second. */
let lastSecond = Number.NaN;
let lastSecondText = "";

/** EventBridge writes times to the second. */
function eventTime(at: Date): string {
  const second = Math.floor(at.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecondText = `${at.toISOString().slice(0, 19)}Z`;
    lastSecond = second;
  }
  return lastSecondText;
}

export interface StatusChange {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: EmulatedStatus;
  startDate: Date;
  stopDate?: Date;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
}

/** A "Step Functions Execution Status Change" event, as Step Functions sends it. */
export function statusChangeEnvelope(change: StatusChange): EventBridgeEnvelope {
  const ended = change.status !== "RUNNING";
  const output = change.status === "SUCCEEDED" ? JSON.stringify(change.output ?? null) : null;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: LOCAL_ACCOUNT,
    time: eventTime(ended ? (change.stopDate ?? new Date()) : change.startDate),
    region: LOCAL_REGION,
    resources: [change.executionArn],
    detail: {
      executionArn: change.executionArn,
      stateMachineArn: change.stateMachineArn,
      name: change.name,
      status: change.status,
      startDate: change.startDate.getTime(),
      stopDate: ended ? (change.stopDate ?? new Date()).getTime() : null,
      input: JSON.stringify(change.input ?? {}),
      output,
      inputDetails: { included: true },
      outputDetails: output === null ? null : { included: true },
      error: change.error ?? null,
      cause: change.cause ?? null,
      redriveCount: 0,
      redriveStatus: change.status === "FAILED" || change.status === "TIMED_OUT" || change.status === "ABORTED" ? "REDRIVABLE" : "NOT_REDRIVABLE",
    },
  };
}

/** An envelope for an entry a Lambda (or an `events:putEvents` state) put on the bus. */
export function putEventsEnvelope(entry: { Source?: string; DetailType?: string; Detail?: unknown; Resources?: string[] }, at = new Date()): EventBridgeEnvelope {
  const detail = typeof entry.Detail === "string" ? (JSON.parse(entry.Detail) as Record<string, unknown>) : ((entry.Detail ?? {}) as Record<string, unknown>);
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": entry.DetailType ?? "",
    source: entry.Source ?? "",
    account: LOCAL_ACCOUNT,
    time: eventTime(at),
    region: LOCAL_REGION,
    resources: entry.Resources ?? [],
    detail,
  };
}

/** An md5OfBody read (or set) once per record; absent until then. */
const md5OfBodies = new WeakMap<SQSRecord, string>();

/**
 * md5OfBody as an own enumerable property hashed when first read (the handler never reads it; ~2 µs
 * a record), one-shot (no Hash object). One shared descriptor: an object literal with its own
 * get/set made two closures and an accessor pair per record (~1 µs, more than the rest of it).
 */
const MD5_OF_BODY: PropertyDescriptor = {
  get(this: SQSRecord): string {
    let md5 = md5OfBodies.get(this);
    if (md5 === undefined) md5OfBodies.set(this, (md5 = hash("md5", this.body)));
    return md5;
  },
  set(this: SQSRecord, value: string) {
    md5OfBodies.set(this, value);
  },
  enumerable: true,
  configurable: true,
};

/** The SQS record the rule's queue would hand the handler Lambda. */
export function sqsRecord(envelope: EventBridgeEnvelope | string, queueArn: string, receiveCount = 1): SQSRecord {
  const body = typeof envelope === "string" ? envelope : JSON.stringify(envelope);
  const now = String(Date.now());
  const record = {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: now,
      SenderId: "AIDAEMULATOR",
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
  } as SQSRecord;
  // In SQS's place among the fields (after messageAttributes), as before.
  Object.defineProperty(record, "md5OfBody", MD5_OF_BODY);
  record.eventSource = "aws:sqs";
  record.eventSourceARN = queueArn;
  record.awsRegion = LOCAL_REGION;
  return record;
}

/** Builds the execution history as it happens (only the events flowhooks reads). */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private nextId = 1;
  /** The last event id of each running Task state entry, for `previousEventId` links. */
  private readonly last = new Map<string, number>();

  /** Completes and records `event`, a literal each caller makes for it (so it is not copied). */
  private push(event: Omit<HistoryEvent, "id" | "timestamp">, at = new Date()): number {
    const id = this.nextId++;
    const recorded = event as HistoryEvent;
    recorded.id = id;
    recorded.timestamp = at;
    this.events.push(recorded);
    return id;
  }

  executionStarted(input: unknown, at: Date): void {
    this.push({ type: "ExecutionStarted", previousEventId: 0, executionStartedEventDetails: { input: JSON.stringify(input ?? {}) } }, at);
  }

  /**
   * An attempt of Task state `key` (a state entry) is scheduled and started; `first` for the entry's
   * first attempt. A state run by an inline Map iteration (`mapIndex`) is entered after that
   * iteration's MapIterationStarted, which names its index, as in Step Functions' history.
   */
  attemptStarted(key: string, stateName: string, first: boolean, resource: string, at = new Date(), mapIndex?: number): void {
    if (first) {
      const iteration =
        mapIndex === undefined ? 0 : this.push({ type: "MapIterationStarted", previousEventId: 0, mapIterationStartedEventDetails: { index: mapIndex } } as never, at);
      const entered = this.push({ type: "TaskStateEntered", previousEventId: iteration, stateEnteredEventDetails: { name: stateName } }, at);
      this.last.set(key, entered);
    }
    const scheduled = this.push({ type: "TaskScheduled", previousEventId: this.last.get(key), taskScheduledEventDetails: { resourceType: "lambda", resource: "invoke", region: LOCAL_REGION, parameters: "{}" } } as never, at);
    const started = this.push({ type: "TaskStarted", previousEventId: scheduled, taskStartedEventDetails: { resourceType: "lambda", resource } } as never, at);
    this.last.set(key, started);
  }

  attemptSucceeded(key: string, output: unknown, at = new Date()): void {
    this.last.set(key, this.push({ type: "TaskSucceeded", previousEventId: this.last.get(key), taskSucceededEventDetails: { resourceType: "lambda", resource: "invoke", output: JSON.stringify(output) } }, at));
  }

  attemptFailed(key: string, error: string, cause: string, at = new Date()): void {
    this.last.set(key, this.push({ type: "TaskFailed", previousEventId: this.last.get(key), taskFailedEventDetails: { resourceType: "lambda", resource: "invoke", error, cause } }, at));
  }

  executionEnded(status: Exclude<EmulatedStatus, "RUNNING">, details: { output?: unknown; error?: string; cause?: string }, at: Date): void {
    const prev = this.nextId - 1;
    switch (status) {
      case "SUCCEEDED":
        this.push({ type: "ExecutionSucceeded", previousEventId: prev, executionSucceededEventDetails: { output: JSON.stringify(details.output ?? null) } }, at);
        break;
      case "FAILED":
        this.push({ type: "ExecutionFailed", previousEventId: prev, executionFailedEventDetails: { error: details.error, cause: details.cause } }, at);
        break;
      case "TIMED_OUT":
        this.push({ type: "ExecutionTimedOut", previousEventId: prev, executionTimedOutEventDetails: { error: details.error, cause: details.cause } }, at);
        break;
      case "ABORTED":
        this.push({ type: "ExecutionAborted", previousEventId: prev, executionAbortedEventDetails: { error: details.error, cause: details.cause } }, at);
        break;
    }
  }
}
