/**
 * Grouping per execution: a channel whose `send` only records the alert in the execution's digest
 * (documents in the claims table) and arms a flush record on the handler's own queue; the flush
 * sends what is pending as few messages as the destination's target allows, one rate-limit slot
 * per request, and asks to be deferred (never sleeps) when the destination is busy. What a request
 * looks like (a webhook digest, a thread reply, a parent update) is the target's business
 * (slack-digest.ts, slack-app.ts); this module owns the bookkeeping.
 *
 * The invariant (docs/alerts.md, "The digest protocol"), after any single crash or failed call:
 *   1. Every recorded line and ending is sent, or is waiting in a digest that a flush record on the
 *      queue will flush (armed before the state that needs it is written), or whose `armedUntil`
 *      has passed, so the next record or flush of the execution, or the reconciler's next pass
 *      (`rearm`), arms it again. Nothing waits on a
 *      flag that only the next step clears.
 *   2. A line is recorded once: its id is the transition's claim identity, and its marker document
 *      is written in the same transaction as its page and the head's counts (no pair a crash splits).
 *   3. A page is posted at most once, except in the one window the protocol cannot close: Slack
 *      accepted the post and the write recording it was lost; a flush posts only under a lease it
 *      renewed (conditionally) right before the request, longer than the request may take.
 *
 * Transitions, each one conditional write (or one transaction): `record` (a line or an ending,
 * with `arm`), `take` (a flush's lease), `closePage`, `renew` (before each request), `recordSent`,
 * `defer` (lease given back, slot or Retry-After kept), `close` (nothing waits: lease and arm cleared)
 * and `rearm` (the reconciler's sweep of a digest that waits with no flush armed).
 */
import { createHash, randomUUID } from "node:crypto";
import { NotificationError } from "../core/errors";
import { updateDocument, type DocumentStore, type DocumentWrite, type StoredDocument } from "./documents";
import type { AlertQueue, Notice } from "./ports";
import { RateLimiter, type RateLimit } from "./rate-limit";
import type { Alert, AlertChannel } from "./alert";
import { formatAlert, truncate, type FormattedAlert } from "./format";

/** Longest error text a digest keeps per task (the execution's console page has the rest). */
export const DIGEST_ERROR_CHARS = 300;

