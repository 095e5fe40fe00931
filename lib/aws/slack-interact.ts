/**
 * The Slack interactivity endpoint's logic (lambdas/interact is its thin edge): a click on a Paused
 * task's Approve or Reject button (drawn by lib/notify/slack-app.ts) arrives as a signed,
 * form-encoded POST. It is verified (Slack's v0 signature with the app's signing secret, a 5-minute
 * window, a constant-time comparison), the user is checked against the approvers, the task is
 * answered through `Approvals.answer`, and the message is updated through the payload's
 * `response_url` to say who answered. Slack's references: "Verifying requests from Slack"
 * (https://api.slack.com/authentication/verifying-requests-from-slack) and "Handling user
 * interaction" (https://docs.slack.dev/interactivity/handling-user-interaction: acknowledge within
 * 3 seconds; `response_url` takes `replace_original`).
 *
 * What holds for every request: nothing whose body, timestamp or signature differs from what Slack
 * signed reaches `Approvals.answer`; one signed request answers at most once (a replay within the
 * window is recognised here, and the store's own answer is idempotent across containers).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { maskSecrets } from "../core/mask";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, parseApprovalButtonValue, type ApprovalButtonTarget } from "../notify/approval-buttons";
import type { ApprovalDecision, ApprovalOutcome, Approvals } from "./approvals";

/** Slack's advice: refuse a request whose timestamp is more than five minutes from now (replay protection). */
export const SIGNATURE_WINDOW_SECONDS = 300;
/** What the endpoint allows itself before acknowledging (Slack shows an error after 3 s). */
export const ACK_BUDGET_MS = 2500;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** The signed request's parts, as received (the body exactly as its bytes arrived). */
export interface SignedRequest {
  rawBody: string;
  /** `X-Slack-Request-Timestamp`: seconds since the epoch. */
  timestamp: string | undefined;
  /** `X-Slack-Signature`: `v0=` and the hex HMAC-SHA256. */
  signature: string | undefined;
}

/** The checks that need no secret (headers present, timestamp within the window): junk is refused before the secret is read. */
function checkFreshness({ timestamp, signature }: SignedRequest, nowMs: number): SignatureCheck {
  if (!timestamp || !signature) return { ok: false, reason: "missing X-Slack-Request-Timestamp or X-Slack-Signature" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "the timestamp is not a number of seconds" };
  const ageSeconds = Math.abs(nowMs / 1000 - Number(timestamp));
  if (ageSeconds > SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: `the timestamp is ${Math.round(ageSeconds)} s from now, outside the ${SIGNATURE_WINDOW_SECONDS} s window` };
  return { ok: true };
}

/**
 * Slack's v0 check: HMAC-SHA256 of `v0:<timestamp>:<body>` keyed with the signing secret, compared
 * in constant time, and a timestamp within `SIGNATURE_WINDOW_SECONDS` of `nowMs` either way.
 */
