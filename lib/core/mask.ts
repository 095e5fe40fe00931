/**
 * Masking of secret values, as CI systems mask secrets in logs: every value read through
 * `secrets.get` (and every configured webhook or token) is registered here, and alert text, log
 * lines and errors pass through `maskSecrets` before they leave the process.
 *
 * A value is found in every form our texts give it: as is, escaped for Slack mrkdwn, and
 * JSON-escaped to any depth (an error quoting `{"key":"p\"w"}` inside a log line inside a JSON
 * cause), because each character that JSON escapes is matched with any run of backslashes before
 * it. A prefix of a value (4 characters or more) that ends where a text was cut (`…`, `...`, or the
 * text's end) is masked too, so a text some other process cut before masking leaks no part of it.
 * Callers still mask before they cut (`maskThenCut`): that keeps the whole value out, not just a prefix.
 *
 * The registry lives on `globalThis` under a `Symbol.for` key, so a bundle that carries its own
 * copy of flowhooks masks the values another copy read.
 */

/** What a masked value is replaced with. */
export const MASK = "[redacted]";
/**
 * The shortest secret value flowhooks accepts (`secrets.get` refuses shorter ones, see
 * lib/aws/secrets.ts): a shorter value cannot be masked without garbling every text.
 */
export const MIN_MASKED_LENGTH = 4;

const REGISTRY = Symbol.for("flowhooks.secretValues");

interface Registry {
  values: Set<string>;
  /** The compiled patterns for `values`, rebuilt when a value is added. */
  compiled?: Compiled;
}

function registry(): Registry {
  const holder = globalThis as Record<symbol, Registry | Set<string> | undefined>;
  const current = holder[REGISTRY];
  // An older copy of this module kept a bare Set there: adopt its values.
  if (current instanceof Set) return (holder[REGISTRY] = { values: current });
  if (current === undefined) return (holder[REGISTRY] = { values: new Set() });
  return current;
}

const SHORT_ESCAPES: Record<number, string> = { 8: "b", 9: "t", 10: "n", 12: "f", 13: "r" };

function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** `\uXXXX` after any run of backslashes, hex digits in either case (some encoders write `\u00E9`). */
function unicodeEscape(code: number): string {
  const hex = [...code.toString(16).padStart(4, "0")].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join("");
  return `\\\\+u${hex}`;
}

/** The pattern of one character in every written form: raw, mrkdwn-escaped, JSON-escaped to any depth. */
function charPattern(c: string): string {
  const code = c.charCodeAt(0);
  switch (c) {
    case '"':
      return `(?:\\\\*"|${unicodeEscape(code)})`;
    case "\\":
      return "\\\\+";
    case "/":
      return "\\\\*\\/";
    case "&":
      return `(?:&(?:amp;)*|${unicodeEscape(code)})`;
    case "<":
      return `(?:<|&(?:amp;)*lt;|${unicodeEscape(code)})`;
    case ">":
      return `(?:>|&(?:amp;)*gt;|${unicodeEscape(code)})`;
    case "'":
      return `(?:'|${unicodeEscape(code)})`;
  }
  if (code < 0x20) {
    const short = SHORT_ESCAPES[code];
    return `(?:${regexEscape(c)}${short ? `|\\\\+${short}` : ""}|${unicodeEscape(code)})`;
  }
  if (code > 0x7e) return `(?:${regexEscape(c)}|${unicodeEscape(code)})`;
  return regexEscape(c);
}

/** The markers our truncations end a cut text with (`…`, and SNS subjects' `...`). */
const CUT_MARKER = /…|\.\.\./g;
/** How many characters of text one secret character may take at most when looking back from a cut (deep JSON escapes). */
const MAX_FORM_CHARS_PER_CHAR = 16;

interface Compiled {
  /** Every whole value, in any form. */
  whole: RegExp;
  /** Per value longer than the minimum: one sticky pattern per character, to match a prefix that ends at a cut. */
  prefixes: RegExp[][];
}

function compile(values: Set<string>): Compiled {
  // Longest first, so a value that contains another is masked whole.
  const sorted = [...values].sort((a, b) => b.length - a.length);
  return {
    whole: new RegExp(sorted.map((v) => v.split("").map(charPattern).join("")).join("|"), "g"),
    prefixes: sorted.filter((v) => v.length > MIN_MASKED_LENGTH).map((v) => v.split("").map((c) => new RegExp(charPattern(c), "y"))),
  };
}

/** Every length `re` (sticky) can match at `pos` without passing `limit`, longest first. */
function matchLengths(re: RegExp, text: string, pos: number, limit: number): number[] {
  re.lastIndex = pos;
  const greedy = re.exec(text)?.[0];
  if (!greedy) return [];
  // Only a match that starts with backslashes can also match shorter (fewer of them, at another depth).
  if (greedy[0] !== "\\") return pos + greedy.length <= limit ? [greedy.length] : [];
  const lengths: number[] = [];
  for (let end = limit; end > pos; ) {
    re.lastIndex = 0;
    const m = re.exec(text.slice(pos, end));
    if (!m || m[0].length === 0) break;
    lengths.push(m[0].length);
    end = pos + m[0].length - 1;
  }
  return lengths;
}

/** The longest text one character's written form is looked for in (a quote escaped 8 deep is 256 characters). */
const MAX_CHAR_FORM_LENGTH = 256;
/** Steps one prefix search may take (a backslash run can be split between characters in several ways). */
const MAX_PREFIX_STEPS = 10_000;