/** One task alert, as a digest keeps it until it is sent. */
export interface DigestLine {
  /** The transition's identity (the handler's claim key, hashed): a redelivered alert, or its recovery from the history, is recorded once. */
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

/** One ending of the flow (one per run and status: a redriven run's, a stop after the flow's own report), kept until it is sent. */
export interface DigestEnding {
  /** The ending's identity (its claim key, hashed). */
  id?: string;
  state: string;
  title: string;
  color: string;
  message?: string;
  error?: string;
  failedTasks?: string[];
  at: string;
  /** ISO time the execution started, where known. */
  startedAt?: string;
  /** Reached the channel (a message, or the parent that shows it). */
  sent?: boolean;
  /** Not alerted (`alertOn` leaves it out, e.g. Success): only a conversation already open shows it (the Slack app's parent). */
  quiet?: boolean;
}

/**
 * The head of one execution's digest on one channel: small (one DynamoDB item written on every
 * alert), while the alerts themselves sit in pages, one page per message.
 */
export interface DigestDoc {
  flow: string;
  executionId: string;
  consoleUrl?: string;
  /** Pages opened so far (page i is the document `<head key>|p<i>`); the last one is open (takes new lines), the others are closed. */
  pages: number;
  /** Pages sent (pages 0 … sentPages-1). */
  sentPages: number;
  /** Task alerts recorded and not sent yet (for "N more follow"). */
  pendingLines: number;
  /** Task alerts by state, all recorded so far. */
  counts: Record<string, number>;
  /** The first `MAX_NAMED_FAILED` tasks alerted Failed, TimedOut or TriggerFailed (the parent's outcome names them). */
  failedTasks: string[];
  /** The flow's endings, in the order they were recorded. */
  endings: DigestEnding[];
  /** Messages and updates sent so far. */
  requests: number;
  /** Lines sent so far. */
  sentLines: number;
  /**
   * A flush record is on the queue and runs before this time (ms since the epoch): records that
   * find the digest waiting before then need not send another; after it, the next one arms again.
   */
  armedUntil?: number;
  /** A rate-limit slot this digest reserved (ms since the epoch); its flush goes then without queueing again. */
  slotAt?: number;
  /** The flush in progress and until when it may hold the digest. */
  lease?: { owner: string; until: number };
  /** Target-specific state (a Slack thread's ts, …). */
  target: Record<string, unknown>;
}

/** One page of task alerts: sent as one message once a flush closes it (the head's `pages` moves past it). */
export interface DigestPage {
  lines: DigestLine[];
  /** The lines' text as the target counts it (`DigestTarget.lineChars`). */
  chars?: number;
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

/**
 * What a target reports about one request. `ambiguous`: the request went out but no answer came;
 * it counts as sent (never repeated) and is logged. `undelivered`: Slack took the call but could not
 * show it (the thread's parent was deleted); the request's `apply` forgets the thread, and its lines stay pending.
 */
export type DigestOutcome = { ok: true; ambiguous?: string; undelivered?: string } | { ok: false; retryAfterSeconds: number };

/** One request a target wants to make next, and what it changes once it succeeded. */
export interface DigestRequest {
  /** For logs: "digest of 12 task alerts", "parent update". */
  describe: string;
  /** True when the request carries the view's lines: once it succeeded, their page is sent. */
  sendsLines?: boolean;
  send(): Promise<DigestOutcome>;
  /** Applies the outcome to the head as re-read (other alerts may have arrived meanwhile). */
  apply?(doc: DigestDoc, outcome: DigestOutcome & { ok: true }): void;
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
  /** True when the target shows endings nobody alerts (the Slack app's parent: "recovered after 2 retries"). @default false */
  readonly showsOutcomes?: boolean;
  /** How much of a message's text limit a line takes (a page closes before the next line would pass `pageChars`). @default - not counted */
  lineChars?(line: DigestLine): number;
  /** Text one page (one message) may hold. @default - unlimited (pages are cut by `pageSize` alone) */
  readonly pageChars?: number;
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
  /** Requests Slack took but could not show (a deleted thread parent): what they carried was sent again in a new thread. */
  undelivered?: string[];
}

/** A channel that groups alerts per execution (see the module comment). */
export interface DigestChannel extends AlertChannel {
  /** Sends what is pending for one digest; used by the handler for flush records. */
  flush(group: string, options?: FlushOptions): Promise<FlushResult>;
  /** Posts a notice now (SNS retries the invocation when this throws). */
  notice(notice: Notice): Promise<void>;
  /**
   * `rearm` (the reconciler's sweep): arms a flush for a digest that waits with none coming (its
   * `armedUntil` passed, no flush holds it). True when it sent a flush record. @default - not swept
   */
  rearm?(group: string): Promise<boolean>;
}

export function isDigestChannel(channel: AlertChannel): channel is DigestChannel {
  return typeof (channel as Partial<DigestChannel>).flush === "function";
}

function hashId(key: string): string {
  return createHash("sha256").update(key).digest("base64url").slice(0, 16);
}

/**
 * A transition's identity in a digest: the handler's claim identity when the alert carries it (the
 * live event's `Failed → Retrying` and its recovery from the history, `Running → Retrying`, are one
 * transition and one claim), else what tells transitions apart without it.
 */
function lineId(alert: Alert): string {
  if (alert.transitionId) return hashId(alert.transitionId);
  return hashId([alert.task, alert.newState.name, alert.attempt ?? "-", alert.at.toISOString()].join("|"));
}

function endingId(alert: Alert): string {
  return hashId(alert.transitionId ?? `flow|${alert.newState.name}|${alert.at.toISOString()}`);
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
  const ending: DigestEnding = { id: endingId(alert), state: f.state, title: f.title, color: f.color, at: f.at };
  const error = errorText(f);
  if (error) ending.error = error;
  if (f.message) ending.message = truncate(f.message, DIGEST_ERROR_CHARS);
  if (alert.failedTasks?.length) ending.failedTasks = [...alert.failedTasks];
  if (alert.startedAt) ending.startedAt = alert.startedAt.toISOString();
  return ending;
}

/** The ending the conversation shows as its outcome: the latest (a redriven run's, or the stop after a report). */
export function latestEnding(doc: Pick<DigestDoc, "endings">): DigestEnding | undefined {
  let latest: DigestEnding | undefined;
  for (const e of doc.endings ?? []) if (!latest || Date.parse(e.at) >= Date.parse(latest.at)) latest = e;
  return latest;
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
    endings: [],
    requests: 0,
    sentLines: 0,
    target: {},
  };
}

/** Whether anything in the digest waits for a flush (a quiet ending only once there is a conversation to show it in). */
export function digestWaiting(doc: DigestDoc): boolean {
  if (doc.pendingLines > 0) return true;
  const conversation = doc.requests > 0 || Object.keys(doc.counts).length > 0;
  return doc.endings.some((e) => !e.sent && (!e.quiet || conversation));
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
/** How long past its due time an armed flush record may take to be handled (a queue backlog) before the next record arms another. */
export const ARM_GRACE_MS = 60_000;
/** A flush's lease outlasts the request it guards by this much (the write recording it, a slow read). */
const LEASE_MARGIN_MS = 20_000;
/** Tries of the write that records a request Slack accepted (giving it up would post the page again). */
const RECORD_SENT_TRIES = 4;
/** Steps one flush takes at most before handing back (it comes back at once: `deferSeconds` 0). */
const MAX_FLUSH_STEPS = 500;

export function digestChannel(options: DigestChannelOptions): DigestChannel {
  const windowSeconds = options.windowSeconds ?? 5;
  if (!(windowSeconds >= 0 && windowSeconds <= 900)) {
    throw new TypeError(`digestChannel: \`windowSeconds\` must be between 0 and 900 (SQS's longest delay), got ${String(options.windowSeconds)}.`);
  }
  const pageSize = options.pageSize ?? 50;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 200) {
    throw new TypeError(`digestChannel: \`pageSize\` must be a whole number from 1 to 200, got ${String(options.pageSize)}.`);
  }
  const digest = new Digest(options.target, options.store, options.queue, windowSeconds, pageSize, options.now ?? (() => new Date()));
  const channel: DigestChannel = {
    name: options.target.name,
    send: (alert) => digest.record(alert, false),
    flush: (group, flushOptions) => digest.flush(group, flushOptions),
    notice: (n) => digest.notice(n),
    rearm: (group) => digest.rearm(group),
  };
  if (options.target.showsOutcomes) channel.outcome = (alert) => (alert.kind === "flow" ? digest.record(alert, true) : Promise.resolve());
  return channel;
}

/** The next page a flush sends: its index and its lines (final: the page is closed). */
type NextPage = { page: number; lines: DigestLine[] } | "moved";

/** The digest protocol of one channel (see the module comment): each method is one named transition or a flush's loop over them. */
class Digest {
  private readonly limiter: RateLimiter;
  private readonly leaseMs: number;

