/**
 * Masking of secret values (lib/core/mask.ts), issue 21 item 6 (b) and (e): a value is found raw,
 * mrkdwn-escaped and JSON-escaped to any depth, and a prefix of it left by a cut is masked too.
 */
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { forgetSecretValues, MASK, maskError, maskJSON, maskSecrets, registerSecretValue } from "../../lib/core/mask";
import { truncate } from "../../lib/notify/format";

afterEach(() => forgetSecretValues());

/** `text` JSON-escaped `depth` times, as a string inside a JSON string inside … is written. */
function escaped(text: string, depth: number): string {
  let out = text;
  for (let i = 0; i < depth; i++) out = JSON.stringify(out).slice(1, -1);
  return out;
}

/** Secrets with the characters escapes change (quotes, backslashes, newlines, mrkdwn, non-ASCII), never part of the mask itself. */
const secretArb = fc
  .array(fc.constantFrom(..."ab9Z-_:/.@%", '"', "\\", "\n", "\t", "<", ">", "&", "é", "\u0001", "€"), { minLength: 4, maxLength: 24 })
  .map((chars) => chars.join(""))
  .filter((s) => s.trim().length >= 4 && !MASK.includes(s.trim()) && !MASK.includes(s));

describe("maskSecrets finds a value in every form a text gives it", () => {
  it("raw or JSON-escaped to any depth, inside any text (property)", () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: 7 }), fc.constantFrom("", "error: ", '{"cause":"'), fc.constantFrom("", " end", '"}'), (secret, depth, before, after) => {
        forgetSecretValues();
        registerSecretValue(secret);
        const out = maskSecrets(`${before}${escaped(secret, depth)}${after}`);
        for (let d = 0; d <= depth; d++) expect(out).not.toContain(escaped(secret, d));
        expect(out).toContain(MASK);
      }),
      { numRuns: 300 },
    );
  });

  it("an error quoting {\"key\":\"p\\\"w\"} twice JSON-escaped, in a log line, is masked", () => {
    const secret = '{"key":"p\\"w-5e3f"}';
    registerSecretValue(secret);
    const logLine = JSON.stringify({ level: "error", error: { message: JSON.stringify({ errorMessage: `bad config ${secret}` }) } });
    expect(logLine).toContain(escaped(secret, 2));
    const masked = maskSecrets(logLine);
    expect(masked).not.toContain("p\\\\\\\"w-5e3f");
    expect(JSON.parse(JSON.parse(masked).error.message).errorMessage).toBe("bad config [redacted]");
  });

  it("escaped for Slack mrkdwn, then JSON-escaped", () => {
    registerSecretValue("a<b>&c-secret");
    const body = JSON.stringify({ text: "x a&lt;b&gt;&amp;c-secret y" });
    expect(maskSecrets(body)).toBe(JSON.stringify({ text: "x [redacted] y" }));
  });

  it("a prefix of 4 or more characters that a cut left before its marker is masked, at any escape depth (property)", () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 23 }), (secret, depth, kept) => {
        fc.pre(kept < secret.length && !/[\uD800-\uDBFF]/.test(secret[kept - 1]!));
        forgetSecretValues();
        registerSecretValue(secret);
        const prefix = secret.slice(0, kept);
        fc.pre(prefix.trim().length >= 4);
        // Cut by a process that did not know the value, then escaped on the way to a log line.
        // What lib/notify/format.ts's truncate writes when it keeps `kept` characters of the value.
        const atKept = `cause: ${prefix}… [truncated ${secret.length - kept} chars]`;
        expect(truncate(`cause: ${secret}${"x".repeat(40)}`, atKept.length + 2).startsWith("cause: ")).toBe(true);
        const out = maskSecrets(escaped(atKept, depth));
        expect(out).not.toContain(escaped(prefix, depth));
        // Masked up to the cut: a value registered trimmed too (registerSecretValue) may leave only its trailing whitespace.
        const beforeCut = out.slice(0, out.indexOf("…"));
        expect(beforeCut).toContain(MASK);
        expect(beforeCut.slice(beforeCut.lastIndexOf(MASK) + MASK.length).replace(/\\+(?:[nrtfb]|u[0-9a-fA-F]{4})|\s/g, "")).toBe("");
      }),
      { numRuns: 300 },
    );
  });

  it("a value holding a cut marker ('...') cut after it is masked up to the cut, the marker included", () => {
    registerSecretValue("aaaaaaaaaaaaa...a");
    expect(maskSecrets("cause: aaaaaaaaaaaaa...… [truncated 1 chars]")).toBe(`cause: ${MASK}… [truncated 1 chars]`);
  });

  it("a value that contains another is masked whole, and text around it is kept", () => {
    registerSecretValue("token-1234");
    registerSecretValue("token-1234-extended");
    expect(maskSecrets("a token-1234-extended b token-1234 c")).toBe("a [redacted] b [redacted] c");
  });

  it("forgetSecretValues is a fresh container: nothing is masked until a value is read again", () => {
    registerSecretValue("pw-123456");
    forgetSecretValues();
    expect(maskSecrets("pw-123456")).toBe("pw-123456");
  });
});

describe("maskJSON and maskError", () => {
  it("maskJSON masks strings (and keys) at any depth and keeps the value JSON", () => {
    const secret = 'p"w\\-77aa';
    registerSecretValue(secret);
    const value = { message: `x ${secret}`, nested: [{ [secret]: JSON.stringify({ e: secret }) }], n: 3 };
    const masked = maskJSON(value);
    expect(JSON.stringify(masked)).not.toContain("77aa");
    expect(masked.n).toBe(3);
    expect(masked.message).toBe("x [redacted]");
  });

  it("maskError masks message and stack and keeps the error's class and name (Step Functions retries match on it)", () => {
    registerSecretValue("api-key-42424242");
    class RetryingError extends Error {
      override name = "flowhooks.Retrying";
    }
    const error = maskError(new RetryingError("Retrying(api-key-42424242)"));
    expect(error).toBeInstanceOf(RetryingError);
    expect(error.name).toBe("flowhooks.Retrying");
    expect(error.message).toBe("Retrying([redacted])");
    expect(error.stack).not.toContain("42424242");
  });
});