/**
 * Where a prefix of a value (at least MIN_MASKED_LENGTH characters, in any written form) starts, if
 * one ends at the cut marker at `cut` (a cut inside an escape may leave backslashes before it); the
 * earliest start, so the longest prefix.
 */
function prefixStart(text: string, cut: number, chars: RegExp[]): number | undefined {
  let backslashes = cut;
  while (backslashes > 0 && text[backslashes - 1] === "\\") backslashes--;
  // The whole value is masked by the `whole` pattern; a prefix leaves out at least its last character.
  // Depth-first over (character, position), without recursion: a prefix may be thousands of characters.
  const matches = (start: number): boolean => {
    const stack: [number, number][] = [[0, start]];
    for (let steps = 0; stack.length > 0 && steps < MAX_PREFIX_STEPS; steps++) {
      const [i, pos] = stack.pop()!;
      if (i >= MIN_MASKED_LENGTH && pos >= backslashes && pos <= cut) return true;
      if (i >= chars.length - 1 || pos >= cut) continue;
      const lengths = matchLengths(chars[i]!, text, pos, Math.min(cut, pos + MAX_CHAR_FORM_LENGTH));
      // Longest first: pushed last.
      for (let k = lengths.length - 1; k >= 0; k--) stack.push([i + 1, pos + lengths[k]!]);
    }
    return false;
  };
  const from = Math.max(0, cut - chars.length * MAX_FORM_CHARS_PER_CHAR);
  for (let start = from; start <= cut - MIN_MASKED_LENGTH; start++) if (matches(start)) return start;
  return undefined;
}

/**
 * `text` with each prefix of a value that ends at a cut marker replaced by the mask. A value may
 * itself hold a marker (`a...b`): a longer prefix ending at a later marker then overlaps the mask
 * already written, which grows to cover it.
 */
function maskCutPrefixes(text: string, prefixes: RegExp[][]): string {
  if (prefixes.length === 0) return text;
  let out = "";
  let copied = 0;
  /** Where the last mask starts in `text`, and `out` before it. */
  let last: { start: number; before: string } | undefined;
  for (const marker of text.matchAll(CUT_MARKER)) {
    const cut = marker.index!;
    if (cut < copied) continue;
    const floor = last?.start ?? 0;
    let start: number | undefined;
    for (const chars of prefixes) {
      const s = prefixStart(text, cut, chars);
      if (s !== undefined && s >= floor && (start === undefined || s < start)) start = s;
    }
    if (start === undefined) continue;
    if (last && start < copied) {
      out = last.before + MASK;
    } else {
      last = { start, before: out + text.slice(copied, start) };
      out = last.before + MASK;
    }
    copied = cut;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Remembers a secret value so that `maskSecrets` hides it from now on (values under 4 characters are ignored). */
export function registerSecretValue(value: string): void {
  if (typeof value !== "string") return;
  const reg = registry();
  const before = reg.values.size;
  for (const v of new Set([value, value.trim()])) if (v.length >= MIN_MASKED_LENGTH) reg.values.add(v);
  if (reg.values.size !== before) reg.compiled = undefined;
}

/**
 * Forgets every registered value: what a fresh Lambda container starts with. For tests that model
 * a second container; never called by flowhooks itself.
 */
export function forgetSecretValues(): void {
  const reg = registry();
  reg.values.clear();
  reg.compiled = undefined;
}

/** `text` with every registered secret value (in any of its written forms) replaced by `[redacted]`. */
export function maskSecrets(text: string): string {
  if (typeof text !== "string") return text;
  const reg = registry();
  if (reg.values.size === 0) return text;
  const compiled = (reg.compiled ??= compile(reg.values));
  return maskCutPrefixes(text.replace(compiled.whole, MASK), compiled.prefixes);
}

/** `maskSecrets`, then `cut`: the one order every cut on an alert or log path uses, so no cut leaves part of a secret. */
export function maskThenCut(text: string, cut: (masked: string) => string): string {
  return cut(maskSecrets(text));
}

/**
 * A JSON-safe value with every string in it masked (keys too). Masking the serialized text keeps
 * it valid JSON: a match swallows the whole backslash run before it and `[redacted]` needs no escape.
 */
export function maskJSON<T>(value: T): T {
  // Nothing to mask (no secret read yet): no serialization (the task Lambda masks every event it sends).
  if (value === undefined || registry().values.size === 0) return value;
  const text = JSON.stringify(value);
  const masked = maskSecrets(text);
  if (masked === text) return value;
  try {
    return JSON.parse(masked) as T;
  } catch {
    // A value ending in a backslash can take the escape of the character after it: mask string by string instead.
    return maskEach(JSON.parse(text)) as T;
  }
}

function maskEach(value: unknown): unknown {
  if (typeof value === "string") return maskSecrets(value);
  if (Array.isArray(value)) return value.map(maskEach);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [maskSecrets(k), maskEach(v)]));
  return value;
}

/** `error` with its message and stack masked in place (its class and name kept: Step Functions retries match on the name). */
export function maskError<E>(error: E): E {
  if (error instanceof Error) {
    try {
      error.message = maskSecrets(error.message);
      if (typeof error.stack === "string") error.stack = maskSecrets(error.stack);
    } catch {
      // A frozen error keeps its text; whoever logs or sends it masks it there.
    }
  }
  return error;
}
