/**
 * A Slack app as a digest target: one conversation per execution. The first alert posts a parent
 * message (flow, execution link, counts); task alerts go as replies in its thread (grouped as the
 * webhook's digests are); the parent is updated in place as counts change and, at the end, with
 * the outcome (recovered after N retries, or failed with the failed tasks named). The thread's ts
 * lives in the execution's digest document (the claims table), so every invocation finds it.
 */
import { NotificationError } from "../core/errors";
import { maskSecrets } from "../core/mask";
import type { Notice } from "./ports";
import { SLACK_RATE_LIMIT, type RateLimit } from "./rate-limit";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, approvalButtonValue } from "./approval-buttons";
import type { DigestDoc, DigestEnding, DigestLine, DigestOutcome, DigestRequest, DigestTarget, DigestView } from "./digest";
import { countsText, durationText, latestEnding } from "./digest";
import { LIMITS, slackEscape, truncate, type SlackBlock, type SlackMessage } from "./format";
import { networkCode, neverSent } from "./slack";
import { DIGEST_PAGE_CHARS, digestLineChars, formatDigestMessage, formatEndingMessage, formatNoticeMessage, markEndingSent, retryAfterSeconds } from "./slack-digest";

export interface SlackAppTargetOptions {
  /** The bot token (`xoxb-…`, scope `chat:write`), or how to read it (from a secret) when the first request is due. */
  botToken: string | (() => Promise<string>);
  /** The channel's id (`C0123ABCDEF`); the app must be a member. */
  channel: string;
  /** Slack's Web API. Loopback http is accepted for tests and the emulator. @default "https://slack.com/api" */
  apiBaseUrl?: string;
  /** The channel's pace (Slack: about one message per second per channel). @default SLACK_RATE_LIMIT */
  limit?: RateLimit;
  /** How long one request may take. @default 10 */
  timeoutSeconds?: number;
  /**
   * A Paused task's alert carries Approve and Reject buttons, answered by the interactivity
   * endpoint (lib/aws/slack-interact.ts; `alerts.slack.approvals` deploys it). Off where no endpoint
   * answers them. @default false
   */
  approvalButtons?: boolean;
  /** For tests: the fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** What the parent message shows; when it differs from what was posted, the parent is updated. */
interface ParentView {
  counts: Record<string, number>;
  ended?: string;
}

interface ThreadState {
  ts?: string;
  channel?: string;
  /** JSON of the `ParentView` the parent shows now. */
  shows?: string;
}

const FAILED_STATES = new Set(["Failed", "TimedOut", "TriggerFailed"]);
const COLORS = { failed: "#eb0000", retrying: "#f66a0a", running: "#3d67ff" };

function isAllowedApiBase(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return url.hostname === "slack.com" || url.hostname.endsWith(".slack.com");
  return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

function parentView(doc: DigestDoc): ParentView {
  const ending = latestEnding(doc);
  return { counts: doc.counts, ...(ending ? { ended: ending.id ?? ending.state } : {}) };
}

/** Slack's answers when the thread's parent is gone (deleted): the conversation starts again under a new parent. */
const THREAD_GONE = new Set(["message_not_found", "thread_not_found", "cant_update_message"]);

type Call = (method: "chat.postMessage" | "chat.update", body: Record<string, unknown>, what: string) => Promise<DigestOutcome & { ts?: string; channel?: string }>;

/**
 * The conversation's next request: the parent (showing the latest ending, if any), then the
 * thread's replies, then an earlier ending the parent no longer shows (a reply of its own), then
 * the parent updated when what it shows changed. A quiet ending alone posts nothing.
 */
function nextRequest({ doc, lines, morePending }: DigestView, parts: { call: Call; channel: string; buttons: boolean }): DigestRequest | undefined {
  const thread = doc.target as ThreadState;
  const latest = latestEnding(doc);
  if (!thread.ts) {
    if (lines.length === 0 && !doc.endings.some((e) => !e.sent && !e.quiet)) return undefined;
    return parentPost(doc, latest, parts);
  }
  if (lines.length > 0) {
    return {
      describe: `thread reply with ${lines.length} task alert${lines.length === 1 ? "" : "s"}`,
      sendsLines: true,
      send: () => parts.call("chat.postMessage", { channel: thread.channel, thread_ts: thread.ts, ...formatThreadReply(doc, lines, morePending, parts.buttons) }, "thread reply"),
      apply: forgetGoneThread,
    };
  }
  const earlier = doc.endings.find((e) => !e.sent && !e.quiet && e !== latest);
  if (earlier) {
    return {
      describe: `thread reply with the ending "${earlier.title}"`,
      send: () => parts.call("chat.postMessage", { channel: thread.channel, thread_ts: thread.ts, ...formatEndingMessage(doc, earlier) }, "thread reply"),
      apply: (current, outcome) => (outcome.undelivered ? forgetGoneThread(current, outcome) : markEndingSent(current, earlier)),
    };
  }
  const view = JSON.stringify(parentView(doc));
  if ((latest && !latest.sent) || thread.shows !== view) {
    return {
      describe: latest && !latest.sent ? "parent update with the outcome" : "parent update",
      send: () => parts.call("chat.update", { channel: thread.channel, ts: thread.ts, ...formatParentMessage(doc) }, "parent update"),
      apply(current, outcome) {
        if (outcome.undelivered) return forgetGoneThread(current, outcome);
        if (latest) markEndingSent(current, latest);
        current.target = { ...current.target, shows: view } satisfies ThreadState;
      },
    };
  }
  return undefined;
}

/** The parent message; a parent posted after an ending shows it, so that ending needs no update. */
function parentPost(doc: DigestDoc, latest: DigestEnding | undefined, parts: { call: Call; channel: string }): DigestRequest {
  let posted: { ts?: string; channel?: string } = {};
  const view = JSON.stringify(parentView(doc));
  return {
    describe: "parent message",
    async send() {
      const out = await parts.call("chat.postMessage", { channel: parts.channel, ...formatParentMessage(doc) }, "parent message");
      if (out.ok && !out.ts) {
        // Without its ts no reply can join the thread: the parent is posted again (the one case that may show twice).
        throw new NotificationError(out.ambiguous ? `${out.ambiguous.replace(/; it is not posted again.*$/, "")}; a thread needs its ts, so it is posted again.` : "Slack chat.postMessage answered ok without a ts; the record will be retried.");
      }
      posted = out;
      return out;
    },
    apply(current) {
      current.target = { ...current.target, ts: posted.ts, channel: posted.channel ?? parts.channel, shows: view } satisfies ThreadState;
      if (latest) markEndingSent(current, latest);
    },
  };
}

/** The thread's parent was deleted: forget the thread, so the next request posts a new parent (its lines stay pending). */
function forgetGoneThread(doc: DigestDoc, outcome: { undelivered?: string }): void {
  if (outcome.undelivered) doc.target = {};
}

function executionName(doc: DigestDoc): string {
  return doc.executionId.split(":").pop() ?? doc.executionId;
}

/** Slack: at most 50 blocks in a message. */
const MAX_BLOCKS = 50;

/** A button's label: Slack allows 75 characters. */
function buttonText(verb: string, task: string): string {
  return `${verb} ${task.length > 60 ? `${task.slice(0, 59)}…` : task}`;
}

/**
 * A Paused task's Approve and Reject buttons. Their value names the execution and the task (no
 * secret: the task token stays in the approval store); Reject asks to confirm, since its reason is
 * fixed (who rejected, in Slack); a reason of one's own goes through `flowhooks resume --reject`.
 */
export function approvalActions(executionArn: string, line: Pick<DigestLine, "id" | "task">): SlackBlock {
  const value = approvalButtonValue({ executionArn, task: line.task });
  return {
    type: "actions",
    block_id: `flowhooks.approval.${line.id}`,
    elements: [
      { type: "button", action_id: APPROVE_ACTION_ID, style: "primary", text: { type: "plain_text", text: buttonText("Approve", line.task) }, value },
      {
        type: "button",
        action_id: REJECT_ACTION_ID,
        style: "danger",
        text: { type: "plain_text", text: buttonText("Reject", line.task) },
        value,
        confirm: {
          title: { type: "plain_text", text: "Reject this task?" },
          text: {
            type: "mrkdwn",
            text: truncate(`*${slackEscape(line.task)}* ends Cancelled, rejected by you in Slack. For a reason of your own, answer with \`flowhooks resume … --reject "reason"\` instead.`, 300),
          },
          confirm: { type: "plain_text", text: "Reject" },
          deny: { type: "plain_text", text: "Keep waiting" },
          style: "danger",
        },
      },
    ],
  };
}

/** A thread reply: the digest of `lines`, with approval buttons under it for each Paused task when `buttons` is on. */
export function formatThreadReply(doc: Pick<DigestDoc, "flow" | "executionId" | "consoleUrl">, lines: DigestLine[], morePending: number, buttons: boolean): SlackMessage {
  const message = formatDigestMessage(doc, lines, morePending);
  const paused = buttons ? lines.filter((l) => l.state === "Paused") : [];
  const attachment = message.attachments[0];
  if (paused.length === 0 || !attachment) return message;
  const context = attachment.blocks.pop()!;
  const room = MAX_BLOCKS - attachment.blocks.length - 1;
  attachment.blocks.push(...paused.slice(0, room).map((line) => approvalActions(doc.executionId, line)));
  if (paused.length > room) {
    const rest = paused.length - room;
    (context.elements as unknown[]).push({ type: "mrkdwn", text: `${rest} more Paused task${rest === 1 ? "" : "s"} without buttons (Slack's 50 blocks): answer with \`flowhooks resume\`` });
  }
  attachment.blocks.push(context);
  return message;
}

/** The one line per execution the channel shows: flow, execution link, counts, then the outcome. */
export function formatParentMessage(doc: DigestDoc): SlackMessage {
  const failedCount = Object.entries(doc.counts).filter(([s]) => FAILED_STATES.has(s)).reduce((n, [, c]) => n + c, 0);
  const retried = doc.counts.Retrying ?? 0;
  const ending = latestEnding(doc);
  let status: string;
  let color: string;
  if (ending) {
    color = ending.color;
    if (ending.state === "Success") status = retried > 0 ? `recovered after ${retried} retr${retried === 1 ? "y" : "ies"}` : "succeeded";
    else if (doc.failedTasks.length > 0) {
      const more = Math.max(0, failedCount - doc.failedTasks.length);
      status = `${ending.state === "TimedOut" ? "timed out" : ending.state.toLowerCase()}: ${doc.failedTasks.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
    } else status = ending.state === "TimedOut" ? "timed out" : ending.state.toLowerCase();
  } else {
    color = failedCount > 0 ? COLORS.failed : retried > 0 ? COLORS.retrying : COLORS.running;
    status = `running — ${countsText(doc.counts)}`;
  }
  const title = `Flow ${doc.flow} ${status}`;
  const execution = doc.consoleUrl ? `<${doc.consoleUrl}|${slackEscape(executionName(doc))}>` : `\`${slackEscape(executionName(doc))}\``;
  const context = [`Execution ${execution}`, "Task alerts are in the thread"];
  if (ending?.startedAt) context.push(`Took ${durationText(Date.parse(ending.at) - Date.parse(ending.startedAt))}`);
  const blocks: SlackBlock[] = [{ type: "section", text: { type: "mrkdwn", text: truncate(`*${slackEscape(title)}*`, LIMITS.slackSectionText) } }];
  const detail = ending?.error ?? (ending && ending.state !== "Success" ? ending.message : undefined);
  if (detail) blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(slackEscape(detail), LIMITS.slackSectionText) } });
  if (ending) blocks.push({ type: "section", text: { type: "mrkdwn", text: `Task alerts: ${countsText(doc.counts)}` } });
  blocks.push({ type: "context", elements: context.map((text) => ({ type: "mrkdwn", text })) });
  return { text: truncate(slackEscape(title), LIMITS.slackSectionText), blocks: [], attachments: [{ color, blocks }] };
}

export function slackAppTarget(options: SlackAppTargetOptions): DigestTarget {
  const base = (options.apiBaseUrl ?? "https://slack.com/api").replace(/\/+$/, "");
  if (!isAllowedApiBase(base)) {
    throw new TypeError(`slackAppTarget: \`apiBaseUrl\` must be Slack's Web API (https://slack.com/api) or a loopback http URL for tests, got ${JSON.stringify(options.apiBaseUrl)}.`);
  }
  if (typeof options.channel !== "string" || !/^[CGD][A-Z0-9]{6,}$/.test(options.channel)) {
    throw new TypeError(`slackAppTarget: \`channel\` must be a channel id such as "C0123ABCDEF", got ${JSON.stringify(options.channel)}.`);
  }
  const timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
  let token: string | undefined;
  const resolveToken = async () => {
    if (token) return token;
    const value = typeof options.botToken === "string" ? options.botToken : (await options.botToken()).trim();
    if (!/^xox[a-z]-/.test(value)) {
      throw new NotificationError("The Slack bot token is not a token (it should start with xoxb-); store the app's Bot User OAuth Token in its secret.");
    }
    return (token = value);
  };

  /** One Web API call; `ok: false` answers other than rate limits throw with Slack's error code and the fix. */
  async function call(method: "chat.postMessage" | "chat.update", body: Record<string, unknown>, what: string): Promise<DigestOutcome & { ts?: string; channel?: string }> {
    const bearer = await resolveToken();
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(`${base}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${bearer}` },
        // The token must not reach the channel, even inside a task's error text.
        body: maskSecrets(JSON.stringify(body).replaceAll(bearer, "[redacted]")),
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect would carry the token and the alerts to a host the destination check never saw.
        redirect: "manual",
      });
    } catch (error) {
      const kind = (error as Error)?.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000}s` : `network error (${networkCode(error)})`;
      // An update in place may be repeated harmlessly; a post that got no answer may have arrived, so it counts as sent.
      if (method === "chat.update" || neverSent(error)) throw new NotificationError(`Slack ${method} did not take the ${what} (${kind}); the record will be retried.`);
      return { ok: true, ambiguous: `Slack ${method} may or may not have received the ${what} (${kind}); it is not posted again, so it is never doubled.` };
    }
    if (response.status >= 300 && response.status < 400) {
      throw new NotificationError(`Slack ${method} answered the ${what} with a redirect (HTTP ${response.status}), which flowhooks never follows; check the Web API URL.`);
    }
    if (response.status === 429) return { ok: false, retryAfterSeconds: retryAfterSeconds(response) };
    const text = maskSecrets((await response.text()).replaceAll(bearer, "[redacted]"));
    let json: { ok?: boolean; error?: string; ts?: string; channel?: string } = {};
    try {
      json = JSON.parse(text);
    } catch {
      // Reported below with the status.
    }
    if (response.ok && json.ok) return { ok: true, ts: json.ts, channel: json.channel };
    if (json.error && THREAD_GONE.has(json.error)) {
      return { ok: true, undelivered: `Slack ${method} could not find the thread's parent (${json.error}: deleted?); a new parent is posted and the alerts go in its thread.` };
    }
    if (json.error === "ratelimited") return { ok: false, retryAfterSeconds: retryAfterSeconds(response) };
    const hint =
      json.error === "not_in_channel" || json.error === "channel_not_found"
        ? `invite the app to channel ${options.channel} (/invite @your-app) or fix alerts.slack.channel`
        : json.error === "invalid_auth" || json.error === "token_revoked" || json.error === "not_authed"
          ? "store a valid Bot User OAuth Token (xoxb-…) in the bot token secret"
          : json.error === "missing_scope"
            ? "add the chat:write scope to the app and reinstall it"
            : "see Slack's error code above";
    throw new NotificationError(`Slack ${method} rejected the ${what} (HTTP ${response.status} ${json.error ?? text.slice(0, 200)}): ${hint}.`);
  }

  return {
    name: "slack-app",
    destination: `slack-app:${options.channel}`,
    limit: options.limit ?? SLACK_RATE_LIMIT,
    requestTimeoutMs: timeoutMs,
    notice: (n: Notice) => call("chat.postMessage", { channel: options.channel, ...formatNoticeMessage(n) }, `notice "${n.title}"`),
    lineChars: digestLineChars,
    pageChars: DIGEST_PAGE_CHARS,
    showsOutcomes: true,
    next: (view) => nextRequest(view, { call, channel: options.channel, buttons: options.approvalButtons ?? false }),
  };
}
