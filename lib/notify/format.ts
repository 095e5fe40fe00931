/**
 * The one formatter every channel uses: what an alert says (title, message, error, retry time,
 * execution and console link) is decided here once, and each channel only lays it out within its
 * own size limits. Long text is cut with a visible `… [truncated N chars]` marker, never silently.
 */
import {
  Cached,
  Cancelled,
  Failed,
  Finished,
  Paused,
  Pending,
  Retrying,
  Running,
  Scheduled,
  Skipped,
  State,
  Success,
  TimedOut,
  TriggerFailed,
} from "../core/states";
import { maskSecrets, maskThenCut } from "../core/mask";
import type { Alert } from "./alert";

/** Size limits of the channels, from their documentation. */
export const LIMITS = {
  /** Slack: a message's top-level `text`. */
  slackText: 40_000,
  /** Slack: a section block's text. */
  slackSectionText: 3_000,
  /** Slack: a section field's text. */
  slackFieldText: 2_000,
  /** Slack: a header block's plain text. */
  slackHeaderText: 150,
  /** SNS: `Subject` must be under 100 characters. */
  snsSubject: 99,
  /** SNS: message plus attributes, in bytes (256 KiB). */
  snsMessageBytes: 256 * 1024,
  /** SMS: one message is 140 bytes, i.e. 140 ASCII characters (SNS developer guide, "Publishing SMS messages to a mobile phone"). */
  smsChars: 140,
  /** SMS: the same 140 bytes as GSM-7 septets (160 GSM characters; `[]{}\^~|` take two each). */
  smsSeptets: 160,
  /** EventBridge PutEvents: one entry (Source, DetailType, Detail, …), in bytes (256 KB). */
  eventBridgeEntryBytes: 256 * 1024,
} as const;

/** Prefect 1.x's state colours (reference §1.1), so alerts look as Prefect users know them. */
const STATE_COLORS: ReadonlyArray<[new (...args: any[]) => State, string]> = [
  // Most specific first: the first `instanceof` match wins.
  [Retrying, "#f66a0a"],
  [Scheduled, "#ffab00"],
  [Pending, "#7ebdff"],
  [Running, "#3d67ff"],
  [Cached, "#34d058"],
  [Skipped, "#62757f"],
  [Success, "#28a745"],
  [TimedOut, "#ff4e33"],
  [TriggerFailed, "#ff5131"],
  [Failed, "#eb0000"],
  [Cancelled, "#bdbdbd"],
  [Finished, "#003ccb"],
];

/** The state's colour as Prefect 1.x shows it (`#eb0000` for Failed, `#f66a0a` for Retrying, …). */
export function stateColor(state: State): string {
  for (const [cls, color] of STATE_COLORS) if (state instanceof cls) return color;
  return "#696969";
}

/**
 * Cuts `text` to at most `maxChars` characters, ending with `… [truncated N chars]` (N = how many
 * were cut), so a reader knows the text is incomplete and by how much.
 */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let removed = text.length - maxChars;
  // The marker's own length depends on N's digits; two rounds settle it.
  for (let round = 0; round < 3; round++) {
    const marker = `… [truncated ${removed} chars]`;
    let keep = Math.max(0, maxChars - marker.length);
    // Never split a surrogate pair: half an emoji is not valid text.
    if (keep > 0 && /[\uD800-\uDBFF]/.test(text[keep - 1]!)) keep -= 1;
    removed = text.length - keep;
    const out = text.slice(0, keep) + `… [truncated ${removed} chars]`;
    if (out.length <= maxChars) return out;
  }
  return text.slice(0, maxChars);
}

/** The error behind a failed state: its class name and its message (with causes), trimmed. */
export interface AlertError {
  name: string;
  cause: string;
}