export function verifySlackSignature(request: SignedRequest, signingSecret: string, nowMs: number): SignatureCheck {
  const fresh = checkFreshness(request, nowMs);
  if (!fresh.ok) return fresh;
  const { rawBody, timestamp, signature } = request as { rawBody: string; timestamp: string; signature: string };
  const expected = Buffer.from(`v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${rawBody}`, "utf8").digest("hex")}`, "utf8");
  const given = Buffer.from(signature, "utf8");
  // timingSafeEqual needs equal lengths; a length says nothing about the secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "the signature does not match" };
  return { ok: true };
}

/** What the Function URL answers. Slack needs only a 200 within 3 s; the message is updated through `response_url`. */
export interface InteractionResponse {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
}

export interface SlackInteractionOptions {
  /** The Slack app's signing secret (Basic Information → App Credentials), read when the first request arrives. */
  signingSecret: () => Promise<string>;
  /** Slack user ids (`U0123ABCDEF`) allowed to answer. */
  approvers: readonly string[];
  /** Answers the Paused task (the approval store). */
  approvals: () => Approvals | Promise<Approvals>;
  /**
   * Only executions whose ARN starts with this answer (`arn:…:execution:<state machine name>:`): a
   * button of another flow is refused, naming why. @default - any execution
   */
  executionArnPrefix?: string;
  /** The clock, in epoch milliseconds (tests inject one). @default Date.now */
  now?: () => number;
  /** For tests: the fetch that posts to `response_url`. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Budget from receipt to acknowledgement; the `response_url` post gets what is left. @default ACK_BUDGET_MS */
  ackBudgetMs?: number;
  /** Where what happened is told (one line per request, never a secret). @default - nowhere */
  log?: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

/** The parts of a `block_actions` payload the endpoint reads. */
interface BlockActionsPayload {
  type?: string;
  user?: { id?: string; username?: string; name?: string };
  actions?: { action_id?: string; block_id?: string; value?: string }[];
  response_url?: string;
  message?: { text?: string; blocks?: Block[]; attachments?: ({ blocks?: Block[] } & Record<string, unknown>)[] };
}

type Block = { type: string; block_id?: string } & Record<string, unknown>;

const ACK: InteractionResponse = { statusCode: 200, body: "", headers: {} };

function refuse(statusCode: number, text: string): InteractionResponse {
  return { statusCode, body: text, headers: { "content-type": "text/plain; charset=utf-8" } };
}

/** `response_url` must be Slack's (https, a slack.com host); loopback http for tests and the emulator. */
export function isSlackResponseUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return !url.port && !url.username && (url.hostname === "slack.com" || url.hostname.endsWith(".slack.com") || url.hostname.endsWith(".slack-gov.com"));
  return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

/** The form field `payload`, parsed; undefined when the body is not a Slack interaction. */
export function parseInteractionBody(rawBody: string): BlockActionsPayload | undefined {
  const field = new URLSearchParams(rawBody).get("payload");
  if (field === null) return undefined;
  try {
    const payload = JSON.parse(field) as unknown;
    return typeof payload === "object" && payload !== null && !Array.isArray(payload) ? (payload as BlockActionsPayload) : undefined;
  } catch {
    return undefined;
  }
}

/** Who answered, for the task's state and logs: `alice (U0123ABCDEF) in Slack`. */
function answeredBy(user: NonNullable<BlockActionsPayload["user"]>): string {
  const name = (user.username ?? user.name ?? "").replace(/[^\w.\- ]/g, "").slice(0, 80);
  return name ? `${name} (${user.id}) in Slack` : `${user.id} in Slack`;
}

/** The line that replaces a task's buttons once a click was handled. */
export function answeredLine(outcome: ApprovalOutcome, decision: ApprovalDecision, target: ApprovalButtonTarget, userId: string, at: string): string {
  const task = `*${target.task.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")}*`;
  if (outcome === "answered") return decision.approve ? `:white_check_mark: ${task} approved by <@${userId}> at ${at}` : `:no_entry: ${task} rejected by <@${userId}> at ${at}`;
  if (outcome === "already-answered") return `${task} was already answered; <@${userId}>'s click at ${at} sent nothing`;
  return `${task} is no longer waiting (timed out, stopped, or answered with flowhooks resume); <@${userId}>'s click at ${at} sent nothing`;
}

/** The clicked message with the buttons of `blockId` replaced by `line` (a context block); undefined when the block is not found. */
export function replaceButtons(message: BlockActionsPayload["message"], blockId: string | undefined, line: string): Record<string, unknown> | undefined {
  if (!message || !blockId) return undefined;
  let found = false;
  const swap = (blocks: Block[] | undefined) =>
    blocks?.map((b) => {
      if (b.type !== "actions" || b.block_id !== blockId) return b;
      found = true;
      return { type: "context", block_id: blockId, elements: [{ type: "mrkdwn", text: line }] };
    });
  const blocks = swap(message.blocks);
  const attachments = message.attachments?.map((a) => (a.blocks ? { ...a, blocks: swap(a.blocks) } : a));
  if (!found) return undefined;
  return { replace_original: true, text: message.text ?? line, ...(blocks ? { blocks } : {}), ...(attachments ? { attachments } : {}) };
}

/**
 * The endpoint: `handle(request)` verifies, answers and acknowledges. Keeps, per container, the
 * signatures it accepted within the window, so a replayed request answers nothing.
 */
