/**
 * Slack Incoming Webhook as a digest target: a webhook can neither thread nor edit, so the task
 * alerts of one execution go out as digest messages (a page of up to 50 tasks and
 * `DIGEST_PAGE_CHARS` of text each, the rest in the next one, said so in the message), and each of
 * the flow's endings (per run and status) as one message with counts, duration and the console link. One request per rate-limit slot; a 429 is handed back as a deferral.
 */
import { NotificationError } from "../core/errors";
import { maskSecrets } from "../core/mask";
import type { Notice } from "./ports";
import { SLACK_RATE_LIMIT, type RateLimit } from "./rate-limit";
import type { DigestDoc, DigestEnding, DigestLine, DigestOutcome, DigestRequest, DigestTarget } from "./digest";
import { countsText, durationText } from "./digest";
import { LIMITS, slackEscape, truncate, type SlackBlock, type SlackMessage } from "./format";
import { networkCode, neverSent, slackChannel } from "./slack";

export interface SlackDigestTargetOptions {
  /** The webhook URL, or how to read it (from a secret) when the first request is due. */
  webhookUrl: string | (() => Promise<string>);
  /** Rate-limit key shared by every invocation posting to this webhook. @default "slack-webhook" */
  destination?: string;
  /** The webhook's pace. @default SLACK_RATE_LIMIT (1 per second) */
  limit?: RateLimit;
  /** How long one request may take. @default 10 */
  timeoutSeconds?: number;
  /** For tests: the fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const FAILED_STATES = new Set(["Failed", "TimedOut", "TriggerFailed"]);

function executionName(doc: Pick<DigestDoc, "executionId">): string {
  return doc.executionId.split(":").pop() ?? doc.executionId;
}

function attemptPhrase(line: DigestLine): string {
  if (line.attempt === undefined || (line.attempt === 1 && (line.maxAttempts ?? 1) === 1)) return "";
  return `, attempt ${line.attempt}${line.maxAttempts ? ` of ${line.maxAttempts}` : ""}`;
}

/** `• *load* Retrying, attempt 1 of 3, next attempt 12:00:05Z — ValueError: boom` */
export function digestLineText(line: DigestLine): string {
  const next = line.nextAttemptAt ? `, next attempt ${line.nextAttemptAt.replace(/\.\d{3}Z$/, "Z")}` : "";
  const detail = line.error ?? line.message;
  const after = line.observedAfterTheFact ? " (reconstructed from history)" : "";
  return `• *${slackEscape(line.task)}* ${line.state}${attemptPhrase(line)}${next}${after}${detail ? ` — ${slackEscape(detail)}` : ""}`;
}

/**
 * Text one digest message (a webhook digest, a Slack app's thread reply) may hold in its lines.
 * Slack refuses a message whose blocks hold too much text (`msg_blocks_too_long`) well below its
 * documented 3,000 characters per section times 50 blocks: about 12,000–13,000 characters of block
 * text in all (slackapi/bolt-js#2509; 12,000 is the documented markdown block limit). A page closes
 * before its lines pass this, leaving room for the header and the context.
 */
export const DIGEST_PAGE_CHARS = 10_000;

/** What a line takes of `DIGEST_PAGE_CHARS`: its text as sent (escaped, cut to a section), and the newline joining it. */
export function digestLineChars(line: DigestLine): number {
  return Math.min(digestLineText(line).length, LIMITS.slackSectionText) + 1;
}

/** Marks `ending` (by its id) as shown. */
export function markEndingSent(doc: DigestDoc, ending: DigestEnding): void {
  for (const e of doc.endings) if (e.id === ending.id) e.sent = true;
}

/** Section blocks holding `lines`, each within Slack's section text limit. */
function lineSections(lines: string[]): SlackBlock[] {
  const sections: SlackBlock[] = [];
  let text = "";
  for (const raw of lines) {
    const line = truncate(raw, LIMITS.slackSectionText);
    if (text && text.length + 1 + line.length > LIMITS.slackSectionText) {
      sections.push({ type: "section", text: { type: "mrkdwn", text } });
      text = "";
    }
    text = text ? `${text}\n${line}` : line;
  }
  if (text) sections.push({ type: "section", text: { type: "mrkdwn", text } });
  return sections;
}

function contextBlock(doc: Pick<DigestDoc, "executionId" | "consoleUrl">, extra: string[] = []): SlackBlock {
  const elements = [`Execution \`${slackEscape(executionName(doc))}\``];
  if (doc.consoleUrl) elements.push(`<${doc.consoleUrl}|Open in the Step Functions console>`);
  elements.push(...extra);
  return { type: "context", elements: elements.map((text) => ({ type: "mrkdwn", text })) };
}

/** The color of the worst state among `states`. */
function worstColor(lines: Pick<DigestLine, "state" | "color">[]): string {
  return (lines.find((l) => FAILED_STATES.has(l.state)) ?? lines[0])?.color ?? "#696969";
}

/** One digest message naming `lines` (and saying how many more follow). */
export function formatDigestMessage(doc: Pick<DigestDoc, "flow" | "executionId" | "consoleUrl">, lines: DigestLine[], morePending: number): SlackMessage {
  const counts: Record<string, number> = {};
  for (const line of lines) counts[line.state] = (counts[line.state] ?? 0) + 1;
  const title = `Flow ${doc.flow}: ${countsText(counts)}`;
  const extra = morePending > 0 ? [`and ${morePending} more task alert${morePending === 1 ? "" : "s"} in the next message`] : [];
  const names = lines.map((l) => `${l.task} ${l.state}`).join(", ");
  return {
    text: truncate(slackEscape(`${title}: ${names}${extra.length ? ` (${extra[0]})` : ""}`), LIMITS.slackSectionText),
    blocks: [{ type: "header", text: { type: "plain_text", text: truncate(title, LIMITS.slackHeaderText) } }],
    attachments: [{ color: worstColor(lines), blocks: [...lineSections(lines.map(digestLineText)), contextBlock(doc, extra)] }],
  };
}

/** The flow's ending: counts of what was alerted (named in the digests above), duration, link. */
export function formatEndingMessage(doc: DigestDoc, ending: DigestEnding): SlackMessage {
  const fields: [string, string][] = [["State", ending.state]];
  if (ending.startedAt) fields.push(["Duration", durationText(Date.parse(ending.at) - Date.parse(ending.startedAt))]);
  if (Object.values(doc.counts).some((n) => n > 0)) fields.push(["Task alerts", `${countsText(doc.counts)} (named above)`]);
  else if (ending.failedTasks?.length) fields.push(["Failed tasks", ending.failedTasks.join(", ")]);
  const blocks: SlackBlock[] = [
    {
      type: "section",
      fields: fields.map(([label, value]) => ({ type: "mrkdwn", text: truncate(`*${label}*\n${slackEscape(value)}`, LIMITS.slackFieldText) })),
    },
  ];
  const detail = ending.error ?? ending.message;
  if (detail) blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(slackEscape(detail), LIMITS.slackSectionText) } });
  blocks.push(contextBlock(doc, [`At ${ending.at}`]));
  return {
    text: truncate(slackEscape([ending.title, ...fields.map(([l, v]) => `${l}: ${v}`)].join(" | ")), LIMITS.slackSectionText),
    blocks: [{ type: "header", text: { type: "plain_text", text: truncate(ending.title, LIMITS.slackHeaderText) } }],
    attachments: [{ color: ending.color, blocks }],
  };
}