export function alertError(state: State): AlertError | undefined {
  const error = state.result;
  if (!isErrorLike(error)) return undefined;
  const parts = [error.message.trim()];
  let cause: unknown = (error as { cause?: unknown }).cause;
  for (let depth = 0; depth < 3 && isErrorLike(cause); depth++) {
    parts.push(`caused by ${cause.name}: ${cause.message.trim()}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  return { name: error.name || "Error", cause: parts.filter(Boolean).join("\n") };
}

function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === "object" && value !== null && typeof (value as Error).message === "string" && typeof (value as Error).name === "string")
  );
}

/** What the alert's new state means, as a phrase after "Task load …". */
function statePhrase(alert: Alert): string {
  const s = alert.newState;
  if (s instanceof Retrying) {
    const of = alert.maxAttempts ? ` of ${alert.maxAttempts}` : "";
    return `is retrying (attempt ${s.runCount}${of}) at ${s.startTime.toISOString()}`;
  }
  if (s instanceof Paused) return "is waiting for approval";
  if (s instanceof Scheduled) return `is scheduled for ${s.startTime.toISOString()}`;
  if (s instanceof Pending) return "is pending";
  if (s instanceof Running) return "is running";
  if (s instanceof Skipped) return "was skipped";
  if (s instanceof Cached) return "used a cached result";
  if (s instanceof Success) return "succeeded";
  if (s instanceof TimedOut) return "timed out";
  if (s instanceof TriggerFailed) return "did not run: its trigger failed";
  if (s instanceof Failed) return "failed";
  if (s instanceof Cancelled) return "was cancelled";
  return `is now ${s.name}`;
}

/** `Task load failed in flow orders`, `Flow orders failed`, `Task load is retrying (attempt 1 of 3) at … in flow orders`. */
export function alertTitle(alert: Alert): string {
  if (alert.kind === "flow") return maskSecrets(`Flow ${alert.flow} ${statePhrase(alert)}`);
  return maskSecrets(`Task ${alert.task ?? "(unnamed)"} ${statePhrase(alert)} in flow ${alert.flow}`);
}

/** The channel-neutral content of an alert; channels lay it out. */
export interface FormattedAlert {
  title: string;
  /** The new state's class name, e.g. "Failed". */
  state: string;
  /** The old state's class name. */
  oldState: string;
  /** The new state's message. */
  message?: string;
  error?: AlertError;
  /** The failed attempt a `Retrying` follows, or the current attempt. */
  attempt?: number;
  maxAttempts?: number;
  /** ISO time of the next attempt (Retrying only). */
  nextAttemptAt?: string;
  /** Flow alerts: the tasks that ended failed. */
  failedTasks?: string[];
  /** A task Paused for approval in a deployed execution: the command that answers it (`answerCommand`). */
  howToAnswer?: string;
  executionId?: string;
  consoleUrl?: string;
  /** The Prefect colour of the new state. */
  color: string;
  /** ISO time of the transition. */
  at: string;
  /** Set when the transition was reconstructed after the fact (e.g. a Lambda timeout). */
  observedAfterTheFact?: boolean;
}

export function formatAlert(alert: Alert): FormattedAlert {
  const out: FormattedAlert = {
    title: alertTitle(alert),
    state: alert.newState.name,
    oldState: alert.oldState.name,
    color: stateColor(alert.newState),
    at: alert.at.toISOString(),
  };
  // Secret values are masked before any channel cuts the text, so no cut leaves half a secret.
  const message = alert.newState.message?.trim();
  if (message) out.message = maskSecrets(message);
  const error = alertError(alert.newState);
  if (error) out.error = { name: maskSecrets(error.name), cause: maskSecrets(error.cause) };
  if (alert.attempt !== undefined) out.attempt = alert.attempt;
  if (alert.maxAttempts !== undefined) out.maxAttempts = alert.maxAttempts;
  if (alert.newState instanceof Retrying) out.nextAttemptAt = alert.newState.startTime.toISOString();
  if (alert.failedTasks?.length) out.failedTasks = [...alert.failedTasks];
  const answer = alert.kind === "task" && alert.newState instanceof Paused ? answerCommand(alert.executionId, alert.task) : undefined;
  if (answer) out.howToAnswer = answer;
  if (alert.executionId) out.executionId = alert.executionId;
  if (alert.consoleUrl) out.consoleUrl = alert.consoleUrl;
  if (alert.observedAfterTheFact) out.observedAfterTheFact = true;
  return out;
}

// ---------------------------------------------------------------------------------------- Slack

/** A Slack incoming-webhook payload. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
  attachments: { color: string; blocks: SlackBlock[] }[];
}
export type SlackBlock = Record<string, unknown>;

export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escapes `raw` for mrkdwn and fits `wrap(escaped)` into `limit` characters. */
function fitMrkdwn(raw: string, limit: number, wrap: (escaped: string) => string = (t) => t): string {
  let budget = limit - (wrap("").length);
  for (;;) {
    const text = wrap(slackEscape(truncate(raw, Math.max(budget, 0))));
    if (text.length <= limit || budget <= 0) return text.slice(0, limit);
    budget -= text.length - limit;
  }
}

function attemptText(f: FormattedAlert): string | undefined {
  // "1 of 1" says nothing; the field matters only where a task retries.
  if (f.attempt === undefined || (f.attempt === 1 && (f.maxAttempts ?? 1) === 1)) return undefined;
  return f.maxAttempts ? `${f.attempt} of ${f.maxAttempts}` : String(f.attempt);
}

/** Block Kit layout with a plain-text fallback and the state's colour on the attachment bar. */
export function formatSlackMessage(alert: Alert): SlackMessage {
  const f = formatAlert(alert);
  const details: SlackBlock[] = [];
  if (f.message) {
    details.push({ type: "section", text: { type: "mrkdwn", text: fitMrkdwn(f.message, LIMITS.slackSectionText) } });
  }
  if (f.error) {
    const name = f.error.name;
    details.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: fitMrkdwn(f.error.cause, LIMITS.slackSectionText, (cause) => `*${slackEscape(name)}*\n\`\`\`${cause}\`\`\``),
      },
    });
  }
  const fields = alertFacts(alert, f);
  details.push({
    type: "section",
    fields: fields
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([label, value]) => ({ type: "mrkdwn", text: fitMrkdwn(value, LIMITS.slackFieldText, (v) => `*${label}*\n${v}`) })),
  });
  const context: string[] = [];
  if (f.executionId) context.push(fitMrkdwn(f.executionId, 1_000, (id) => `Execution \`${id}\``));
  if (f.consoleUrl) context.push(`<${f.consoleUrl}|Open in the Step Functions console>`);
  if (f.observedAfterTheFact) context.push("Reconstructed from the execution history");
  context.push(`At ${f.at}`);
  details.push({ type: "context", elements: context.map((text) => ({ type: "mrkdwn", text })) });

  const fallback = [f.title, f.message, f.error ? `${f.error.name}: ${f.error.cause}` : undefined]
    .filter(Boolean)
    .join("\n");
  return {
    // The fallback is mrkdwn too: escaped like the blocks, so `<!channel>` or a disguised link in an error stays text.
    text: fitMrkdwn(fallback, LIMITS.slackSectionText),
    blocks: [{ type: "header", text: { type: "plain_text", text: truncate(f.title, LIMITS.slackHeaderText) } }],
    attachments: [{ color: f.color, blocks: details }],
  };
}

