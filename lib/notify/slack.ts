/**
 * Slack: alerts posted to an Incoming Webhook with Node's `fetch`, with a per-request timeout and
 * bounded retries (429 honouring `Retry-After`, 5xx and connection failures with exponential backoff).
 * A post that went out but got no answer (timeout, reset) may have arrived: it is not repeated
 * (`AmbiguousDeliveryError`), so an alert is never doubled. Redirects are never followed.
 * The webhook URL is a secret: it appears in no error message, log line or alert text.
 */
import { AmbiguousDeliveryError, NotificationError } from "../core/errors";
import { maskSecrets, registerSecretValue } from "../core/mask";
import type { StateHandler } from "../core/handlers";
import { defaultSecrets, type Secrets } from "./ports";
import type { Alert, AlertChannel } from "./alert";
import { alertTitle, formatSlackMessage } from "./format";
import { channelNotifier, checkNotifierOptions, type ChannelNotifierOptions, type SecretFallbackOptions } from "./notifier";

export interface SlackChannelOptions {
  /**
   * The Incoming Webhook URL (`https://hooks.slack.com/services/…`). Prefer `webhookSecret`, which
   * keeps the URL out of code and templates.
   * @default - the value of the secret named by `webhookSecret`
   */
  webhookUrl?: string;
  /** The secret that holds the webhook URL, read with `secrets.get` when the first alert is sent. @default "SLACK_WEBHOOK_URL" */
  webhookSecret?: string;
  /** How long one request may take before it is abandoned (and retried). @default 10 */
  timeoutSeconds?: number;
  /** Requests in all when Slack answers 429 or 5xx or the network fails. @default 3 */
  maxAttempts?: number;
  /** Wait before the second request; doubled for each further one (unless Slack sends Retry-After). @default 1 */
  retryDelaySeconds?: number;
  /** Upper bound on a `Retry-After` wait, so a handler cannot stall for long. @default 30 */
  maxRetryAfterSeconds?: number;
  /**
   * Hosts besides Slack's that `webhookUrl` (or the secret) may point at over https, e.g. an egress
   * proxy. @default - none: hooks.slack.com and hooks.slack-gov.com (paths under /services/) only
   */
  allowedHosts?: readonly string[];
  /** For tests: the fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** For tests: how to wait between requests, in milliseconds. @default - a timer */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: where `webhookSecret` is read from. @default secrets */
  secrets?: Pick<Secrets, "get">;
}

export type SlackNotifierOptions = SlackChannelOptions & ChannelNotifierOptions & SecretFallbackOptions;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Slack's Incoming Webhook hosts (commercial and GovSlack). */
const SLACK_WEBHOOK_HOSTS = ["hooks.slack.com", "hooks.slack-gov.com"];
/** Slack's Web API hosts (commercial and GovSlack), for channels that post with a bot token. */
export const SLACK_API_HOSTS = ["slack.com", "slack-gov.com"];
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];

/**
 * True where no deployed Lambda runs this code: flow.run(), tests, and the emulator (which marks
 * its emulated functions), where a loopback stand-in for Slack is the user's explicit choice.
 */
function runsLocally(env: Record<string, string | undefined> = process.env): boolean {
  return !env.AWS_LAMBDA_FUNCTION_NAME || env.FLOWHOOKS_EMULATOR === "1";
}

/**
 * Why `value` is no Slack Web API URL flowhooks calls, or undefined when it is one: https on
 * slack.com or slack-gov.com under /api/, or a host in `allowedHosts`, or loopback http locally.
 */
export function slackApiUrlProblem(value: string, allowedHosts: readonly string[] = []): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a valid https URL";
  }
  const host = url.hostname.toLowerCase();
  if (url.protocol === "https:" && SLACK_API_HOSTS.includes(host) && !url.port && !url.username && !url.password) {
    return url.pathname.startsWith("/api/") ? undefined : "is not a Slack Web API URL (its path must start with /api/)";
  }
  if (url.protocol === "https:" && allowedHosts.some((h) => h.toLowerCase() === host)) return undefined;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.includes(host) && runsLocally()) return undefined;
  return `points at ${host}, which is not Slack's Web API (slack.com, slack-gov.com)`;
}

/**
 * Why `value` is no webhook flowhooks posts to, or undefined when it is one: Slack's webhook hosts
 * over https (paths under /services/), hosts in `allowedHosts` over https, and loopback http locally.
 */