/** A notice about the alerting itself (the dead-letter alarm). */
export function formatNoticeMessage(notice: Notice): SlackMessage {
  return {
    text: truncate(slackEscape(`${notice.title}\n${notice.text}`), LIMITS.slackSectionText),
    blocks: [{ type: "header", text: { type: "plain_text", text: truncate(notice.title, LIMITS.slackHeaderText) } }],
    attachments: [
      {
        color: "#eb0000",
        blocks: [
          { type: "section", text: { type: "mrkdwn", text: truncate(slackEscape(notice.text), LIMITS.slackSectionText) } },
          { type: "context", elements: [{ type: "mrkdwn", text: `At ${notice.at.toISOString()}` }] },
        ],
      },
    ],
  };
}

/** `Retry-After` in seconds (Slack sends whole seconds), 1 when absent or unreadable. */
export function retryAfterSeconds(response: Pick<Response, "headers">): number {
  const value = Number(response.headers.get("retry-after")?.trim());
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : 1;
}

export function slackDigestTarget(options: SlackDigestTargetOptions): DigestTarget {
  const timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
  let url: string | undefined;
  const resolveUrl = async () => {
    if (url) return url;
    const value = typeof options.webhookUrl === "string" ? options.webhookUrl : (await options.webhookUrl()).trim();
    // The same destination rules as slackChannel (it throws a TypeError naming the fix).
    try {
      slackChannel({ webhookUrl: value });
    } catch (error) {
      throw new NotificationError((error as Error).message);
    }
    return (url = value);
  };

  async function post(message: SlackMessage, what: string): Promise<DigestOutcome> {
    const target = await resolveUrl();
    const doFetch = options.fetch ?? globalThis.fetch;
    // Should a task's error text ever contain the webhook URL (or its secret path), it still must not reach the channel.
    const path = new URL(target).pathname;
    const redact = (text: string) => (path.length >= 8 ? text.replaceAll(target, "[redacted]").replaceAll(path, "/[redacted]") : text.replaceAll(target, "[redacted]"));
    let response: Response;
    try {
      response = await doFetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        // Every body is masked here, at the last step: a digest line recorded before a value was known still leaves masked.
        body: maskSecrets(redact(JSON.stringify(message))),
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect would carry the alerts to a host the destination check never saw.
        redirect: "manual",
      });
    } catch (error) {
      const kind = (error as Error)?.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000}s` : `network error (${networkCode(error)})`;
      if (neverSent(error)) throw new NotificationError(`Slack did not take the ${what} (${kind}); the record will be retried.`);
      // It may have arrived: posting it again could show it twice, so it counts as sent.
      return { ok: true, ambiguous: `Slack may or may not have received the ${what} (${kind}); it is not posted again, so it is never doubled.` };
    }
    if (response.status >= 300 && response.status < 400) {
      throw new NotificationError(`Slack answered the ${what} with a redirect (HTTP ${response.status}), which flowhooks never follows; check the webhook URL in its secret.`);
    }
    const text = maskSecrets(redact(await response.text())).replace(/\s+/g, " ").slice(0, 200);
    if (response.ok) return { ok: true };
    if (response.status === 429) return { ok: false, retryAfterSeconds: retryAfterSeconds(response) };
    throw new NotificationError(`Slack rejected the ${what} (HTTP ${response.status}${text ? ` ${text}` : ""}); check the webhook URL in its secret.`);
  }

  return {
    name: "slack",
    destination: options.destination ?? "slack-webhook",
    limit: options.limit ?? SLACK_RATE_LIMIT,
    requestTimeoutMs: timeoutMs,
    lineChars: digestLineChars,
    pageChars: DIGEST_PAGE_CHARS,
    notice: (n) => post(formatNoticeMessage(n), `notice "${n.title}"`),
    next({ doc, lines, morePending }): DigestRequest | undefined {
      if (lines.length > 0) {
        return {
          describe: `digest of ${lines.length} task alert${lines.length === 1 ? "" : "s"}`,
          sendsLines: true,
          send: () => post(formatDigestMessage(doc, lines, morePending), "alert digest"),
        };
      }
      // Each ending once: a redriven run's, and a stop after the flow's own report, are messages of their own.
      const ending = doc.endings.find((e) => !e.sent && !e.quiet);
      if (ending) {
        return {
          describe: "flow ending",
          send: () => post(formatEndingMessage(doc, ending), `alert "${ending.title}"`),
          apply: (current) => markEndingSent(current, ending),
        };
      }
      return undefined;
    },
  };
}