// ------------------------------------------------------------------------------------------ SNS

/**
 * An SNS publish with one body per protocol (`MessageStructure: "json"`): `message` is the JSON
 * object `{ default, email, sms }` SNS picks from, `default` the alert as JSON for programs (SQS,
 * Lambda, HTTPS subscribers).
 */
export interface SnsMessage {
  subject: string;
  message: string;
  /** Always "json": `message` holds a body per protocol. */
  messageStructure: "json";
  attributes: Record<string, string>;
}

/** `text` as printable ASCII on one line: accents dropped, other characters `?`. */
function asciiLine(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/\s+/g, " ")
    .replace(/[^\x20-\x7e]/gu, "?")
    .trim();
}

/** SNS subjects must be ASCII-safe, single-line and under 100 characters. */
export function snsSubject(title: string): string {
  const ascii = asciiLine(title);
  return ascii.length <= LIMITS.snsSubject ? ascii : `${ascii.slice(0, LIMITS.snsSubject - 3)}...`;
}

/** The alert as JSON (what SNS subscribers parse), with message and cause cut to `maxChars`. */
export function alertToJSON(alert: Alert, maxChars = Number.POSITIVE_INFINITY): Record<string, unknown> {
  const f = formatAlert(alert);
  const json: Record<string, unknown> = {
    title: f.title,
    kind: alert.kind,
    flow: alert.flow,
    ...(alert.task !== undefined ? { task: alert.task } : {}),
    ...(alert.mapIndex !== undefined ? { mapIndex: alert.mapIndex } : {}),
    state: f.state,
    oldState: f.oldState,
    ...(f.message ? { message: truncate(f.message, maxChars) } : {}),
    ...(f.error ? { error: { name: f.error.name, cause: truncate(f.error.cause, maxChars) } } : {}),
    ...(f.attempt !== undefined ? { attempt: f.attempt } : {}),
    ...(f.maxAttempts !== undefined ? { maxAttempts: f.maxAttempts } : {}),
    ...(f.nextAttemptAt ? { nextAttemptAt: f.nextAttemptAt } : {}),
    ...(f.howToAnswer ? { howToAnswer: f.howToAnswer } : {}),
    ...(f.failedTasks ? { failedTasks: f.failedTasks.map((name) => truncate(maskSecrets(name), maxChars)) } : {}),
    ...(f.executionId ? { executionId: f.executionId } : {}),
    ...(f.consoleUrl ? { consoleUrl: f.consoleUrl } : {}),
    ...(f.observedAfterTheFact ? { observedAfterTheFact: true } : {}),
    color: f.color,
    at: f.at,
  };
  return json;
}

