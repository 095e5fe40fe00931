/**
 * A Lambda's response is what its JSON says: serialized once by the emulator, and that size (UTF-8)
 * is what Step Functions' 256 KiB limit and Lambda's 6 MB limit are checked against.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalLambda } from "../../lib/emulate/lambda";
import { LimitWatch, MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { localFunction } from "./helpers";

function lambda(body: string): LocalLambda {
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-lambda-response-"));
  writeFileSync(join(dir, "index.mjs"), `export const handler = async (event) => { ${body} };`);
  return new LocalLambda(localFunction(dir, `response-${Math.random().toString(36).slice(2)}`));
}

describe("a Lambda's response as Step Functions receives it", () => {
  it("is its JSON, measured in UTF-8 bytes: 140,000 'é' is 280,000 bytes and fails the state with States.DataLimitExceeded", async () => {
    const outcome = await lambda(`return { text: "é".repeat(event.n), at: new Date(0), gone: undefined };`).invoke({ n: 140_000 });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.payload).toEqual({ text: "é".repeat(140_000), at: "1970-01-01T00:00:00.000Z" });
    expect(outcome.bytes).toBe(Buffer.byteLength(JSON.stringify(outcome.payload)));
    expect(outcome.bytes).toBeGreaterThan(MAX_STATE_PAYLOAD_BYTES);
    const watch = new LimitWatch(() => undefined);
    expect(() => watch.checkLambdaResponse("flowhooks.Big", outcome.payload, outcome.bytes)).toThrow(/result of state `flowhooks\.Big` is 280\d{3} bytes; Step Functions accepts 262144/);
    expect(watch.exceeded?.error).toBe("States.DataLimitExceeded");
  });

  it("is null for a handler returning nothing, and an error for one returning what JSON cannot hold", async () => {
    expect(await lambda("return undefined;").invoke({})).toMatchObject({ ok: true, payload: null, bytes: 4 });
    expect(await lambda("return 1n;").invoke({})).toMatchObject({ ok: false, errorType: "TypeError" });
  });
});
