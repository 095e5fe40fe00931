/**
 * Section 7: an alert storm. 1,000 tasks of one execution fail at once (plus the flow's ending);
 * the handler Lambda's real code (createEventsHandler, the digest channel, the rate limiter) runs
 * against a model of SQS + the Lambda event source on a simulated clock, posting to an in-process
 * fake Slack that takes 1 message/s (burst 10) and answers 429 with Retry-After beyond it, 200 ms a
 * request. The model is the (visibility 360 s, maxReceiveCount 10, 60 s Lambda timeout,
 * batches of 10): each invocation runs at its start time and lasts as long as its requests took;
 * records it failed come back after the visibility timeout, or when it deferred them.
 */
import { Flow } from "../../lib/core/flow";
import { task } from "../../lib/core/task";
import { InMemoryTransitionStore } from "../../lib/aws/dedupe";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import { createLogger } from "../../lib/aws/logger";
import type { AlertQueue } from "../../lib/aws/queue";
import { digestChannel } from "../../lib/notify/digest";
import { slackDigestTarget } from "../../lib/notify/slack-digest";
import { slackAppTarget } from "../../lib/notify/slack-app";
import { createEventsHandler } from "../../lambdas/handler/index";

export interface StormOptions {
  tasks: number;
  /** The event source's maximum concurrency (handler invocations at once). */
  concurrency: number;
  mode: "webhook" | "app";
  /** @default 360 */
  visibilitySeconds?: number;
  /** @default 10 */
  maxReceiveCount?: number;
}

export interface StormResult {
  mode: "webhook" | "app";
  tasks: number;
  concurrency: number;
  /** HTTP requests to Slack (429s included). */
  requests: number;
  /** Messages Slack accepted (webhook posts, or chat.postMessage; parent updates not counted). */
  messages: number;
  /** chat.update calls accepted (app mode). */
  updates: number;
  /** 429 answers. */
  rateLimited: number;
  /** Tasks named in exactly one accepted message. */
  deliveredOnce: number;
  /** Tasks named in more than one message. */
  duplicated: number;
  /** Tasks never named, plus records that reached the dead-letter queue. */
  lost: number;
  deadLettered: number;
  invocations: number;
  /** Invocations that would have run past the 60 s Lambda timeout. */
  timedOut: number;
  /** The most receives any record took. */
  maxReceives: number;
  /** Simulated time from the first event to the last accepted message. */
  simulatedSeconds: number;
}

interface Message {
  id: number;
  body: string;
  visibleAt: number;
  receives: number;
}

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:storm-flow:run-1";
const START = Date.parse("2026-01-01T00:00:00Z");
const LATENCY_MS = 200;
const STORE_MS = 10;

function taskEvent(task: string, at: Date): string {
  return JSON.stringify({
    version: "0",
    id: `evt-${task}`,
    "detail-type": "flowhooks Task State Change",
    source: "flowhooks",
    account: "123456789012",
    time: at.toISOString(),
    region: "us-east-1",
    resources: [],
    detail: {
      flow: "storm",
      task,
      executionArn: EXECUTION,
      attempt: 1,
      oldState: { type: "Running", message: "Running task." },
      newState: { type: "Failed", message: `Error during execution of task: Error: ${task} could not reach the warehouse` },
      at: at.toISOString(),
    },
  });
}

function endingEvent(at: Date): string {
  return JSON.stringify({
    version: "0",
    id: "evt-end",
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: "123456789012",
    time: at.toISOString(),
    region: "us-east-1",
    resources: [EXECUTION],
    detail: {
      executionArn: EXECUTION,
      stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:storm-flow",
      name: "run-1",
      status: "FAILED",
      startDate: START,
      stopDate: at.getTime(),
      error: "flowhooks.FlowFailed",
      cause: "Some reference tasks failed.",
      redriveCount: 0,
    },
  });
}