  constructor(
    private readonly target: DigestTarget,
    private readonly store: DocumentStore,
    private readonly queue: AlertQueue,
    private readonly windowSeconds: number,
    private readonly pageSize: number,
    private readonly now: () => Date,
  ) {
    this.limiter = new RateLimiter(store, now);
    this.leaseMs = target.requestTimeoutMs + LEASE_MARGIN_MS;
  }

  private headKey(group: string): string {
    return `digest|${this.target.name}|${group}`;
  }
  private pageKey(group: string, page: number): string {
    return `${this.headKey(group)}|p${page}`;
  }
  private markerKey(group: string, id: string): string {
    return `${this.headKey(group)}|l${id}`;
  }

  /**
   * `record` (with `arm`): the line (its page, its marker and the head's counts in one transaction)
   * or the ending (in the head). When the digest then waits and no flush is armed, the flush record
   * is sent first, so a crash after it leaves at most a flush that finds nothing, never a digest
   * that waits for nothing. A redelivered alert finds its marker and only re-arms if needed.
   */
  async record(alert: Alert, quiet: boolean): Promise<void> {
    const group = alert.executionId ?? "local";
    const line = alert.kind === "flow" ? undefined : digestLine(alert);
    const ending = line ? undefined : { ...digestEnding(alert), ...(quiet ? { quiet: true } : {}) };
    const delaySeconds = line ? this.windowSeconds : 0;
    let armedAt: number | undefined;
    for (let round = 0; round < 50; round++) {
      const head = await this.store.get<DigestDoc>(this.headKey(group));
      const doc = head ? upgrade(head.value) : newDoc(alert);
      const writes: DocumentWrite[] = [];
      let fresh = false;
      if (line) {
        const added = await this.addLine(group, doc, line, writes);
        if (added === "moved") continue;
        fresh = added === "added";
      } else if (!doc.endings.some((e) => e.id === ending!.id)) {
        doc.endings.push(ending!);
        fresh = true;
      }
      const t = this.now().getTime();
      // A new ending goes at once (it closes the conversation); task alerts wait for the window to gather others.
      const needsArm = digestWaiting(doc) && (!(doc.armedUntil! > t) || (ending !== undefined && fresh));
      if (!fresh && !needsArm) return;
      if (needsArm && armedAt === undefined) {
        await this.queue.send(flushRecordBody({ channel: this.target.name, group }), delaySeconds);
        armedAt = t;
      }
      if (armedAt !== undefined) doc.armedUntil = Math.max(doc.armedUntil ?? 0, armedAt + delaySeconds * 1000 + ARM_GRACE_MS);
      writes.unshift({ key: this.headKey(group), value: doc, expectedVersion: head?.version });
      if (await (writes.length === 1 ? this.store.put(writes[0]!.key, doc, head?.version) : this.store.transact(writes))) return;
    }
    throw new NotificationError(`${this.target.name}: could not record an alert of ${group} (its digest kept changing); the record will be retried.`);
  }

