/**
 * Grouping per execution: a channel whose `send` only records the alert in the execution's digest
 * (a document in the claims table) and schedules a flush record on the handler's own queue; the
 * flush sends what is pending as few messages as the destination's target allows, one rate-limit
 * slot per request, and asks to be deferred (never sleeps) when the destination is busy.
 *
 * What a request looks like (a webhook digest, a thread reply, a parent update) is the target's
 * business (slack-digest.ts, slack-app.ts); this module owns the bookkeeping: nothing pending is
 * dropped, nothing sent is sent again, a flush that crashed is resumed by its record's redelivery.
 */
import { createHash, randomUUID } from "node:crypto";
import { NotificationError } from "../core/errors";
import { Retrying } from "../core/states";
import { updateDocument, type DocumentStore } from "../aws/documents";
import type { Notice } from "../aws/alarm-notice";
import type { AlertQueue } from "../aws/queue";
import { RateLimiter, type RateLimit } from "../aws/rate-limit";
import type { Alert, AlertChannel } from "./alert";
import { alertError, alertTitle, stateColor, truncate } from "./format";

/** Longest error text a digest keeps per task (the execution's console page has the rest). */
export const DIGEST_ERROR_CHARS = 300;

/** One task alert, as a digest keeps it until it is sent. */
export interface DigestLine {
  /** Identifies the transition (a redelivered alert is recorded once). */
  id: string;
  task: string;
  /** The new state's name ("Failed", "Retrying", …). */
  state: string;
  color: string;
  /** `ErrorName: message`, trimmed. */
  error?: string;
  /** The state's message, trimmed (when there is no error). */
  message?: string;
  attempt?: number;
  maxAttempts?: number;
  /** ISO time of the next attempt (Retrying). */
  nextAttemptAt?: string;
  observedAfterTheFact?: boolean;
  /** ISO time of the transition. */
  at: string;
}

/** The flow's ending, as a digest keeps it until it is sent. */
export interface DigestEnding {
  state: string;
  title: string;
  color: string;
  message?: string;
  error?: string;
  failedTasks?: string[];
  at: string;
  /** ISO time the execution started, where known. */
  startedAt?: string;
}

/** Everything one execution's digest on one channel holds (one document). */
export interface DigestDoc {
  flow: string;
  executionId: string;
  consoleUrl?: string;
  /** Task alerts not sent yet, in arrival order. */
  pending: DigestLine[];
  /** Ids of every line ever recorded (a redelivered alert is not recorded twice). */
  seen: string[];
  /** Each alerted task's latest state, for counts. */
  taskStates: Record<string, string>;
  /** The flow's ending, until it is sent. */
  ending?: DigestEnding;
  endingSent?: boolean;
  /** Messages and updates sent so far. */
  requests: number;
  /** Lines sent so far. */
  sentLines: number;
  /** A flush record is on the queue (or being processed): appenders need not schedule another. */
  flushScheduled: boolean;
  /** A rate-limit slot this digest reserved (ms since the epoch); its flush goes then without queueing again. */
  slotAt?: number;
  /** The flush in progress and until when it may hold the digest. */
  lease?: { owner: string; until: number };
  /** Target-specific state (a Slack thread's ts, …). */
  target: Record<string, unknown>;
}

/** What a target reports about one request. */
export type DigestOutcome = { ok: true } | { ok: false; retryAfterSeconds: number };

/** One request a target wants to make next, and what it changes once it succeeded. */
export interface DigestRequest {
  /** For logs: "digest of 12 task alerts", "parent update". */
  describe: string;
  send(): Promise<DigestOutcome>;
  /** Applies the success to the digest as re-read (other alerts may have arrived meanwhile). */
  apply(doc: DigestDoc): void;
}

/** A destination that sends digests (Slack webhook, Slack app). One file per target. */
export interface DigestTarget {
  /** The channel's name in logs and claims ("slack"). */
  readonly name: string;
  /** Rate-limit key: every invocation posting to the same place shares it. */
  readonly destination: string;
  readonly limit: RateLimit;
  /** How long one request may take. */
  readonly requestTimeoutMs: number;
  /** The next request for this digest, or undefined when everything is sent. */
  next(doc: DigestDoc): Promise<DigestRequest | undefined> | DigestRequest | undefined;
  /** Posts a notice about the alerting itself (the dead-letter alarm), outside any digest. */
  notice(notice: Notice): Promise<DigestOutcome>;
}

