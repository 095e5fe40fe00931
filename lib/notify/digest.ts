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
import { updateDocument, type DocumentStore } from "../aws/documents";
import type { Notice } from "../aws/alarm-notice";
import type { AlertQueue } from "../aws/queue";
import { RateLimiter, type RateLimit } from "../aws/rate-limit";
import type { Alert, AlertChannel } from "./alert";
import { formatAlert, truncate, type FormattedAlert } from "./format";

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

/**
 * The head of one execution's digest on one channel: small (one DynamoDB item written on every
 * alert), while the alerts themselves sit in pages of at most `pageSize` lines, one page per message.
 */
export interface DigestDoc {
  flow: string;
  executionId: string;
  consoleUrl?: string;
  /** Pages opened so far (page i is the document `<head key>|p<i>`; the last one takes new alerts). */
  pages: number;
  /** Pages sent (pages 0 … sentPages-1). */
  sentPages: number;
  /** Task alerts recorded and not sent yet (for "N more follow"). */
  pendingLines: number;
  /** Task alerts by state, all recorded so far. */
  counts: Record<string, number>;
  /** The first `MAX_NAMED_FAILED` tasks alerted Failed, TimedOut or TriggerFailed (the parent's outcome names them). */
  failedTasks: string[];
  /** The flow's ending, once it is known. */
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

/** One page of task alerts: sent as one message once a flush closes it. */
export interface DigestPage {
  lines: DigestLine[];
  /** Closed by the flush about to send it: new alerts go to the next page. */
  closed: boolean;
}

/** What a target decides from: the head, the lines of the next page to send, and how many more are pending. */
export interface DigestView {
  doc: DigestDoc;
  lines: DigestLine[];
  morePending: number;
}

/** Failed tasks the head names (for the Slack app's parent); the rest are counted. */
export const MAX_NAMED_FAILED = 50;
const FAILED_STATES = new Set(["Failed", "TimedOut", "TriggerFailed"]);

/** What a target reports about one request. */
/** `ambiguous`: the request went out but no answer came; it counts as sent (never repeated) and is logged. */
export type DigestOutcome = { ok: true; ambiguous?: string } | { ok: false; retryAfterSeconds: number };

/** One request a target wants to make next, and what it changes once it succeeded. */
export interface DigestRequest {
  /** For logs: "digest of 12 task alerts", "parent update". */
  describe: string;
  /** True when the request carries the view's lines: once it succeeded, their page is sent. */
  sendsLines?: boolean;
  send(): Promise<DigestOutcome>;
  /** Applies the success to the head as re-read (other alerts may have arrived meanwhile). */
  apply?(doc: DigestDoc): void;
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
  next(view: DigestView): DigestRequest | undefined;
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
  /** Task alerts per message (Block Kit allows 50 blocks; the text is split across sections). @default 50 */
  pageSize?: number;
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
  /** Sends that may or may not have arrived (no answer); counted as sent so they are never doubled. */
  ambiguous?: string[];
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

function errorText(f: FormattedAlert): string | undefined {
  return f.error ? truncate(`${f.error.name}: ${f.error.cause}`.replace(/\s+/g, " "), DIGEST_ERROR_CHARS) : undefined;
}

/** What a digest keeps of a task alert: what `formatAlert` says (the one formatter), trimmed. */
export function digestLine(alert: Alert): DigestLine {
  const f = formatAlert(alert);
  const line: DigestLine = { id: lineId(alert), task: alert.task ?? "(unnamed)", state: f.state, color: f.color, at: f.at };
  const error = errorText(f);
  if (error) line.error = error;
  else if (f.message) line.message = truncate(f.message, DIGEST_ERROR_CHARS);
  if (f.attempt !== undefined) line.attempt = f.attempt;
  if (f.maxAttempts !== undefined) line.maxAttempts = f.maxAttempts;
  if (f.nextAttemptAt) line.nextAttemptAt = f.nextAttemptAt;
  if (f.observedAfterTheFact) line.observedAfterTheFact = true;
  return line;
}

export function digestEnding(alert: Alert): DigestEnding {
  const f = formatAlert(alert);
  const ending: DigestEnding = { state: f.state, title: f.title, color: f.color, at: f.at };
  const error = errorText(f);
  if (error) ending.error = error;
  if (f.message) ending.message = truncate(f.message, DIGEST_ERROR_CHARS);
  if (alert.failedTasks?.length) ending.failedTasks = [...alert.failedTasks];
  if (alert.startedAt) ending.startedAt = alert.startedAt.toISOString();
  return ending;
}

function newDoc(alert: Alert): DigestDoc {
  return {
    flow: alert.flow,
    executionId: alert.executionId ?? "(local run)",
    ...(alert.consoleUrl ? { consoleUrl: alert.consoleUrl } : {}),
    pages: 1,
    sentPages: 0,
    pendingLines: 0,
    counts: {},
    failedTasks: [],
    requests: 0,
    sentLines: 0,
    flushScheduled: false,
    target: {},
  };
}

/** `38 failed, 2 retrying` from counts by state. */
export function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([state, n]) => `${n} ${state === "TimedOut" ? "timed out" : state.toLowerCase()}`);
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

const noChange = { result: undefined };

export function digestChannel(options: DigestChannelOptions): DigestChannel {
  const { target, store, queue } = options;
  const windowSeconds = options.windowSeconds ?? 5;
  if (!(windowSeconds >= 0 && windowSeconds <= 900)) {
    throw new TypeError(`digestChannel: \`windowSeconds\` must be between 0 and 900 (SQS's longest delay), got ${String(options.windowSeconds)}.`);
  }
  const pageSize = options.pageSize ?? 50;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 200) {
    throw new TypeError(`digestChannel: \`pageSize\` must be a whole number from 1 to 200, got ${String(options.pageSize)}.`);
  }
  const now = options.now ?? (() => new Date());
  const limiter = new RateLimiter(store, now);
  const headKey = (group: string) => `digest|${target.name}|${group}`;
  const pageKey = (group: string, page: number) => `${headKey(group)}|p${page}`;
  const schedule = (group: string, delaySeconds: number) => queue.send(flushRecordBody({ channel: target.name, group }), delaySeconds);