/** How to stop an alert, said in every e-mail (SNS adds its own unsubscribe link below the body). */
export const SILENCE_HINT =
  "To stop these e-mails, use the unsubscribe link below. To alert on fewer states, change the flow's " +
  "`alerts.on` (built-in alerts) or the notifier's `onlyStates` / `ignoreStates`.";

/** The labelled facts every channel shows: flow, task, states, attempt and next attempt, failed tasks (unset ones left out by the caller). */
function alertFacts(alert: Alert, f: FormattedAlert): [string, string | undefined][] {
  return [
    ["Flow", alert.flow],
    ["Task", alert.task],
    ["State", `${f.state} (was ${f.oldState})`],
    ["Attempt", attemptText(f)],
    ["Next attempt", f.nextAttemptAt],
    ["Failed tasks", f.failedTasks?.join(", ")],
    ["To answer", f.howToAnswer],
  ];
}

/** A Step Functions execution ARN (a deployed or emulated run; a local run's id is not one). */
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_:.-]+$/;

/**
 * How to answer a Paused task of a deployed execution: the exact `flowhooks resume` command that
 * approves it, and the one that rejects it. Undefined without an execution ARN (a local run is
 * answered where it runs: `flow.run({ approve })`, the terminal).
 */
export function answerCommand(executionArn: string | undefined, task: string | undefined): string | undefined {
  if (!executionArn || !task || !EXECUTION_ARN.test(executionArn)) return undefined;
  const name = /^[A-Za-z0-9_-]+$/.test(task) ? task : `'${task.replace(/'/g, "'\\''")}'`;
  const approve = `flowhooks resume ${executionArn} ${name}`;
  return `${approve} (to reject: ${approve} --reject "reason")`;
}

/**
 * A readable plain-text alert for e-mail: the title, then one labelled line per fact (flow, task,
 * states, attempt and next attempt, failed tasks), the message and error, the console link, and
 * how to silence it. Long text is cut to `maxChars` with the marker.
 */
export function formatEmailText(alert: Alert, maxChars = Number.POSITIVE_INFINITY): string {
  const f = formatAlert(alert);
  const facts: [string, string | undefined][] = [...alertFacts(alert, f), ["Execution", f.executionId], ["At", f.at]];
  const lines = [f.title, "=".repeat(Math.min(f.title.length, 72)), ""];
  const width = Math.max(...facts.filter(([, v]) => v !== undefined).map(([label]) => label.length)) + 1;
  for (const [label, value] of facts) if (value !== undefined) lines.push(`${`${label}:`.padEnd(width)} ${truncate(maskSecrets(value), maxChars)}`);
  if (f.message) lines.push("", truncate(f.message, maxChars));
  if (f.error) lines.push("", `${f.error.name}:`, ...truncate(f.error.cause, maxChars).split("\n").map((l) => `    ${l}`));
  if (f.observedAfterTheFact) lines.push("", "Reconstructed from the execution history.");
  if (f.consoleUrl) lines.push("", "Open in the Step Functions console:", f.consoleUrl);
  lines.push("", "--", SILENCE_HINT);
  return lines.join("\n");
}

/**
 * The alert as one SMS: the title and, where room is left, the error, as printable ASCII of at most
 * `LIMITS.smsChars` characters. One SMS holds 140 bytes: 160 GSM-7 septets (140 ASCII characters fit
 * unless they use `[]{}\^~|`, two septets each), but only 70 characters once any needs UCS-2, so the
 * text stays GSM-7 ASCII (cut with "...": an SMS has no room for the long marker).
 */
export function formatSmsText(alert: Alert): string {
  const f = formatAlert(alert);
  const error = f.error ? `${f.error.name}: ${f.error.cause}` : f.message;
  return smsLine([f.title, error].filter(Boolean).join(". "));
}

/** Printable ASCII characters GSM-7 has only in its extension table: each takes two of a segment's 160 septets. */
const GSM7_EXTENSION = new Set("[]{}\\^~|");