  /**
   * `rearm`: a digest that waits while no flush is armed (`armedUntil` passed: its flush record was
   * dead-lettered or lost) and no flush holds a live lease gets a flush record, sent before the
   * head's conditional write as `record` arms, so a crash between them leaves at most a flush that
   * finds nothing. A second sweep, or one racing a flush, sees the arm or the lease and sends nothing;
   * a flush it does arm posts only under the lease (`take`), so a page never goes twice.
   */
  async rearm(group: string): Promise<boolean> {
    const head = await this.store.get<DigestDoc>(this.headKey(group));
    if (!head) return false;
    const doc = upgrade(head.value);
    const t = this.now().getTime();
    if (!digestWaiting(doc) || doc.armedUntil! > t || (doc.lease !== undefined && doc.lease.until > t)) return false;
    await this.queue.send(flushRecordBody({ channel: this.target.name, group }), 0);
    // Lost to a concurrent write: that writer (a record, a flush) armed or is flushing; the record sent is harmless.
    await this.store.put(this.headKey(group), { ...doc, armedUntil: t + ARM_GRACE_MS }, head.version);
    return true;
  }

  /** Adds the line to `doc` and the page and marker writes to `writes`; "seen" when recorded before, "moved" when the open page was full (a new one was opened). */
  private async addLine(group: string, doc: DigestDoc, line: DigestLine, writes: DocumentWrite[]): Promise<"added" | "seen" | "moved"> {
    if (await this.store.get(this.markerKey(group, line.id))) return "seen";
    const open = doc.pages - 1;
    const stored = await this.store.get<DigestPage>(this.pageKey(group, open));
    const page = stored?.value ?? { lines: [], chars: 0 };
    const chars = this.target.lineChars?.(line) ?? 0;
    const full = page.lines.length >= this.pageSize || (page.lines.length > 0 && (page.chars ?? 0) + chars > (this.target.pageChars ?? Number.POSITIVE_INFINITY));
    if (full) {
      await this.openPage(group, open);
      return "moved";
    }
    page.lines.push(line);
    page.chars = (page.chars ?? 0) + chars;
    doc.counts[line.state] = (doc.counts[line.state] ?? 0) + 1;
    doc.pendingLines++;
    if (FAILED_STATES.has(line.state) && doc.failedTasks.length < MAX_NAMED_FAILED && !doc.failedTasks.includes(line.task)) doc.failedTasks.push(line.task);
    writes.push({ key: this.pageKey(group, open), value: page, expectedVersion: stored?.version }, { key: this.markerKey(group, line.id), value: { page: open }, expectedVersion: undefined });
    return "added";
  }

  /** `closePage` for appenders: the full open page `open` stops taking lines (one head write, only if it is still the open one). */
  private async openPage(group: string, open: number): Promise<void> {
    await updateDocument<DigestDoc>(this.store, this.headKey(group), (doc) => (doc && doc.pages === open + 1 ? { value: { ...doc, pages: open + 2 }, result: undefined } : noChange));
  }