  /** Records the line in the open page; false when it was recorded before (a redelivery). */
  async function appendLine(group: string, alert: Alert, line: DigestLine): Promise<boolean> {
    for (let round = 0; round < 50; round++) {
      const head = await updateDocument<DigestDoc, DigestDoc>(store, headKey(group), (doc) => (doc ? { result: doc } : { value: newDoc(alert), result: newDoc(alert) }));
      const open = head.pages - 1;
      if (open > 0) {
        // A redelivery whose first delivery landed just before the page turned (an older one cannot
        // reach the channel again: the handler's claim on the transition stops it).
        const previous = await store.get<DigestPage>(pageKey(group, open - 1));
        if (previous?.value.lines.some((l) => l.id === line.id)) return false;
      }
      const outcome = await updateDocument<DigestPage, "added" | "seen" | "full">(store, pageKey(group, open), (page) => {
        const current = page ?? { lines: [], closed: false };
        if (current.lines.some((l) => l.id === line.id)) return { result: "seen" };
        if (current.closed || current.lines.length >= pageSize) return { result: "full" };
        current.lines.push(line);
        return { value: current, result: "added" };
      });
      if (outcome !== "full") return outcome === "added";
      await updateDocument<DigestDoc>(store, headKey(group), (doc) => (doc && doc.pages === open + 1 ? { value: { ...doc, pages: open + 2 }, result: undefined } : noChange));
    }
    throw new NotificationError(`${target.name}: could not record an alert of ${group} (its digest kept changing); the record will be retried.`);
  }

  async function send(alert: Alert): Promise<void> {
    const group = alert.executionId ?? "local";
    const isEnding = alert.kind === "flow";
    const line = isEnding ? undefined : digestLine(alert);
    const added = line ? await appendLine(group, alert, line) : false;
    const scheduleNow = await updateDocument<DigestDoc, boolean>(store, headKey(group), (current) => {
      const doc = current ?? newDoc(alert);
      let changed = added;
      if (line && added) {
        doc.counts[line.state] = (doc.counts[line.state] ?? 0) + 1;
        doc.pendingLines++;
        if (FAILED_STATES.has(line.state) && doc.failedTasks.length < MAX_NAMED_FAILED && !doc.failedTasks.includes(line.task)) doc.failedTasks.push(line.task);
      }
      if (isEnding && !doc.endingSent && !doc.ending) {
        doc.ending = digestEnding(alert);
        changed = true;
      }
      // A redelivered alert still schedules when no flush is: its first delivery may have failed to.
      const waiting = doc.pendingLines > 0 || (line !== undefined && !added) || (doc.ending !== undefined && !doc.endingSent);
      const needed = waiting && (!doc.flushScheduled || (isEnding && changed));
      if (!changed && !needed) return { result: false };
      doc.flushScheduled ||= needed;
      return { value: doc, result: needed };
    });
    if (!scheduleNow) return;
    try {
      // The ending goes at once (it closes the conversation); task alerts wait for the window to gather others.
      await schedule(group, isEnding ? 0 : windowSeconds);
    } catch (error) {
      // Unmark, so the retry of this record schedules again rather than trusting a flush that was never sent.
      await updateDocument<DigestDoc>(store, headKey(group), (doc) => (doc ? { value: { ...doc, flushScheduled: false }, result: undefined } : noChange)).catch(() => undefined);
      throw error;
    }
  }