export interface DigestChannelOptions {
  target: DigestTarget;
  /** Where digests (and rate budgets) are kept: the claims table, or memory locally. */
  store: DocumentStore;
  /** Where flush records are scheduled. */
  queue: AlertQueue;
  /** Alerts of one execution arriving within this many seconds of the first go out together. @default 5 */
  windowSeconds?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

/** What a flush record asks: send what is pending for `group` on channel `channel`. */
export interface FlushRequest {
  channel: string;
  group: string;
}

const FLUSH_MARKER = "flowhooks.digestFlush";

export function flushRecordBody(request: FlushRequest): string {
  return JSON.stringify({ [FLUSH_MARKER]: request });
}

/** The flush request in an SQS record body, or undefined for any other record. */
export function parseFlushRecord(body: string): FlushRequest | undefined {
  if (!body.includes(FLUSH_MARKER)) return undefined;
  try {
    const parsed = JSON.parse(body)?.[FLUSH_MARKER];
    if (typeof parsed?.channel === "string" && typeof parsed?.group === "string") return { channel: parsed.channel, group: parsed.group };
  } catch {
    // Not ours after all: the event parser reports it.
  }
  return undefined;
}

export interface FlushOptions {
  /** The invocation's remaining time (Lambda's `getRemainingTimeInMillis`). @default - unlimited */
  remainingMs?: () => number;
}

/** A flush's result: done, or come back after `deferSeconds` (the record is made visible again then). */
export interface FlushResult {
  requests: number;
  deferSeconds?: number;
}

/** A channel that groups alerts per execution (see the module comment). */
export interface DigestChannel extends AlertChannel {
  /** Sends what is pending for one digest; used by the handler for flush records. */
  flush(group: string, options?: FlushOptions): Promise<FlushResult>;
  /** Posts a notice now (SNS retries the invocation when this throws). */
  notice(notice: Notice): Promise<void>;
}

export function isDigestChannel(channel: AlertChannel): channel is DigestChannel {
  return typeof (channel as Partial<DigestChannel>).flush === "function";
}

function lineId(alert: Alert): string {
  const key = [alert.task, alert.oldState.name, alert.newState.name, alert.attempt ?? "-", alert.at.toISOString()].join("|");
  return createHash("sha256").update(key).digest("base64url").slice(0, 16);
}

function errorText(alert: Alert): string | undefined {
  const error = alertError(alert.newState);
  return error ? truncate(`${error.name}: ${error.cause}`.replace(/\s+/g, " "), DIGEST_ERROR_CHARS) : undefined;
}

export function digestLine(alert: Alert): DigestLine {
  const line: DigestLine = {
    id: lineId(alert),
    task: alert.task ?? "(unnamed)",
    state: alert.newState.name,
    color: stateColor(alert.newState),
    at: alert.at.toISOString(),
  };
  const error = errorText(alert);
  if (error) line.error = error;
  else if (alert.newState.message?.trim()) line.message = truncate(alert.newState.message.trim(), DIGEST_ERROR_CHARS);
  if (alert.attempt !== undefined) line.attempt = alert.attempt;
  if (alert.maxAttempts !== undefined) line.maxAttempts = alert.maxAttempts;
  if (alert.newState instanceof Retrying) line.nextAttemptAt = alert.newState.startTime.toISOString();
  if (alert.observedAfterTheFact) line.observedAfterTheFact = true;
  return line;
}

export function digestEnding(alert: Alert): DigestEnding {
  const ending: DigestEnding = { state: alert.newState.name, title: alertTitle(alert), color: stateColor(alert.newState), at: alert.at.toISOString() };
  const error = errorText(alert);
  if (error) ending.error = error;
  if (alert.newState.message?.trim()) ending.message = truncate(alert.newState.message.trim(), DIGEST_ERROR_CHARS);
  if (alert.failedTasks?.length) ending.failedTasks = [...alert.failedTasks];
  if (alert.startedAt) ending.startedAt = alert.startedAt.toISOString();
  return ending;
}

function newDoc(alert: Alert): DigestDoc {
  return {
    flow: alert.flow,
    executionId: alert.executionId ?? "(local run)",
    ...(alert.consoleUrl ? { consoleUrl: alert.consoleUrl } : {}),
    pending: [],
    seen: [],
    taskStates: {},
    requests: 0,
    sentLines: 0,
    flushScheduled: false,
    target: {},
  };
}

/** Tasks by their latest state: `{ Failed: ["a", "b"], Retrying: ["c"] }`. */
export function tasksByState(doc: Pick<DigestDoc, "taskStates">): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [task, state] of Object.entries(doc.taskStates)) (out[state] ??= []).push(task);
  return out;
}