  /** Sends what is pending: `take`, then requests until the target has none left (`close`), or a deferral. */
  async flush(group: string, flushOptions: FlushOptions = {}): Promise<FlushResult> {
    const owner = randomUUID();
    const run = new FlushRun(flushOptions);
    const busyMs = await this.take(group, owner);
    if (busyMs > 0) return run.defer(busyMs / 1000);
    for (let step = 0; step < MAX_FLUSH_STEPS; step++) {
      const head = await this.store.get<DigestDoc>(this.headKey(group));
      // Gone, or another flush took the digest over (this one outlived its lease): that one finishes.
      if (!head || head.value.lease?.owner !== owner) return run.result();
      const doc = upgrade(head.value);
      const next = await this.nextPage(group, head, doc, owner);
      if (next === "moved") continue;
      const request = this.target.next({ doc, lines: next.lines, morePending: Math.max(0, doc.pendingLines - next.lines.length) });
      if (!request) {
        if (await this.close(group, head)) return run.result();
        continue;
      }
      const outcome = await this.send(group, owner, request, next, run);
      if (outcome !== "sent") return outcome;
    }
    await this.release(group, owner, 0);
    return run.defer(0);
  }

  /** `take`: the lease, unless another flush holds it; else the ms until that one's lease runs out. */
  private take(group: string, owner: string): Promise<number> {
    return updateDocument<DigestDoc, number>(this.store, this.headKey(group), (doc) => {
      const t = this.now().getTime();
      if (!doc) return { result: 0 };
      if (doc.lease && doc.lease.owner !== owner && doc.lease.until > t) return { result: doc.lease.until - t };
      return { value: { ...doc, lease: { owner, until: t + this.leaseMs } }, result: 0 };
    });
  }

  /**
   * The next page to send, final once returned. The open page is closed first (`closePage`: the head
   * moves past it, conditional on the head read, so no line joins it afterwards); an empty closed page is skipped.
   */
  private async nextPage(group: string, head: StoredDocument<DigestDoc>, doc: DigestDoc, owner: string): Promise<NextPage> {
    const page = doc.sentPages;
    if (page >= doc.pages) return { page, lines: [] };
    const lines = (await this.store.get<DigestPage>(this.pageKey(group, page)))?.value.lines ?? [];
    if (page === doc.pages - 1) {
      if (lines.length === 0) return { page, lines };
      return (await this.store.put(this.headKey(group), { ...doc, pages: page + 2 }, head.version)) ? { page, lines } : "moved";
    }
    if (lines.length === 0) {
      await updateDocument<DigestDoc>(this.store, this.headKey(group), (d) =>
        d && d.sentPages === page && d.lease?.owner === owner ? { value: { ...d, sentPages: page + 1 }, result: undefined } : noChange,
      );
      return "moved";
    }
    return { page, lines };
  }

  /** `close`: nothing waits (as of the head read): the lease and the arm are cleared in one conditional write. */
  private async close(group: string, head: StoredDocument<DigestDoc>): Promise<boolean> {
    const { lease: _lease, armedUntil: _armed, ...rest } = head.value;
    return this.store.put(this.headKey(group), rest, head.version);
  }