export function webhookUrlProblem(value: string, allowedHosts: readonly string[] = []): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a valid https URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  const host = url.hostname.toLowerCase();
  if (url.protocol === "https:") {
    if (SLACK_WEBHOOK_HOSTS.includes(host) && !url.port) {
      return url.pathname.startsWith("/services/") ? undefined : "is not an Incoming Webhook URL (its path must start with /services/)";
    }
    if (allowedHosts.some((h) => h.toLowerCase() === host)) return undefined;
    return `points at ${host}, which is not Slack's (hooks.slack.com, hooks.slack-gov.com); add a proxy's host to \`allowedHosts\``;
  }
  if (url.protocol === "http:" && LOOPBACK_HOSTS.includes(host)) {
    return runsLocally() ? undefined : "is a plain-http loopback address, allowed only in local runs, tests and the emulator";
  }
  return "is not a valid https URL";
}

function positive(value: number | undefined, fallback: number, option: string, integer = false): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && (!Number.isInteger(v) || v < 1))) {
    throw new TypeError(`slackChannel: \`${option}\` must be a ${integer ? "whole number ≥ 1" : "number ≥ 0"}, got ${String(value)}.`);
  }
  return v;
}

/** What to do about the error codes Slack's webhooks answer with (api.slack.com/messaging/webhooks#handling_errors). */
const SLACK_ERROR_HINTS: Record<string, string> = {
  invalid_token: "the webhook URL is wrong or was revoked; create a new Incoming Webhook and update",
  no_service: "the webhook was disabled or removed; create a new Incoming Webhook and update",
  no_team: "the Slack workspace is gone; create a new Incoming Webhook and update",
  team_disabled: "the Slack workspace is disabled; create a new Incoming Webhook and update",
  no_service_id: "the webhook URL is incomplete; copy it again from Slack into",
  channel_not_found: "the webhook's channel no longer exists; create a new Incoming Webhook and update",
  channel_is_archived: "the webhook's channel is archived; unarchive it or create a new Incoming Webhook and update",
  action_prohibited: "a Slack admin restricted posting to this channel; ask them, or use another webhook in",
  posting_to_general_channel_denied: "only admins may post to this channel; use another webhook in",
  invalid_payload: "Slack rejected the message format (please report this flowhooks bug); the webhook is set in",
};

