/**
 * Masking of secret values, as CI systems mask secrets in logs: every value read through
 * `secrets.get` (and every configured webhook or token) is registered here, and alert text, log
 * lines and errors pass through `maskSecrets` before they leave the process.
 *
 * The registry lives on `globalThis` under a `Symbol.for` key, so a bundle that carries its own
 * copy of flowhooks masks the values another copy read.
 */

/** What a masked value is replaced with. */
export const MASK = "[redacted]";
/** Shorter values are not masked (masking "1" or "ok" would garble every text). */
export const MIN_MASKED_LENGTH = 4;

const REGISTRY = Symbol.for("flowhooks.secretValues");

function registry(): Set<string> {
  const holder = globalThis as Record<symbol, Set<string> | undefined>;
  return (holder[REGISTRY] ??= new Set());
}

/** The forms a value takes in the texts we write: as is, inside JSON strings, escaped for Slack mrkdwn. */
function variants(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const mrkdwn = value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return [...new Set([value, json, mrkdwn, JSON.stringify(mrkdwn).slice(1, -1)])];
}

/** Remembers a secret value so that `maskSecrets` hides it from now on. */
export function registerSecretValue(value: string): void {
  if (typeof value !== "string") return;
  const trimmed = value.trim();
  for (const v of new Set([value, trimmed])) if (v.length >= MIN_MASKED_LENGTH) registry().add(v);
}

/** `text` with every registered secret value (in any of its written forms) replaced by `[redacted]`. */
export function maskSecrets(text: string): string {
  const values = registry();
  if (values.size === 0 || typeof text !== "string") return text;
  let out = text;
  // Longest first, so a value that contains another is masked whole.
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    for (const form of variants(value)) if (form.length >= MIN_MASKED_LENGTH) out = out.replaceAll(form, MASK);
  }
  return out;
}
