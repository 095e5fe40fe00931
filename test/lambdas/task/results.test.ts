import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Flow, task, virtualClock } from "../../../lib/index";
import { RESULT_REF } from "../../../lib/core/results";
import { createTaskHandler, type TaskOutput, type TaskResultOutput } from "../../../lambdas/task/index";
import { s3ResultStore } from "../../../lib/aws/results";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";
const s3Mock = mockClient(S3Client);
afterEach(() => s3Mock.reset());

function payload(taskName: string, upstream: Record<string, TaskOutput> = {}) {
  return { task: taskName, parameters: {}, upstream, context: { Execution: { Id: EXECUTION }, State: { RetryCount: 0 } } };
}

function bigFlow(bytes: number) {
  const produce = task({ name: "produce" }, () => "x".repeat(bytes));
  const measure = task({ name: "measure" }, (s: string) => s.length);
  return new Flow({ name: "orders" }, () => {
    measure(produce());
  });
}

function handler(flow: Flow, taskName: string, env: Record<string, string>) {
  return createTaskHandler(flow, { clock: virtualClock(), env: { FLOWHOOKS_TASK: taskName, ...env }, emit: async () => {} });
}

describe("task results above the threshold", () => {
  it("go to the results folder, the output carries a reference, and the downstream task reads the value back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-results-"));
    const flow = bigFlow(300 * 1024);
    const env = { FLOWHOOKS_RESULTS_DIR: dir };
    const out = await handler(flow, "produce", env)(payload("produce"));
    expect(out.state.type).toBe("Success");
    expect(out.state.result).toEqual({ [RESULT_REF]: { key: "orders/run-1/produce/attempt-1.json", bytes: 300 * 1024 + 2 } });
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(512);
    expect(JSON.parse(readFileSync(join(dir, "orders/run-1/produce/attempt-1.json"), "utf8"))).toHaveLength(300 * 1024);

    const downstream = await handler(flow, "measure", env)(payload("measure", { produce: out }));
    expect(downstream.state).toMatchObject({ type: "Success", result: 300 * 1024 });
  });

  it("are left out of the task's events, which EventBridge caps at 256 KiB, with their size", async () => {
    const events: { newState: { result?: unknown } }[] = [];
    const flow = bigFlow(300 * 1024);
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-results-"));
    const h = createTaskHandler(flow, { clock: virtualClock(), env: { FLOWHOOKS_TASK: "produce", FLOWHOOKS_RESULTS_DIR: dir }, emit: async (d) => void events.push(d) });
    await h(payload("produce"));
    expect(events.at(-1)!.newState.result).toEqual({ $flowhooksResultOmitted: { bytes: 300 * 1024 + 2 } });
    expect(Buffer.byteLength(JSON.stringify(events.at(-1)))).toBeLessThan(4096);
  });

  it("stay in the output up to the threshold, which FLOWHOOKS_RESULT_THRESHOLD_BYTES sets", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-results-"));
    const out = await handler(bigFlow(100), "produce", { FLOWHOOKS_RESULTS_DIR: dir })(payload("produce"));
    expect(out.state.result).toBe("x".repeat(100));
    const stored = await handler(bigFlow(100), "produce", { FLOWHOOKS_RESULTS_DIR: dir, FLOWHOOKS_RESULT_THRESHOLD_BYTES: "50" })(payload("produce"));
    expect(stored.state.result).toHaveProperty(RESULT_REF);
  });

  it("without a results store, still fail the task above 200 KiB instead of breaking the execution", async () => {
    const out = await handler(bigFlow(300 * 1024), "produce", {})(payload("produce"));
    expect(out.state).toMatchObject({ type: "Failed", message: expect.stringMatching(/Task result is \d+ bytes serialized/) });
  });

  it("fail the downstream task with an error naming the fix when a reference arrives where no store is set", async () => {
    const ref: TaskResultOutput = { state: { type: "Success", result: { [RESULT_REF]: { key: "k", bytes: 9 } } }, failed: false, skipped: false, failedLabel: "" };
    await expect(handler(bigFlow(1), "measure", {})(payload("measure", { produce: ref }))).rejects.toThrow(/no result store.*FLOWHOOKS_RESULTS_BUCKET/);
  });

  it("go to S3 with the bucket in FLOWHOOKS_RESULTS_BUCKET, read back with GetObject", async () => {
    const objects = new Map<string, string>();
    s3Mock.on(PutObjectCommand).callsFake((input) => void objects.set(`${input.Bucket}/${input.Key}`, String(input.Body)));
    // The SDK's streaming body, reduced to the one method the store calls.
    s3Mock.on(GetObjectCommand).callsFake((input) => ({ Body: { transformToString: async () => objects.get(`${input.Bucket}/${input.Key}`)! } }));
    const store = s3ResultStore("results-bucket", new S3Client({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }));
    const flow = bigFlow(10_000);
    const out = await createTaskHandler(flow, { clock: virtualClock(), env: { FLOWHOOKS_TASK: "produce" }, results: store, emit: async () => {} })(payload("produce"));
    expect([...objects.keys()]).toEqual(["results-bucket/orders/run-1/produce/attempt-1.json"]);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: "results-bucket", ContentType: "application/json" });
    const downstream = await createTaskHandler(flow, { clock: virtualClock(), env: { FLOWHOOKS_TASK: "measure" }, results: store, emit: async () => {} })(
      payload("measure", { produce: out }),
    );
    expect(downstream.state.result).toBe(10_000);
  });
});

describe("failure records", () => {
  it("carry a deep stack trimmed to 1,024 characters with a marker (the task's event keeps it whole)", async () => {
    const deep = task({ name: "deep" }, () => {
      const error = new Error("boom");
      error.stack = `Error: boom\n${"    at frame (file.js:1:1)\n".repeat(500)}`;
      throw error;
    });
    const out = await handler(new Flow({ name: "f", tasks: [deep] }), "deep", {})(payload("deep"));
    const stack = (out.state.result as { $flowhooksError: { stack: string } }).$flowhooksError.stack;
    expect(stack.length).toBeLessThan(1100);
    expect(stack).toMatch(/… \[trimmed by flowhooks: \d+ more characters\]$/);
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(1500);
  });
});