  /** One request: time left, a rate-limit slot, `renew`, the request, then `recordSent` (or `defer` on a 429). */
  private async send(group: string, owner: string, request: DigestRequest, next: { page: number; lines: DigestLine[] }, run: FlushRun): Promise<"sent" | FlushResult> {
    if (run.remaining() < this.target.requestTimeoutMs + 2_000) {
      // Never start a request the invocation may not live to finish: come back in a moment.
      await this.release(group, owner);
      return run.defer(1);
    }
    const waitMs = await this.takeSlot(group, owner);
    if (waitMs > 0) return run.defer(waitMs / 1000);
    // A flush that outlived its lease (a slow write) may have lost the digest to another: it must not post.
    if (!(await this.renew(group, owner))) return run.result();
    let outcome: DigestOutcome;
    try {
      outcome = await request.send();
    } catch (error) {
      await this.release(group, owner);
      throw error instanceof NotificationError ? error : new NotificationError(`${this.target.name}: ${request.describe} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (!outcome.ok) {
      const until = this.now().getTime() + outcome.retryAfterSeconds * 1000;
      await this.limiter.holdOff(this.target.destination, this.target.limit, until);
      await this.release(group, owner, until);
      return run.defer(outcome.retryAfterSeconds);
    }
    run.sent(outcome);
    await this.recordSent(group, owner, request, outcome, next);
    return "sent";
  }

  /** `renew`: the lease again for one request, only while this flush still holds it. */
  private renew(group: string, owner: string): Promise<boolean> {
    return updateDocument<DigestDoc, boolean>(this.store, this.headKey(group), (doc) => {
      if (!doc || doc.lease?.owner !== owner) return { result: false };
      const { slotAt: _slot, ...rest } = doc;
      return { value: { ...rest, lease: { owner, until: this.now().getTime() + this.leaseMs } }, result: true };
    });
  }

  /**
   * `recordSent`: what the request changed (the page sent, the thread's ts, an ending shown), in one
   * head write, retried: giving it up would post the page again (the one window left open).
   */
  private async recordSent(group: string, owner: string, request: DigestRequest, outcome: DigestOutcome & { ok: true }, next: { page: number; lines: DigestLine[] }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await updateDocument<DigestDoc>(this.store, this.headKey(group), (current) => {
          if (!current) return noChange;
          const doc = upgrade(current);
          request.apply?.(doc, outcome);
          if (request.sendsLines && !outcome.undelivered && doc.sentPages === next.page) {
            doc.sentPages = next.page + 1;
            doc.pendingLines -= next.lines.length;
            doc.sentLines += next.lines.length;
          }
          doc.requests++;
          if (doc.lease?.owner === owner) doc.lease = { owner, until: this.now().getTime() + this.leaseMs };
          return { value: doc, result: undefined };
        });
        return;
      } catch (error) {
        if (attempt >= RECORD_SENT_TRIES) throw error;
      }
    }
  }

  /** `defer`: the lease given back (this flush comes back later), with the slot it must wait for, if any. */
  private release(group: string, owner: string, slotAt?: number): Promise<void> {
    return updateDocument<DigestDoc>(this.store, this.headKey(group), (doc) => {
      if (!doc) return noChange;
      const value = { ...doc, ...(slotAt ? { slotAt } : {}) };
      if (doc.lease?.owner === owner) delete value.lease;
      // The record comes back later: later records need not arm another until well after it.
      value.armedUntil = Math.max(doc.armedUntil ?? 0, (slotAt ?? this.now().getTime()) + ARM_GRACE_MS);
      return { value, result: undefined };
    });
  }

  /** 0 when this flush may send now (its reserved slot came, or the limiter had one), else the ms to wait (the lease given back, the slot kept). */
  private async takeSlot(group: string, owner: string): Promise<number> {
    const t = this.now().getTime();
    const doc = (await this.store.get<DigestDoc>(this.headKey(group)))?.value;
    if (doc?.slotAt !== undefined) {
      if (doc.slotAt <= t) return 0;
      await this.release(group, owner, doc.slotAt);
      return doc.slotAt - t;
    }
    const waitMs = await this.limiter.reserve(this.target.destination, this.target.limit);
    if (waitMs > 0) await this.release(group, owner, t + waitMs);
    return waitMs;
  }

  async notice(n: Notice): Promise<void> {
    const outcome = await this.target.notice(n);
    if (!outcome.ok) {
      await this.limiter.holdOff(this.target.destination, this.target.limit, this.now().getTime() + outcome.retryAfterSeconds * 1000);
      throw new NotificationError(`${this.target.name} is rate-limited (Retry-After ${outcome.retryAfterSeconds}s); the notice "${n.title}" will be retried.`);
    }
  }
}

/** One flush's tally, and the results it hands back. */
class FlushRun {
  private requests = 0;
  private ambiguous: string[] | undefined;
  private undelivered: string[] | undefined;
  readonly remaining: () => number;

  constructor(options: FlushOptions) {
    this.remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  }

  sent(outcome: DigestOutcome & { ok: true }): void {
    this.requests++;
    if (outcome.ambiguous) (this.ambiguous ??= []).push(outcome.ambiguous);
    if (outcome.undelivered) (this.undelivered ??= []).push(outcome.undelivered);
  }

  result(): FlushResult {
    return { requests: this.requests, ...(this.ambiguous ? { ambiguous: this.ambiguous } : {}), ...(this.undelivered ? { undelivered: this.undelivered } : {}) };
  }

  defer(seconds: number): FlushResult {
    return { ...this.result(), deferSeconds: Math.max(0, Math.ceil(seconds)) };
  }
}

/** A head written before endings were per run (`ending`, `endingSent`, `flushScheduled`): read as the current shape. */
function upgrade(doc: DigestDoc): DigestDoc {
  if (Array.isArray(doc.endings)) return doc;
  const old = doc as DigestDoc & { ending?: DigestEnding; endingSent?: boolean; flushScheduled?: boolean };
  const { ending, endingSent, flushScheduled: _flag, ...rest } = old;
  return { ...rest, endings: ending ? [{ ...ending, id: ending.id ?? "ending", ...(endingSent ? { sent: true } : {}) }] : [] };
}