export function slackInteractionHandler(options: SlackInteractionOptions): (request: { rawBody: string; headers: Record<string, string | undefined> }) => Promise<InteractionResponse> {
  const now = options.now ?? Date.now;
  const approvers = new Set(options.approvers);
  const log = options.log ?? (() => {});
  const seen = new Map<string, number>();
  let secret: string | undefined;

  /** True the first time a signature is seen within the window (later ones are replays). */
  function firstSighting(signature: string, nowMs: number): boolean {
    for (const [sig, until] of seen) if (until < nowMs) seen.delete(sig);
    if (seen.has(signature)) return false;
    // A signature outlives its request only by the window in which its timestamp is accepted.
    seen.set(signature, nowMs + 2 * SIGNATURE_WINDOW_SECONDS * 1000);
    return true;
  }

  async function respond(url: string, body: Record<string, unknown>, startedMs: number): Promise<void> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const left = Math.max(300, (options.ackBudgetMs ?? ACK_BUDGET_MS) - (now() - startedMs));
    try {
      const response = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body: maskSecrets(JSON.stringify(body)),
        signal: AbortSignal.timeout(left),
        redirect: "manual",
      });
      if (!response.ok) log("warn", `Slack's response_url answered HTTP ${response.status}; the message was not updated.`, { status: response.status });
    } catch (error) {
      log("warn", `Slack's response_url did not answer within ${left} ms (${(error as Error)?.name ?? "error"}); the message was not updated.`);
    }
  }

  return async function handle(request) {
    const startedMs = now();
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const signed = { rawBody: request.rawBody, timestamp: headers["x-slack-request-timestamp"], signature: headers["x-slack-signature"] };
    const fresh = checkFreshness(signed, startedMs);
    try {
      secret ??= fresh.ok ? (await options.signingSecret()).trim() : undefined;
    } catch (error) {
      log("warn", `Could not read the Slack signing secret: ${maskSecrets(error instanceof Error ? error.message : String(error))}`);
      return refuse(503, "The signing secret could not be read; the function's log says why.");
    }
    const check = fresh.ok ? verifySlackSignature(signed, secret!, startedMs) : fresh;
    if (!check.ok) {
      log("warn", `Refused a request not signed by Slack: ${check.reason}.`);
      return refuse(401, "The request is not signed by Slack with this app's signing secret.");
    }
    if (!firstSighting(signed.signature!, startedMs)) {
      log("warn", "Ignored a replayed request (its signature was already handled).");
      return ACK;
    }
    const payload = parseInteractionBody(request.rawBody);
    if (!payload) return refuse(400, "Expected a form-encoded `payload` holding a Slack interaction.");
    const action = payload.actions?.[0];
    if (payload.type !== "block_actions" || (action?.action_id !== APPROVE_ACTION_ID && action?.action_id !== REJECT_ACTION_ID)) return ACK;
    const target = parseApprovalButtonValue(action.value);
    const userId = payload.user?.id ?? "";
    if (!target || !isSlackResponseUrl(payload.response_url)) return refuse(400, "The button does not name a flowhooks task, or the payload has no Slack response_url.");
    const responseUrl = payload.response_url;
    const tell = (text: string) => respond(responseUrl, { response_type: "ephemeral", replace_original: false, text }, startedMs);

    if (options.executionArnPrefix && !target.executionArn.startsWith(options.executionArnPrefix)) {
      log("warn", "Refused a button of another state machine.", { executionArn: target.executionArn });
      await tell(`This button belongs to another flow's executions; this Slack app's Request URL answers ${options.executionArnPrefix}* only. Give each flow with approval buttons a Slack app of its own.`);
      return ACK;
    }
    if (!approvers.has(userId)) {
      log("warn", "Refused a click by a user who is not an approver.", { user: userId, executionArn: target.executionArn, task: target.task });
      await tell(`Only the flow's approvers can answer \`${target.task}\` (alerts.slack.approvals.approvers); ask one of them, or have your Slack user id (${userId}) added.`);
      return ACK;
    }
    const by = answeredBy(payload.user!);
    const decision: ApprovalDecision = action.action_id === APPROVE_ACTION_ID ? { approve: true, by } : { approve: false, reason: `by ${by}`, by };
    let outcome: ApprovalOutcome;
    try {
      outcome = await (await options.approvals()).answer(target.executionArn, target.task, decision);
    } catch (error) {
      const message = maskSecrets(error instanceof Error ? error.message : String(error));
      log("warn", `Could not answer ${target.task}: ${message}`, { executionArn: target.executionArn, task: target.task });
      await tell(`Could not answer \`${target.task}\`: ${message.replace(/\.?$/, ".")} Try again, or answer with \`flowhooks resume\`.`);
      return ACK;
    }
    log("info", `${decision.approve ? "Approve" : "Reject"} of ${target.task} by ${userId}: ${outcome}.`, { executionArn: target.executionArn, task: target.task, user: userId, outcome });
    const at = new Date(startedMs).toISOString().replace(/\.\d{3}Z$/, "Z");
    const line = answeredLine(outcome, decision, target, userId, at);
    const update = replaceButtons(payload.message, action.block_id, line);
    await (update ? respond(responseUrl, update, startedMs) : tell(line));
    return ACK;
  };
}
