/**
 * Section 5b: what the alerting path costs per task, in requests and dollars (bench/prices.ts),
 * beside the workflow's own cost. A flow of 20 independent tasks that all succeed, and one whose
 * tasks all fail, run through the emulator (the deployed bundles, the handler Lambda's code, its
 * queue, DynamoDB's document store in memory, a Slack webhook on 127.0.0.1); every request the
 * deployed path would make is counted where the emulator stands in for the service:
 * - EventBridge: each PutEvents entry (task transition events, the final report) is a custom event;
 *   Step Functions' status-change events are AWS service events (free).
 * - SQS: one SendMessage per event the rule routes to the queue and per record the handler sends
 *   (digest flushes); one ChangeMessageVisibility per deferral; ReceiveMessage and DeleteMessage
 *   per batch: given as a range, from batches of 10 (a storm: the event source's batch size) to one
 *   record per batch (events that trickle in). Lambda's idle long polling is per hour, not per task.
 * - Lambda: task and handler invocations, and GB-s at 256 MB with the in-process duration of a
 *   second run (warm containers; billed at least 1 ms each; a lower bound: deployed, each DynamoDB
 *   and Slack call adds a network round trip).
 * - DynamoDB: request units from the size of each document read (strongly consistent, 4 KB) or
 *   written (1 KB; twice in a transaction).
 * The Slack requests themselves cost nothing on AWS's side.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { virtualClock } from "../../lib/core/clock";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import { emulate, prepareEmulation } from "../../lib/emulate/index";
import { HandlerQueue } from "../../lib/emulate/handler-queue";
import { LocalLambda, type InvocationOutcome } from "../../lib/emulate/lambda";
import { PRICES } from "../prices";
import { ALERT_COST_TASKS } from "../fixtures/alert-cost-flow";

const ENTRY = fileURLToPath(new URL("../fixtures/alert-cost-flow.ts", import.meta.url));
const MEMORY_GB = 256 / 1024;

export interface AlertCost {
  flow: string;
  tasks: number;
  status: string;
  stateTransitions: number;
  taskInvocations: number;
  taskGbSeconds: number;
  customEvents: number;
  sqsSends: number;
  sqsVisibilityChanges: number;
  /** Records the handler was given (the emulator hands over one record per invocation). */
  sqsRecords: number;
  handlerInvocations: { batchesOf10: number; onePerRecord: number };
  /** GB-s of all handler work (the same however the records are batched). */
  handlerGbSeconds: number;
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  slackRequests: number;
  /** Dollars per task: the workflow (transitions, task Lambdas) and the alerting path (low–high). */
  workflowUsdPerTask: number;
  alertingUsdPerTask: { low: number; high: number };
}

const kb = (value: unknown, unit: number) => Math.max(1, Math.ceil((Buffer.byteLength(JSON.stringify(value ?? null)) + 100) / unit));

