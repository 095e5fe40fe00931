import { execFileSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleFlow } from "../../lib/cdk/bundle";
import { eventBridgeEvent, sqsRecord } from "../fixtures/index";

/**
 * Runs `body` in a fresh Node that imports the flow bundle, recording every `@aws-sdk/*` module
 * the bundle resolves (the SDK is external to the bundle, as in Lambda). Prints JSON of
 * `{ atInit, after, out }` as its last line: the SDK modules loaded by the import, and by the end of `body`.
 */
function run(dir: string, body: string, env: Record<string, string> = {}): { atInit: string[]; after: string[]; out?: unknown } {
  const bundleUrl = pathToFileURL(join(dir, "index.mjs")).href;
  const script = `
    import { registerHooks } from "node:module";
    const loaded = new Set();
    registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith("@aws-sdk/")) loaded.add(specifier); return next(specifier, context); } });
    const bundle = await import(${JSON.stringify(bundleUrl)});
    const atInit = [...loaded];
    let out;
    ${body}
    process.stdout.write("\\n" + JSON.stringify({ atInit, after: [...loaded].filter((m) => m.startsWith("@aws-sdk/client-")), out }));
  `;
  const stdout = execFileSync(join(import.meta.dirname, "../../node_modules/.bin/node"), ["--input-type=module", "-e", script], {
    encoding: "utf8",
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", ...env },
  });
  // The last line: the handler logs JSON lines to stdout before it.
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { atInit: string[]; after: string[]; out?: unknown };
}

const TASK_EVENT = {
  task: "hello",
  parameters: {},
  upstream: {},
  context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:alerting:1", Input: {} }, State: { RetryCount: 0 } },
};

describe("cold start: AWS SDK clients load on the first call that needs AWS, not at init", () => {
  let dir: string;
  beforeAll(() => {
    const root = mkdtempSync(join(tmpdir(), "fh-cold-start-"));
    dir = bundleFlow({ entry: join(import.meta.dirname, "fixtures/alerting-flow.ts"), flowName: "alerting", outRoot: root });
    // Stands in for the Lambda runtime's copy of the SDK.
    symlinkSync(join(import.meta.dirname, "../../node_modules"), join(root, "node_modules"), "dir");
  }, 30_000);

  it("importing the flow bundle (task, events and reconcile handlers, notifiers) loads no AWS SDK module", () => {
    const { atInit } = run(dir, "");
    expect(atInit).toEqual([]);
  });

  it("a task run without an event bus never loads the AWS SDK", () => {
    const { after, out } = run(dir, `out = (await bundle.task(${JSON.stringify(TASK_EVENT)})).state.type;`, { FLOWHOOKS_TASK: "hello" });
    expect(out).toBe("Success");
    expect(after).toEqual([]);
  });

  it("the first task transition sent to EventBridge loads the EventBridge client only, and the event arrives", () => {
    // A local stand-in for the EventBridge endpoint, in the child, so the real SDK client sends a real request.
    const body = `
      const http = await import("node:http");
      const bodies = [];
      const server = http.createServer((req, res) => {
        let b = ""; req.on("data", (c) => (b += c)); req.on("end", () => {
          bodies.push(JSON.parse(b));
          res.setHeader("content-type", "application/x-amz-json-1.1");
          res.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] }));
        });
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = "http://127.0.0.1:" + server.address().port;
      const result = await bundle.task(${JSON.stringify(TASK_EVENT)});
      server.close();
      out = { state: result.state.type, buses: bodies.flatMap((b) => b.Entries.map((e) => e.EventBusName)) };
    `;
    const { atInit, after, out } = run(dir, body, { FLOWHOOKS_TASK: "hello", FLOWHOOKS_EVENT_BUS: "flow-bus" });
    expect(atInit).toEqual([]);
    expect(out).toEqual({ state: "Success", buses: ["flow-bus", "flow-bus"] });
    expect(after).toEqual(["@aws-sdk/client-eventbridge"]);
  });

  it("the handler's first record loads DynamoDB for its claim, and no Step Functions client while none is called", () => {
    // A local stand-in for DynamoDB: every claim write succeeds.
    const body = `
      const http = await import("node:http");
      const targets = [];
      const server = http.createServer((req, res) => {
        targets.push(req.headers["x-amz-target"]);
        req.resume(); req.on("end", () => { res.setHeader("content-type", "application/x-amz-json-1.0"); res.end("{}"); });
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      process.env.AWS_ENDPOINT_URL_DYNAMODB = "http://127.0.0.1:" + server.address().port;
      const result = await bundle.events({ Records: [${JSON.stringify(sqsRecord(eventBridgeEvent("sfn-running")))}] });
      server.close();
      out = { failures: result.batchItemFailures, targets };
    `;
    const { atInit, after, out } = run(dir, body, { FLOWHOOKS_DEDUPE_TABLE: "claims" });
    expect(atInit).toEqual([]);
    expect(out).toMatchObject({ failures: [], targets: expect.arrayContaining(["DynamoDB_20120810.PutItem"]) });
    expect(after).toEqual(["@aws-sdk/client-dynamodb"]);
  });
});