  /** The next page to send, closed so that new alerts go to the next one; [] when none holds lines. */
  async function nextLines(group: string, doc: DigestDoc, owner: string): Promise<{ page: number; lines: DigestLine[] } | "moved"> {
    const page = doc.sentPages;
    if (page >= doc.pages) return { page, lines: [] };
    const lines = await updateDocument<DigestPage, DigestLine[]>(store, pageKey(group, page), (p) => {
      if (!p || p.lines.length === 0) return { result: [] };
      return p.closed ? { result: p.lines } : { value: { ...p, closed: true }, result: p.lines };
    });
    if (lines.length === 0 && page < doc.pages - 1) {
      // An empty page that is not the open one (its alerts went elsewhere): skip it.
      await updateDocument<DigestDoc>(store, headKey(group), (d) =>
        d && d.sentPages === page && d.lease?.owner === owner ? { value: { ...d, sentPages: page + 1 }, result: undefined } : noChange,
      );
      return "moved";
    }
    if (lines.length > 0 && page === doc.pages - 1) {
      // Closed the open page: the next alert opens a new one.
      await updateDocument<DigestDoc>(store, headKey(group), (d) => (d && d.pages === page + 1 ? { value: { ...d, pages: page + 2 }, result: undefined } : noChange));
    }
    return { page, lines };
  }

  async function flush(group: string, flushOptions: FlushOptions = {}): Promise<FlushResult> {
    const key = headKey(group);
    const owner = randomUUID();
    const remaining = flushOptions.remainingMs ?? (() => Number.POSITIVE_INFINITY);
    const leaseMs = target.requestTimeoutMs + 10_000;
    let requests = 0;
    let ambiguous: string[] | undefined;
    // Take the digest, or learn when the flush holding it must be done.
    const busyMs = await updateDocument<DigestDoc, number>(store, key, (doc) => {
      const t = now().getTime();
      if (!doc) return { result: 0 };
      if (doc.lease && doc.lease.owner !== owner && doc.lease.until > t) return { result: doc.lease.until - t };
      return { value: { ...doc, lease: { owner, until: t + leaseMs } }, result: 0 };
    });
    if (busyMs > 0) return { requests, ambiguous, deferSeconds: Math.ceil(busyMs / 1000) };
    const release = () => updateDocument<DigestDoc>(store, key, (doc) => (doc?.lease?.owner === owner ? { value: { ...doc, lease: undefined }, result: undefined } : noChange));
    for (;;) {
      const current = await store.get<DigestDoc>(key);
      if (!current || current.value.lease?.owner !== owner) return { requests, ambiguous };
      const next = await nextLines(group, current.value, owner);
      if (next === "moved") continue;
      const head = (await store.get<DigestDoc>(key))!.value;
      const request = target.next({ doc: head, lines: next.lines, morePending: Math.max(0, head.pendingLines - next.lines.length) });
      if (!request) {
        // Done, unless an alert arrived since the read: then go round again.
        const closed = await updateDocument<DigestDoc, boolean>(store, key, (doc) => {
          if (!doc || doc.lease?.owner !== owner) return { result: true };
          if (doc.pendingLines > 0 || doc.sentPages < doc.pages - 1 || (doc.ending && !doc.endingSent)) return { result: false };
          return { value: { ...doc, flushScheduled: false, lease: undefined }, result: true };
        });
        if (closed) return { requests, ambiguous };
        const open = await store.get<DigestPage>(pageKey(group, head.pages - 1));
        if (head.pendingLines > 0 && !open?.value.lines.length && head.sentPages >= head.pages - 1) {
          // Counted but never recorded (a crash between the two writes): nothing left to send.
          await updateDocument<DigestDoc>(store, key, (doc) => (doc ? { value: { ...doc, pendingLines: 0 }, result: undefined } : noChange));
        }
        continue;
      }
      if (remaining() < target.requestTimeoutMs + 2_000) {
        // Never start a request the invocation may not live to finish: come back in a moment.
        await release();
        return { requests, ambiguous, deferSeconds: 1 };
      }
      const waitMs = await takeSlot(key, head, owner);
      if (waitMs > 0) {
        await release();
        return { requests, ambiguous, deferSeconds: Math.ceil(waitMs / 1000) };
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
          doc ? { value: { ...doc, slotAt: until, lease: doc.lease?.owner === owner ? undefined : doc.lease }, result: undefined } : noChange,
        );
        return { requests, ambiguous, deferSeconds: outcome.retryAfterSeconds };
      }
      requests++;
      if (outcome.ambiguous) (ambiguous ??= []).push(outcome.ambiguous);
      await updateDocument<DigestDoc>(store, key, (doc) => {
        if (!doc) return noChange;
        request.apply?.(doc);
        if (request.sendsLines && doc.sentPages === next.page) {
          doc.sentPages = next.page + 1;
          // May dip below 0 for a moment: an alert's page write can land before its count does.
          doc.pendingLines -= next.lines.length;
          doc.sentLines += next.lines.length;
        }
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
      await updateDocument<DigestDoc>(store, key, (d) => (d ? { value: { ...d, slotAt: undefined }, result: undefined } : noChange));
      return 0;
    }
    const waitMs = await limiter.reserve(target.destination, target.limit);
    if (waitMs > 0) {
      await updateDocument<DigestDoc>(store, key, (d) =>
        d ? { value: { ...d, slotAt: t + waitMs, lease: d.lease?.owner === owner ? { owner, until: t } : d.lease }, result: undefined } : noChange,
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