/** Counts what the emulation asks of each stand-in while `run` runs, then restores them. */
async function counting<T>(run: () => Promise<T>) {
  const seen = { wru: 0, rru: 0, sends: 0, visibility: 0, records: 0, invocations: new Map<string, { count: number; ms: number }>() };
  const docs = InMemoryDocumentStore.prototype;
  const queue = HandlerQueue.prototype as unknown as Record<string, (...args: any[]) => any>;
  const lambda = LocalLambda.prototype;
  const saved = { get: docs.get, put: docs.put, transact: docs.transact, deliver: queue.deliver!, enqueue: queue.enqueue!, connect: queue.connect!, invoke: lambda.invoke };
  docs.get = async function (this: InMemoryDocumentStore, key: string) {
    const doc = await saved.get.call(this, key);
    seen.rru += kb(doc?.value, 4096);
    return doc as never;
  };
  docs.put = async function (this: InMemoryDocumentStore, key: string, value: unknown, expected: number | undefined) {
    seen.wru += kb(value, 1024);
    return saved.put.call(this, key, value, expected);
  };
  docs.transact = async function (this: InMemoryDocumentStore, writes) {
    for (const w of writes) seen.wru += 2 * kb(w.value, 1024);
    return saved.transact.call(this, writes);
  };
  queue.deliver = function (this: unknown, ...args: unknown[]) {
    seen.sends++;
    return saved.deliver.apply(this, args);
  };
  queue.enqueue = function (this: unknown, item: { receives: number }, ...rest: unknown[]) {
    if (item.receives === 0) seen.sends++;
    else seen.visibility++;
    return saved.enqueue.call(this, item, ...rest);
  };
  queue.connect = function (this: unknown, handler: (event: { Records: unknown[] }) => Promise<unknown>) {
    return saved.connect.call(this, async (event: { Records: unknown[] }) => {
      seen.records += event.Records.length;
      const started = process.hrtime.bigint();
      try {
        return await handler(event);
      } finally {
        const s = seen.invocations.get("handler") ?? { count: 0, ms: 0 };
        s.count++;
        s.ms += Math.max(1, Number(process.hrtime.bigint() - started) / 1e6);
        seen.invocations.set("handler", s);
      }
    });
  };
  lambda.invoke = async function (this: LocalLambda, event: unknown): Promise<InvocationOutcome> {
    const outcome = await saved.invoke.call(this, event);
    // The handler's container is invoked through the queue (timed there), not through invoke().
    const s = seen.invocations.get("task") ?? { count: 0, ms: 0 };
    s.count++;
    s.ms += Math.max(1, outcome.durationMs);
    seen.invocations.set("task", s);
    return outcome;
  };
  try {
    return { result: await run(), seen };
  } finally {
    Object.assign(docs, { get: saved.get, put: saved.put, transact: saved.transact });
    Object.assign(queue, { deliver: saved.deliver, enqueue: saved.enqueue, connect: saved.connect });
    lambda.invoke = saved.invoke;
  }
}

/** A Slack webhook on 127.0.0.1 that accepts everything. */
async function acceptingSlack(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "text/plain" }).end("ok"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests: () => requests, close: () => new Promise((r) => server.close(() => r())) };
}

export async function alertPathCost(flow: "bench-alerts-ok" | "bench-alerts-failed"): Promise<AlertCost> {
  const slack = await acceptingSlack();
  try {
    const target = await prepareEmulation({ entry: ENTRY, flow, slackWebhookUrl: slack.url });
    const once = () => emulate({ target, slackWebhookUrl: slack.url, clock: virtualClock(new Date()), fastRetries: true, write: () => undefined });
    await once(); // warm containers: durations as a warm Lambda's, not a first import's
    const { result, seen } = await counting(once);
    const n = ALERT_COST_TASKS;
    const task = seen.invocations.get("task") ?? { count: 0, ms: 0 };
    const handler = seen.invocations.get("handler") ?? { count: 0, ms: 0 };
    const customEvents = result.transitions.filter((t) => t.kind === "task").length + 1; // + the final report's PutEvents
    const stateTransitions = result.statesEntered.length;
    const taskGbSeconds = (task.ms / 1000) * MEMORY_GB;
    const handlerGbSeconds = (handler.ms / 1000) * MEMORY_GB;
    const batches = { batchesOf10: Math.ceil(seen.records / 10), onePerRecord: seen.records };
    const usd = (invocations: number) =>
      customEvents * PRICES.eventBridgeEvent +
      (seen.sends + seen.visibility + 2 * invocations) * PRICES.sqsRequest +
      invocations * PRICES.lambdaRequest +
      handlerGbSeconds * PRICES.lambdaGbSecond +
      seen.wru * PRICES.dynamoWrite +
      seen.rru * PRICES.dynamoRead;
    return {
      flow,
      tasks: n,
      status: result.status,
      stateTransitions,
      taskInvocations: task.count,
      taskGbSeconds,
      customEvents,
      sqsSends: seen.sends,
      sqsVisibilityChanges: seen.visibility,
      sqsRecords: seen.records,
      handlerInvocations: batches,
      handlerGbSeconds,
      dynamoWriteUnits: seen.wru,
      dynamoReadUnits: seen.rru,
      slackRequests: slack.requests(),
      workflowUsdPerTask: (stateTransitions * PRICES.stateTransition + task.count * PRICES.lambdaRequest + taskGbSeconds * PRICES.lambdaGbSecond) / n,
      alertingUsdPerTask: { low: usd(batches.batchesOf10) / n, high: usd(batches.onePerRecord) / n },
    };
  } finally {
    await slack.close();
  }
}