/** `38 failed, 2 retrying` from a state → tasks map. */
export function countsText(byState: Record<string, string[]>): string {
  const parts = Object.entries(byState)
    .sort(([, a], [, b]) => b.length - a.length)
    .map(([state, tasks]) => `${tasks.length} ${state === "TimedOut" ? "timed out" : state.toLowerCase()}`);
  return parts.join(", ") || "no task alerts";
}

/** `1 h 2 min 3 s`, `4.2 s`. */
export function durationText(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [h ? `${h} h` : "", m ? `${m} min` : "", s % 60 ? `${s % 60} s` : ""].filter(Boolean).join(" ");
}

export function digestChannel(options: DigestChannelOptions): DigestChannel {
  const { target, store, queue } = options;
  const windowSeconds = options.windowSeconds ?? 5;
  if (!(windowSeconds >= 0 && windowSeconds <= 900)) {
    throw new TypeError(`digestChannel: \`windowSeconds\` must be between 0 and 900 (SQS's longest delay), got ${String(options.windowSeconds)}.`);
  }
  const now = options.now ?? (() => new Date());
  const limiter = new RateLimiter(store, now);
  const docKey = (group: string) => `digest|${target.name}|${group}`;
  const schedule = (group: string, delaySeconds: number) => queue.send(flushRecordBody({ channel: target.name, group }), delaySeconds);

  async function send(alert: Alert): Promise<void> {
    const group = alert.executionId ?? "local";
    const key = docKey(group);
    const isEnding = alert.kind === "flow";
    const scheduleNow = await updateDocument<DigestDoc, boolean>(store, key, (current) => {
      const doc = current ?? newDoc(alert);
      let added = false;
      if (isEnding) {
        if (!doc.endingSent && !doc.ending) {
          doc.ending = digestEnding(alert);
          added = true;
        }
      } else {
        const line = digestLine(alert);
        if (!doc.seen.includes(line.id)) {
          doc.pending.push(line);
          doc.seen.push(line.id);
          doc.taskStates[line.task] = line.state;
          added = true;
        }
      }
      // A redelivered alert still schedules when no flush is: its first delivery may have failed to.
      const waiting = doc.pending.length > 0 || (doc.ending !== undefined && !doc.endingSent);
      const needed = waiting && (!doc.flushScheduled || (isEnding && added));
      if (!added && !needed) return { result: false };
      doc.flushScheduled ||= needed;
      return { value: doc, result: needed };
    });
    if (!scheduleNow) return;
    try {
      // The ending goes at once (it closes the conversation); task alerts wait for the window to gather others.
      await schedule(group, isEnding ? 0 : windowSeconds);
    } catch (error) {
      // Unmark, so the retry of this record schedules again rather than trusting a flush that was never sent.
      await updateDocument<DigestDoc>(store, key, (doc) => (doc ? { value: { ...doc, flushScheduled: false }, result: undefined } : { result: undefined })).catch(() => undefined);
      throw error;
    }
  }

  async function flush(group: string, flushOptions: FlushOptions = {}): Promise<FlushResult> {
    const key = docKey(group);
    const owner = randomUUID();
    const remaining = flushOptions.remainingMs ?? (() => Number.POSITIVE_INFINITY);
    const leaseMs = target.requestTimeoutMs + 10_000;
    let requests = 0;
    // Take the digest, or learn when the flush holding it must be done.
    const busyMs = await updateDocument<DigestDoc, number>(store, key, (doc) => {
      const t = now().getTime();
      if (!doc) return { result: 0 };
      if (doc.lease && doc.lease.owner !== owner && doc.lease.until > t) return { result: doc.lease.until - t };
      return { value: { ...doc, lease: { owner, until: t + leaseMs } }, result: 0 };
    });
    if (busyMs > 0) return { requests, deferSeconds: Math.ceil(busyMs / 1000) };
    const release = () =>
      updateDocument<DigestDoc>(store, key, (doc) =>
        doc?.lease?.owner === owner ? { value: { ...doc, lease: undefined }, result: undefined } : { result: undefined },
      );
    for (;;) {
      const current = await store.get<DigestDoc>(key);
      if (!current || current.value.lease?.owner !== owner) return { requests };
      const request = await target.next(current.value);
      if (!request) {
        // Done, unless an alert arrived since the read: then go round again.
        const closed = await updateDocument<DigestDoc, boolean>(store, key, (doc) => {
          if (!doc || doc.lease?.owner !== owner) return { result: true };
          if (doc.pending.length > 0 || (doc.ending && !doc.endingSent)) return { result: false };
          return { value: { ...doc, flushScheduled: false, lease: undefined }, result: true };
        });
        if (closed) return { requests };
        continue;
      }
      if (remaining() < target.requestTimeoutMs + 2_000) {
        // Never start a request the invocation may not live to finish: come back in a moment.
        await release();
        return { requests, deferSeconds: 1 };
      }
      const waitMs = await takeSlot(key, current.value, owner);
      if (waitMs > 0) {
        await release();
        return { requests, deferSeconds: Math.ceil(waitMs / 1000) };
      }
      let outcome: DigestOutcome;
      try {
        outcome = await request.send();
      } catch (error) {
        await release();
        throw error instanceof NotificationError ? error : new NotificationError(`${target.name}: ${request.describe} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      }
      if (!outcome.ok) {
        const until = now().getTime() + outcome.retryAfterSeconds * 1000;
        await limiter.holdOff(target.destination, target.limit, until);
        await updateDocument<DigestDoc>(store, key, (doc) =>
          doc ? { value: { ...doc, slotAt: until, lease: doc.lease?.owner === owner ? undefined : doc.lease }, result: undefined } : { result: undefined },
        );
        return { requests, deferSeconds: outcome.retryAfterSeconds };
      }
      requests++;
      await updateDocument<DigestDoc>(store, key, (doc) => {
        if (!doc) return { result: undefined };
        request.apply(doc);
        doc.requests++;
        doc.lease = { owner, until: now().getTime() + leaseMs };
        return { value: doc, result: undefined };
      });
    }
  }

  /** 0 when this flush may send now (its reserved slot came, or the limiter had one), else the ms to wait. */
  async function takeSlot(key: string, doc: DigestDoc, owner: string): Promise<number> {
    const t = now().getTime();
    if (doc.slotAt !== undefined) {
      if (doc.slotAt > t) return doc.slotAt - t;
      await updateDocument<DigestDoc>(store, key, (d) => (d ? { value: { ...d, slotAt: undefined }, result: undefined } : { result: undefined }));
      return 0;
    }
    const waitMs = await limiter.reserve(target.destination, target.limit);
    if (waitMs > 0) {
      await updateDocument<DigestDoc>(store, key, (d) =>
        d ? { value: { ...d, slotAt: t + waitMs, lease: d.lease?.owner === owner ? { owner, until: t } : d.lease }, result: undefined } : { result: undefined },
      );
    }
    return waitMs;
  }

  async function notice(n: Notice): Promise<void> {
    const outcome = await target.notice(n);
    if (!outcome.ok) {
      await limiter.holdOff(target.destination, target.limit, now().getTime() + outcome.retryAfterSeconds * 1000);
      throw new NotificationError(`${target.name} is rate-limited (Retry-After ${outcome.retryAfterSeconds}s); the notice "${n.title}" will be retried.`);
    }
  }

  return { name: target.name, send, flush, notice };
}