/** `text`'s length in GSM-7 septets (printable ASCII without the backtick, which GSM-7 lacks). */
export function gsm7Septets(text: string): number {
  let n = 0;
  for (const c of text) n += GSM7_EXTENSION.has(c) ? 2 : 1;
  return n;
}

/**
 * `text` as one SMS: masked, then printable ASCII in GSM-7 (the backtick, which GSM-7 lacks and would
 * turn the SMS into a 70-character UCS-2 one, becomes `'`), cut with "..." to at most
 * `LIMITS.smsChars` characters and `LIMITS.smsSeptets` septets.
 */
function smsLine(text: string): string {
  return maskThenCut(text, (masked) => {
    const line = asciiLine(masked).replaceAll("`", "'");
    if (line.length <= LIMITS.smsChars && gsm7Septets(line) <= LIMITS.smsSeptets) return line;
    let keep = Math.min(line.length, LIMITS.smsChars - 3);
    while (keep > 0 && gsm7Septets(line.slice(0, keep)) > LIMITS.smsSeptets - 3) keep--;
    return `${line.slice(0, keep)}...`;
  });
}

/** The three bodies of an SNS alert, with long texts cut to `maxChars` (the SMS is short already). */
function snsBodies(alert: Alert, maxChars: number, sms: string): string {
  return JSON.stringify({
    default: JSON.stringify(alertToJSON(alert, maxChars)),
    email: formatEmailText(alert, maxChars),
    sms,
  });
}

export function formatSnsMessage(alert: Alert): SnsMessage {
  const attributes: Record<string, string> = { flow: alert.flow, state: alert.newState.name };
  if (alert.task !== undefined) attributes.task = alert.task;
  const attributeBytes = Object.entries(attributes).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + Buffer.byteLength("String"),
    0,
  );
  const limit = LIMITS.snsMessageBytes - attributeBytes;
  // Characters can take up to 12 bytes once JSON-escaped twice, so shrink in proportion until the bytes fit.
  const sms = formatSmsText(alert);
  let maxChars = limit;
  let message = snsBodies(alert, maxChars, sms);
  for (let bytes = Buffer.byteLength(message); bytes > limit && maxChars > 0; bytes = Buffer.byteLength(message)) {
    maxChars = Math.min(maxChars - 1, Math.floor(maxChars * (limit / bytes) * 0.98));
    message = snsBodies(alert, Math.max(maxChars, 0), sms);
  }
  return { subject: snsSubject(alertTitle(alert)), message, messageStructure: "json", attributes };
}

/**
 * A notice about the alerting itself (the dead-letter alarm) as an SNS publish: the same three bodies
 * as an alert (`default` JSON with `kind: "notice"`, `email` the text, `sms` the title in one SMS).
 */
export function formatSnsNotice(notice: { title: string; text: string; at: Date }): Pick<SnsMessage, "subject" | "message" | "messageStructure"> {
  const at = notice.at.toISOString();
  const message = JSON.stringify({
    default: JSON.stringify({ kind: "notice", title: notice.title, text: notice.text, at }),
    email: `${notice.title}\n${"=".repeat(Math.min(notice.title.length, 72))}\n\n${notice.text}\n\nAt: ${at}`,
    sms: smsLine(notice.title),
  });
  return { subject: snsSubject(notice.title), message, messageStructure: "json" };
}

// -------------------------------------------------------------------------------------- Console

const ICONS: ReadonlyArray<[new (...args: any[]) => State, string]> = [
  [Retrying, "↻"],
  [Failed, "✖"],
  [Skipped, "↷"],
  [Success, "✔"],
];

/** One line (title) or two (message, error, link) for a terminal. */
export function formatConsoleAlert(alert: Alert, maxChars = 500): string {
  const f = formatAlert(alert);
  const icon = ICONS.find(([cls]) => alert.newState instanceof cls)?.[1] ?? "•";
  const detail = [
    f.failedTasks ? `${f.message ?? ""} (${f.failedTasks.join(", ")})`.trim() : f.message,
    f.error && !f.message?.includes(f.error.cause) ? `${f.error.name}: ${f.error.cause}` : undefined,
    f.consoleUrl,
  ]
    .filter(Boolean)
    .join(" | ")
    .replace(/\s*\n\s*/g, " ");
  // Never cut: the command is what the reader copies.
  const answer = f.howToAnswer ? `\n  To answer: ${f.howToAnswer}` : "";
  return maskSecrets(detail ? `${icon} ${f.title}\n  ${truncate(detail, maxChars)}${answer}` : `${icon} ${f.title}${answer}`);
}