export async function simulateAlertStorm(options: StormOptions): Promise<StormResult> {
  const visibilityMs = (options.visibilitySeconds ?? 360) * 1000;
  const maxReceiveCount = options.maxReceiveCount ?? 10;
  const names = Array.from({ length: options.tasks }, (_, i) => `t${i}`);
  const flow = new Flow({ name: "storm" }, () => {
    for (const name of names) task({ name }, () => undefined)();
  });

  // The simulated clock: an invocation's start, plus the time its requests took so far.
  let invocationStart = START;
  let elapsed = 0;
  const now = () => new Date(invocationStart + elapsed);

  // Slack: a token bucket of 10 refilled at 1/s; 429 with Retry-After beyond it.
  let tokens = 10;
  let refilledAt = START;
  const stats = { requests: 0, messages: 0, updates: 0, rateLimited: 0, lastAcceptedAt: START };
  const accepted: string[] = [];
  const fakeFetch = (async (url: string | URL, init?: RequestInit) => {
    elapsed += LATENCY_MS;
    stats.requests++;
    const t = now().getTime();
    tokens = Math.min(10, tokens + (t - refilledAt) / 1000);
    refilledAt = t;
    if (tokens < 1) {
      stats.rateLimited++;
      return new Response(JSON.stringify({ ok: false, error: "ratelimited" }), { status: 429, headers: { "retry-after": String(Math.ceil(1 - tokens)) } });
    }
    tokens -= 1;
    stats.lastAcceptedAt = t;
    const body = String(init?.body ?? "");
    if (String(url).endsWith("chat.update")) stats.updates++;
    else {
      stats.messages++;
      accepted.push(body);
    }
    return new Response(options.mode === "app" ? JSON.stringify({ ok: true, channel: "C0STORM01", ts: `${t / 1000}` }) : "ok", { status: 200 });
  }) as typeof fetch;

  const messages: Message[] = [];
  let nextId = 0;
  const deadLettered: Message[] = [];
  const deferred = new Map<string, number>();
  const queue: AlertQueue = {
    send: async (body, delaySeconds) => void messages.push({ id: nextId++, body, visibleAt: now().getTime() + delaySeconds * 1000, receives: 0 }),
    defer: async (record, seconds) => void deferred.set(record.receiptHandle, seconds),
  };
  const store = new InMemoryDocumentStore();
  const target =
    options.mode === "app"
      ? slackAppTarget({ botToken: "xoxb-storm", channel: "C0STORM01", apiBaseUrl: "http://127.0.0.1:9/api", fetch: fakeFetch })
      : slackDigestTarget({ webhookUrl: "http://127.0.0.1:9/services/T0/B0/storm", fetch: fakeFetch });
  const handler = createEventsHandler(flow, {
    env: { FLOWHOOKS_DEDUPE_TABLE: "storm" },
    store: new InMemoryTransitionStore({ now }),
    documents: store,
    queue,
    channels: [digestChannel({ target, store, queue, now })],
    sfn: { send: async () => ({ events: [], redriveCount: 0 }) } as never,
    logger: createLogger({ writer: () => undefined, level: "error" }),
    now,
  });

  // The storm: every task fails within the first second, the ending a second later.
  for (let i = 0; i < names.length; i++) messages.push({ id: nextId++, body: taskEvent(names[i]!, new Date(START + Math.floor((i * 1000) / names.length))), visibleAt: START, receives: 0 });
  messages.push({ id: nextId++, body: endingEvent(new Date(START + 1000)), visibleAt: START + 1000, receives: 0 });

  const workers = Array.from({ length: options.concurrency }, () => START);
  let invocations = 0;
  let timedOut = 0;
  let maxReceives = 0;
  for (let guard = 0; guard < 1_000_000; guard++) {
    if (messages.length === 0) break;
    // The worker free first takes the next batch that is visible when it is free.
    const w = workers.indexOf(Math.min(...workers));
    const earliest = Math.min(...messages.map((m) => m.visibleAt));
    const t = Math.max(workers[w]!, earliest);
    const batch = messages.filter((m) => m.visibleAt <= t).slice(0, 10);
    for (const m of batch) {
      m.receives++;
      maxReceives = Math.max(maxReceives, m.receives);
    }
    const tooMany = batch.filter((m) => m.receives > maxReceiveCount);
    for (const m of tooMany) {
      messages.splice(messages.indexOf(m), 1);
      deadLettered.push(m);
    }
    const live = batch.filter((m) => m.receives <= maxReceiveCount);
    if (live.length === 0) continue;
    invocationStart = t;
    elapsed = 0;
    const records = live.map((m) => ({
      messageId: String(m.id),
      receiptHandle: `rh-${m.id}-${m.receives}`,
      body: m.body,
      attributes: { ApproximateReceiveCount: String(m.receives) },
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:storm-events",
    }));
    const timeoutAt = t + 60_000;
    const response = await handler({ Records: records } as never, { getRemainingTimeInMillis: () => timeoutAt - now().getTime() });
    invocations++;
    elapsed += STORE_MS * live.length;
    const end = now().getTime();
    if (end - t > 60_000) timedOut++;
    workers[w] = end;
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const [m, record] of live.map((m, i) => [m, records[i]!] as const)) {
      if (!failed.has(String(m.id))) {
        messages.splice(messages.indexOf(m), 1);
        continue;
      }
      const defer = deferred.get(record.receiptHandle);
      m.visibleAt = defer !== undefined ? end + defer * 1000 : t + visibilityMs;
    }
    deferred.clear();
  }

  let deliveredOnce = 0;
  let duplicated = 0;
  let never = 0;
  for (const name of names) {
    const n = accepted.filter((body) => body.includes(`*${name}*`)).length;
    if (n === 1) deliveredOnce++;
    else if (n > 1) duplicated++;
    else never++;
  }
  return {
    mode: options.mode,
    tasks: options.tasks,
    concurrency: options.concurrency,
    requests: stats.requests,
    messages: stats.messages,
    updates: stats.updates,
    rateLimited: stats.rateLimited,
    deliveredOnce,
    duplicated,
    lost: never + deadLettered.length,
    deadLettered: deadLettered.length,
    invocations,
    timedOut,
    maxReceives,
    simulatedSeconds: (stats.lastAcceptedAt - START) / 1000,
  };
}
