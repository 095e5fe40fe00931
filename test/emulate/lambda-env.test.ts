import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deliverInProcess, subscribe } from "../../lib/emulate/eventbridge";
import { LocalLambda } from "../../lib/emulate/lambda";
import type { SynthesizedFunction } from "../../lib/emulate/synth";
import { localFunction } from "./helpers";

/** A bundle whose handler reads its environment before and after awaiting (as secrets.get and the SDK do). */
function asset(): string {
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-lambda-env-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "index.mjs"),
    [
      "const atInit = process.env.GREETING;",
      "export const handler = async (event) => {",
      "  const before = process.env.GREETING;",
      "  await new Promise((resolve) => setTimeout(resolve, event.waitMs));",
      "  await Promise.resolve();",
      "  process.env.WRITTEN = before;",
      "  return { atInit, before, after: process.env.GREETING, name: process.env.AWS_LAMBDA_FUNCTION_NAME, written: process.env.WRITTEN };",
      "};",
    ].join("\n"),
  );
  return dir;
}

function fn(assetDir: string, name: string, greeting: string): SynthesizedFunction {
  return localFunction(assetDir, name, { GREETING: greeting });
}

describe("an emulated Lambda's environment", () => {
  it("holds for the whole invocation, across awaits, while another function runs concurrently", async () => {
    const dir = asset();
    const a = new LocalLambda(fn(dir, `env-a-${Date.now()}`, "from a"));
    const b = new LocalLambda(fn(dir, `env-b-${Date.now()}`, "from b"));
    const [ra, rb] = await Promise.all([a.invoke({ waitMs: 30 }), b.invoke({ waitMs: 10 })]);
    expect(ra).toMatchObject({ ok: true, payload: { atInit: "from a", before: "from a", after: "from a", name: a.fn.functionName, written: "from a" } });
    expect(rb).toMatchObject({ ok: true, payload: { atInit: "from b", before: "from b", after: "from b", name: b.fn.functionName, written: "from b" } });
  });

  it("never leaks into the emulator's own process environment", async () => {
    const dir = asset();
    const a = new LocalLambda(fn(dir, `env-c-${Date.now()}`, "from c"));
    const pending = a.invoke({ waitMs: 20 });
    // While the invocation waits, code outside it sees the process's environment.
    expect(process.env.GREETING).toBeUndefined();
    expect(process.env.AWS_LAMBDA_FUNCTION_NAME).toBeUndefined();
    await pending;
    expect(process.env.WRITTEN).toBeUndefined();
    expect(Object.keys(process.env)).not.toContain("GREETING");
  });

  it("is exactly the function's environment and Lambda's variables: host-only variables, local secret values included, are invisible", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-lambda-hermetic-"));
    writeFileSync(
      join(dir, "index.mjs"),
      [
        "const seen = () => ({ keys: Object.keys(process.env).sort(), hostOnly: process.env.FLOWHOOKS_TEST_HOST_ONLY, has: 'FLOWHOOKS_TEST_HOST_ONLY' in process.env,",
        "  secret: process.env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL, greeting: process.env.GREETING, region: process.env.AWS_REGION,",
        "  version: process.env.AWS_LAMBDA_FUNCTION_VERSION, endpoint: process.env.AWS_ENDPOINT_URL_SNS, spread: { ...process.env }.FLOWHOOKS_TEST_HOST_ONLY });",
        "const atInit = seen();",
        "export const handler = async () => { await new Promise((r) => setTimeout(r, 5)); return { atInit, during: seen() }; };",
      ].join("\n"),
    );
    process.env.FLOWHOOKS_TEST_HOST_ONLY = "the host's";
    process.env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL = "http://127.0.0.1:9/services/host";
    process.env.AWS_ENDPOINT_URL_SNS = "http://127.0.0.1:9/sns";
    try {
      const lambda = new LocalLambda(fn(dir, `env-hermetic-${Date.now()}`, "from the stack"), { AWS_REGION: "us-east-1" });
      const outcome = await lambda.invoke({});
      expect(outcome.ok).toBe(true);
      const { atInit, during } = (outcome as { payload: Record<string, Record<string, unknown>> }).payload;
      for (const view of [atInit, during]) {
        expect(view).toMatchObject({ greeting: "from the stack", region: "us-east-1", version: "$LATEST", endpoint: "http://127.0.0.1:9/sns", has: false });
        expect(view!.hostOnly).toBeUndefined();
        expect(view!.spread).toBeUndefined();
        expect(view!.secret).toBeUndefined();
        expect(view!.keys).not.toContain("FLOWHOOKS_TEST_HOST_ONLY");
        expect(view!.keys).not.toContain("HOME");
        expect(view!.keys).toEqual(expect.arrayContaining(["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "GREETING", "_HANDLER", "LAMBDA_TASK_ROOT"]));
      }
      // Outside the container, the host's environment is as it was.
      expect(process.env.FLOWHOOKS_TEST_HOST_ONLY).toBe("the host's");
    } finally {
      delete process.env.FLOWHOOKS_TEST_HOST_ONLY;
      delete process.env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL;
      delete process.env.AWS_ENDPOINT_URL_SNS;
    }
  });

  it("does not follow the events a function hands over in-process into the emulator's handling of them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-lambda-put-"));
    writeFileSync(
      join(dir, "index.mjs"),
      [
        "export const handler = async (event) => {",
        "  globalThis[Symbol.for('flowhooks.emulator.putEvents')]([{ Detail: JSON.stringify({ executionArn: event.arn }) }]);",
        "  return process.env.GREETING;",
        "};",
      ].join("\n"),
    );
    const arn = `arn:emulated:${Date.now()}`;
    const seen: (string | undefined)[] = [];
    const stop = deliverInProcess();
    const unsubscribe = subscribe(arn, () => {
      seen.push(process.env.GREETING);
      void Promise.resolve().then(() => seen.push(process.env.GREETING));
    });
    try {
      const sender = new LocalLambda(fn(dir, `env-put-${Date.now()}`, "from the sender"));
      expect(await sender.invoke({ arn })).toMatchObject({ ok: true, payload: "from the sender" });
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual([undefined, undefined]);
    } finally {
      unsubscribe();
      stop();
    }
  });
});