/** A channel that posts alerts to a Slack Incoming Webhook. */
export function slackChannel(options: SlackChannelOptions = {}): AlertChannel {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`slackChannel(options) takes an object such as { webhookSecret: "SLACK_WEBHOOK_URL" }.`);
  }
  const { webhookUrl } = options;
  const secretName = options.webhookSecret ?? "SLACK_WEBHOOK_URL";
  const allowedHosts = options.allowedHosts ?? [];
  if (!Array.isArray(allowedHosts) || allowedHosts.some((h) => typeof h !== "string" || h === "")) {
    throw new TypeError(`slackChannel: \`allowedHosts\` must be an array of host names such as ["slack-proxy.internal.example"].`);
  }
  const urlProblem = typeof webhookUrl === "string" ? webhookUrlProblem(webhookUrl, allowedHosts) : "is not a valid https URL";
  if (webhookUrl !== undefined && urlProblem !== undefined) {
    throw new TypeError(
      `slackChannel: \`webhookUrl\` ${urlProblem}; pass the Incoming Webhook URL Slack shows ` +
        "(https://hooks.slack.com/services/…), or leave it out and store it in the secret " +
        `"${secretName}" (locally: export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…).`,
    );
  }
  if (typeof secretName !== "string" || secretName.trim() === "") {
    throw new TypeError(`slackChannel: \`webhookSecret\` must be a secret name such as "SLACK_WEBHOOK_URL".`);
  }
  const timeoutMs = positive(options.timeoutSeconds, 10, "timeoutSeconds") * 1000;
  const maxAttempts = positive(options.maxAttempts, 3, "maxAttempts", true);
  const retryDelayMs = positive(options.retryDelaySeconds, 1, "retryDelaySeconds") * 1000;
  const maxRetryAfterMs = positive(options.maxRetryAfterSeconds, 30, "maxRetryAfterSeconds") * 1000;
  const sleep = options.sleep ?? realSleep;
  const secretStore = options.secrets ?? defaultSecrets;
  const where = webhookUrl !== undefined ? "the `webhookUrl` option" : `the secret "${secretName}"`;
  if (webhookUrl !== undefined) registerSecretValue(webhookUrl);

  async function resolveUrl(): Promise<string> {
    if (webhookUrl !== undefined) return webhookUrl;
    const value = (await secretStore.get(secretName)).trim();
    registerSecretValue(value);
    const problem = webhookUrlProblem(value, allowedHosts);
    if (problem !== undefined) {
      throw new NotificationError(
        `The secret "${secretName}" ${problem.replace(/^is not/, "does not hold")}; store the Incoming Webhook URL Slack shows (https://hooks.slack.com/services/…).`,
      );
    }
    return value;
  }

  return {
    name: "slack",
    ...(webhookUrl === undefined ? { secret: secretName } : {}),
    async preflight(): Promise<void> {
      await resolveUrl();
    },
    async send(alert: Alert): Promise<void> {
      const url = await resolveUrl();
      const doFetch = options.fetch ?? globalThis.fetch;
      const title = alertTitle(alert);
      // Should a task's error text ever contain the URL (or its secret path), it still must not reach the channel.
      const redact = (text: string) => {
        const path = new URL(url).pathname;
        const out = text.replaceAll(url, "[redacted]");
        return path.length >= 8 ? out.replaceAll(path, "/[redacted]") : out;
      };
      const body = maskSecrets(redact(JSON.stringify(formatSlackMessage(alert))));
      let problem = "";
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        let waitMs = retryDelayMs * 2 ** (attempt - 1);
        try {
          const response = await doFetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(timeoutMs),
            // A redirect would carry the alert to a host the check above never saw.
            redirect: "manual",
          });
          const text = maskSecrets(redact((await response.text()).trim())).replace(/\s+/g, " ").slice(0, 200);
          if (response.ok) return;
          problem = `HTTP ${response.status}${text ? ` ${text}` : ""}`;
          if (response.status >= 300 && response.status < 400) {
            throw new NotificationError(
              `Slack answered the alert "${title}" with a redirect (HTTP ${response.status}), which flowhooks never follows; check the webhook URL in ${where}.`,
            );
          }
          if (response.status === 429) {
            const header = response.headers.get("retry-after")?.trim();
            const retryAfter = header ? Number(header) : Number.NaN;
            if (Number.isFinite(retryAfter) && retryAfter >= 0) waitMs = Math.min(retryAfter * 1000, maxRetryAfterMs);
          } else if (response.status < 500) {
            const hint = SLACK_ERROR_HINTS[text] ?? "check the webhook URL in";
            throw new NotificationError(`Slack rejected the alert "${title}" (${problem}): ${hint} ${where}.`);
          }
        } catch (error) {
          if (error instanceof NotificationError) throw error;
          // Node's fetch errors name the host, never the path; still, report only their kind.
          problem =
            error instanceof Error && error.name === "TimeoutError"
              ? `no answer within ${timeoutMs / 1000}s`
              : `network error (${networkCode(error)})`;
          if (!neverSent(error)) {
            throw new AmbiguousDeliveryError(
              `Slack may or may not have received the alert "${title}" (${problem}); it is not posted again, so it is never doubled. The webhook is set in ${where}.`,
            );
          }
        }
        if (attempt < maxAttempts) await sleep(waitMs);
      }
      throw new NotificationError(
        `Slack did not accept the alert "${title}" after ${maxAttempts} attempts (last: ${problem}); ` +
          `Slack or the network may be down. The webhook is set in ${where}.`,
      );
    },
  };
}

/** Connection failures before any byte of the request left: posting again cannot double the alert. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/** True when a failed request never left (connection refused, DNS…): sending again cannot double it. Anything else may have arrived. */
export function neverSent(error: unknown): boolean {
  return NOT_SENT_CODES.has(networkCode(error));
}

/** The error code of a failed `fetch` (ECONNRESET, …), or the error's name. */
export function networkCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  if (cause && typeof cause.code === "string") return cause.code;
  return error instanceof Error ? error.name : "unknown";
}

/**
 * A state handler that posts an alert to Slack for every finished or retrying state (or the states
 * `onlyStates`/`ignoreStates` select). Options are checked now, not when the first alert is due.
 * "Slack when configured, else the console", the same locally, emulated and deployed:
 * `slackNotifier({ whenMissing: consoleNotifier() })`.
 */
export function slackNotifier(options: SlackNotifierOptions = {}): StateHandler {
  checkNotifierOptions(options, "slackNotifier");
  return channelNotifier(slackChannel(options), options, "slackNotifier");
}
