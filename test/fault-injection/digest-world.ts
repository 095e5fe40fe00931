/**
 * A world for the crash-point sweep of the Slack digests (issue 21): the real handler code
 * (`createEventsHandler`, `createReconcileHandler`) with both digest channels (a webhook and a Slack
 * app, each talking to a real HTTP stand-in on 127.0.0.1), an SQS queue modelled as the event
 * source mapping sees it (batches of 10, as deployed; 360 s visibility, ChangeMessageVisibility, delays), the
 * in-memory claims and document stores, and Step Functions through aws-sdk-client-mock.
 *
 * Every store write, queue call and channel response is an "operation", counted across the run.
 * `crashAfter: k` kills the container right after operation k (what it wrote stays, nothing more
 * of it runs; SQS delivers its batch again after the visibility timeout); `failSend: k` and
 * `failWrite: k` make the k-th SendMessage or store write fail once (the container lives on).
 * Time is virtual: nothing here waits.
 */
import { mockClient, type AwsStub } from "aws-sdk-client-mock";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import type { SQSRecord } from "aws-lambda";
import { Flow, task } from "../../lib/index";
import type { Clock } from "../../lib/core/clock";
import { InMemoryDocumentStore, type DocumentStore } from "../../lib/aws/documents";
import { InMemoryTransitionStore, type TransitionStore, type WatermarkStore } from "../../lib/aws/dedupe";
import { createLogger } from "../../lib/aws/logger";
import type { AlertQueue } from "../../lib/aws/queue";
import { digestChannel } from "../../lib/notify/digest";
import { slackDigestTarget } from "../../lib/notify/slack-digest";
import { slackAppTarget } from "../../lib/notify/slack-app";
import { createEventsHandler, createReconcileHandler } from "../../lambdas/handler/index";
import { eventBridgeEvent, sqsRecord } from "../fixtures/index";
import type { FakeSlack, FakeSlackApi } from "../helpers/fake-slack";

export const STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow";
export const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:run-1";
const T0 = Date.parse("2026-01-01T10:00:00Z");
const LOAD_ENTERED = T0 + 500;

/** One scenario: the events SQS receives (in order), the history and description Step Functions gives. */
export interface DigestScenario {
  name: string;
  events: Record<string, any>[];
  history: Record<string, any>[];
  /** Step Functions' DescribeExecution / ListExecutions status. */
  status: "SUCCEEDED" | "FAILED" | "TIMED_OUT";
  redriveCount: number;
  /** What each channel must show once: lines as "task State", endings as the parent's or ending message's words. */
  lines: string[];
  endings: string[];
  /** The words the Slack app's parent shows at the end. */
  parentShows: string;
  /**
   * In `npm test`, crash at (and fail) every `sweepStride`-th operation only, to stay fast; every
   * SendMessage is still failed once. `FLOWHOOKS_FULL_SWEEP=1` sweeps every operation. @default 1
   */
  sweepStride?: number;
}

export interface Faults {
  crashAfter?: number;
  failSend?: number;
  failWrite?: number;
}

export type OpKind = "write" | "send" | "defer" | "response";

export interface WorldResult {
  /** Operations of the run, by kind, in order. */
  ops: OpKind[];
  /** Per channel: each expected line or ending → how many times it reached Slack. */
  shown: Record<"webhook" | "app", Map<string, number>>;
  /** The words the app's (last) parent shows; how many parents were posted. */
  parent: string;
  parents: number;
  /** Records still on the queue when the run stopped (0 unless something was stuck), and those over 10 receives. */
  leftOnQueue: number;
  deadLetters: number;
}

class Killed extends Error {
  override name = "ContainerKilled";
}

function buildFlow(): Flow {
  const tasks = [task({ name: "load", maxRetries: 3 }, async () => 1), task({ name: "d" }, async () => 1)];
  for (const name of ["a", "b", "c", ...Array.from({ length: 55 }, (_, i) => `t${i}`)]) tasks.push(task({ name }, async () => 1));
  return new Flow({ name: "orders", tasks });
}

function taskEvent(name: string, state: "Failed" | "Retrying", attempt = 1): Record<string, any> {
  const e = eventBridgeEvent("task-retrying", { executionArn: EXECUTION, task: name, attempt, stateEnteredTime: new Date(LOAD_ENTERED).toISOString() });
  if (state === "Failed") {
    e.detail.oldState = { type: "Running", message: "Running task." };
    e.detail.newState = { type: "Failed", message: `Error during execution of task: Error: ${name} broke` };
  } else e.detail.newState = { ...e.detail.newState, startTime: new Date(LOAD_ENTERED + 10_000).toISOString() };
  e.detail.at = new Date(LOAD_ENTERED + 9_999).toISOString();
  return e;
}

function ending(status: "SUCCEEDED" | "FAILED" | "TIMED_OUT", redriveCount = 0): Record<string, any> {
  const start = T0 + redriveCount * 3_600_000;
  return eventBridgeEvent(status === "SUCCEEDED" ? "sfn-succeeded" : status === "FAILED" ? "sfn-failed" : "sfn-timed-out", {
    executionArn: EXECUTION,
    stateMachineArn: STATE_MACHINE_ARN,
    startDate: T0,
    stopDate: start + 60_000,
    output: null,
    redriveCount,
    ...(status === "FAILED" ? { error: "flowhooks.FlowFailed", cause: "Reference tasks failed." } : {}),
  });
}

/** History: `load` threw flowhooks.Retrying once (its event is the live one), `d` crashed where no code of ours ran (when asked). */
function history(options: { retry: boolean; crashed: boolean; end: "ExecutionSucceeded" | "ExecutionFailed" }): Record<string, any>[] {
  const events: Record<string, any>[] = [{ id: 1, type: "ExecutionStarted", timestamp: new Date(T0) }];
  const push = (e: Record<string, any>) => events.push({ id: events.length + 1, previousEventId: events.length, ...e });
  if (options.retry) {
    push({ type: "TaskStateEntered", timestamp: new Date(LOAD_ENTERED), stateEnteredEventDetails: { name: "load" } });
    push({ type: "TaskScheduled", timestamp: new Date(LOAD_ENTERED) });
    push({ type: "TaskStarted", timestamp: new Date(LOAD_ENTERED) });
    const cause = JSON.stringify({ errorMessage: `Retrying("Retrying Task (after attempt 1 of 4)"); next attempt at ${new Date(LOAD_ENTERED + 10_000).toISOString()}` });
    push({ type: "TaskFailed", timestamp: new Date(LOAD_ENTERED + 9_999), taskFailedEventDetails: { error: "flowhooks.Retrying", cause } });
    push({ type: "TaskScheduled", timestamp: new Date(LOAD_ENTERED + 10_000) });
    push({ type: "TaskStarted", timestamp: new Date(LOAD_ENTERED + 10_000) });
    push({ type: "TaskSucceeded", timestamp: new Date(LOAD_ENTERED + 10_001) });
    push({ type: "TaskStateExited", timestamp: new Date(LOAD_ENTERED + 10_002) });
  }
  if (options.crashed) {
    push({ type: "TaskStateEntered", timestamp: new Date(T0 + 20_000), stateEnteredEventDetails: { name: "d" } });
    push({ type: "TaskScheduled", timestamp: new Date(T0 + 20_000) });
    push({ type: "TaskStarted", timestamp: new Date(T0 + 20_000) });
    push({ type: "TaskFailed", timestamp: new Date(T0 + 30_000), taskFailedEventDetails: { error: "Sandbox.Timedout", cause: "Task timed out after 10.00 seconds" } });
  }
  push({ type: options.end, timestamp: new Date(T0 + 60_000), ...(options.end === "ExecutionFailed" ? { executionFailedEventDetails: { error: "flowhooks.FlowFailed" } } : {}) });
  return events;
}

/** The flow every container serves (built once: a deployed handler's flow module is loaded once per container too). */
const FLOW = buildFlow();

const many = Array.from({ length: 55 }, (_, i) => `t${i}`);

/** The scenarios. */
export const SCENARIOS: DigestScenario[] = [
  {
    name: "FAILED run: a Retrying, 3 failed tasks, a crashed task",
    events: [taskEvent("load", "Retrying"), ...["a", "b", "c"].map((t) => taskEvent(t, "Failed")), ending("FAILED"), eventBridgeEvent("flow-report-failed", { executionArn: EXECUTION })],
    history: history({ retry: true, crashed: true, end: "ExecutionFailed" }),
    status: "FAILED",
    redriveCount: 0,
    lines: ["load Retrying", "a Failed", "b Failed", "c Failed", "d TimedOut"],
    endings: ["failed"],
    parentShows: "Flow orders failed",
  },
  {
    name: "SUCCEEDED run with one Retrying",
    events: [taskEvent("load", "Retrying"), ending("SUCCEEDED")],
    history: history({ retry: true, crashed: false, end: "ExecutionSucceeded" }),
    status: "SUCCEEDED",
    redriveCount: 0,
    lines: ["load Retrying"],
    endings: [],
    parentShows: "Flow orders recovered after 1 retry",
  },
  {
    name: "55 failing tasks (two pages)",
    events: [...many.map((t) => taskEvent(t, "Failed")), ending("FAILED")],
    history: history({ retry: false, crashed: false, end: "ExecutionFailed" }),
    status: "FAILED",
    redriveCount: 0,
    lines: many.map((t) => `${t} Failed`),
    endings: ["failed"],
    parentShows: "Flow orders failed",
    // About 1,000 runs of 55 alerts each swept in full (~2 min on a shared 2-core machine): every 4th in `npm test`.
    sweepStride: 4,
  },
  {
    name: "a redrive: run 0 TIMED_OUT, run 1 FAILED",
    events: [taskEvent("load", "Retrying"), ending("TIMED_OUT", 0), ending("FAILED", 1)],
    history: history({ retry: true, crashed: false, end: "ExecutionFailed" }),
    status: "FAILED",
    redriveCount: 1,
    lines: ["load Retrying"],
    endings: ["timed out", "failed"],
    parentShows: "Flow orders failed",
  },
];

/** The Slack stand-ins, started once and emptied between runs. */
export interface Stand {
  webhook: FakeSlack;
  api: FakeSlackApi;
}

interface Container {
  dead: boolean;
}

interface Message {
  id: string;
  body: string;
  receives: number;
  visibleAt: number;
  deferredTo?: number;
}

let sfnMock: AwsStub<any, any, any> | undefined;

export function cleanupWorld(): void {
  sfnMock?.restore();
  sfnMock = undefined;
  stubbed = undefined;
}

let stubbed: { scenario: DigestScenario; client: SFNClient } | undefined;

/** Step Functions as the scenario's execution shows it (aws-sdk-client-mock on a real client), set up once per scenario. */
function stubStepFunctions(s: DigestScenario): SFNClient {
  if (sfnMock && stubbed?.scenario === s) return stubbed.client;
  sfnMock?.restore();
  sfnMock = mockClient(SFNClient);
  sfnMock.on(ListExecutionsCommand).resolves({
    executions: [{ executionArn: EXECUTION, stateMachineArn: STATE_MACHINE_ARN, name: "run-1", status: s.status, startDate: new Date(T0), stopDate: new Date(T0 + 60_000), redriveCount: s.redriveCount }],
  });
  sfnMock.on(DescribeExecutionCommand).resolves({
    executionArn: EXECUTION,
    stateMachineArn: STATE_MACHINE_ARN,
    status: s.status,
    startDate: new Date(T0),
    stopDate: new Date(T0 + s.redriveCount * 3_600_000 + 60_000),
    redriveCount: s.redriveCount,
    ...(s.status === "FAILED" ? { error: "flowhooks.FlowFailed" } : {}),
  } as any);
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: s.history as any });
  stubbed = { scenario: s, client: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }) };
  return stubbed.client;
}

/** Runs one scenario under one fault until the queue is empty and the reconciler has passed. */
export async function runWorld(s: DigestScenario, stand: Stand, faults: Faults = {}): Promise<WorldResult> {
  stand.webhook.requests.length = 0;
  stand.api.calls.length = 0;
  stand.api.messages.length = 0;
  let now = T0 + 2 * 60_000;
  // A sleep moves virtual time on (a write retried until the invocation's deadline must reach it); a
  // timer raced against work (settleWithin passes its abort signal) never fires first: the stand-ins answer.
  const clock: Clock = {
    now: () => new Date(now),
    sleep: (ms: number, signal?: AbortSignal) => {
      if (signal) return new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      now += Math.max(0, ms);
      return Promise.resolve();
    },
  };
  const ops: OpKind[] = [];
  let sends = 0;
  let writes = 0;
  /** Counts one operation of `container`; false when the container dies right after it. */
  const after = (container: Container, kind: OpKind): void => {
    ops.push(kind);
    if (ops.length === faults.crashAfter) {
      container.dead = true;
      throw new Killed(`container died after operation ${ops.length} (${kind})`);
    }
  };
  const guard = (container: Container) => {
    if (container.dead) throw new Killed("container is dead");
  };
  const write = async <T>(container: Container, op: () => Promise<T>): Promise<T> => {
    guard(container);
    if (++writes === faults.failWrite) throw Object.assign(new Error("ProvisionedThroughputExceededException: throttled"), { name: "ProvisionedThroughputExceededException" });
    const out = await op();
    after(container, "write");
    return out;
  };

  const sfn = stubStepFunctions(s);

  let queue: Message[] = [];
  let n = 0;
  const enqueue = (body: string, delaySeconds: number) => queue.push({ id: `m${n++}`, body, receives: 0, visibleAt: now + delaySeconds * 1000 });
  for (const e of s.events) enqueue(JSON.stringify(e), 0);

  const claims = new InMemoryTransitionStore({ now: clock.now });
  const documents = new InMemoryDocumentStore();
  const logger = createLogger({ writer: () => {}, level: "error" });

  const deploy = () => {
    const container: Container = { dead: false };
    const store: TransitionStore & WatermarkStore = {
      claim: (k) => write(container, () => claims.claim(k)),
      handled: (k, p) => write(container, () => claims.handled(k, p)),
      complete: (k) => write(container, () => claims.complete(k)),
      release: (k) => write(container, () => claims.release(k)),
      setWatermark: (name, at) => write(container, () => claims.setWatermark(name, at)),
      pendingAlert: async (k) => (guard(container), claims.pendingAlert(k)),
      lookup: async (k) => (guard(container), claims.lookup(k)),
      getWatermark: async (name) => (guard(container), claims.getWatermark(name)),
    };
    const docs: DocumentStore = {
      get: async (key) => (guard(container), documents.get(key)),
      put: (key, value, version) => write(container, () => documents.put(key, value, version)),
      transact: (w) => write(container, () => documents.transact(w)),
    };
    const alertQueue: AlertQueue = {
      async send(body, delaySeconds) {
        guard(container);
        if (++sends === faults.failSend) throw Object.assign(new Error("SendMessage: ServiceUnavailable"), { name: "ServiceUnavailable" });
        enqueue(body, delaySeconds);
        after(container, "send");
      },
      async defer(record, seconds) {
        guard(container);
        const m = queue.find((q) => `${q.id}#${q.receives}` === record.receiptHandle) ?? inFlight.find((q) => `${q.id}#${q.receives}` === record.receiptHandle);
        if (m) m.deferredTo = now + seconds * 1000;
        after(container, "defer");
      },
    };
    // Slack answered; the container may die before it reads the answer (the documented window).
    const fetchOf = (): typeof fetch => async (url, init) => {
      guard(container);
      const response = await fetch(url, init);
      after(container, "response");
      return response;
    };
    const channels = [
      digestChannel({ target: slackDigestTarget({ webhookUrl: stand.webhook.url, fetch: fetchOf() }), store: docs, queue: alertQueue, now: clock.now }),
      digestChannel({ target: slackAppTarget({ botToken: stand.api.token, channel: "C0ALERTS01", apiBaseUrl: stand.api.url, fetch: fetchOf() }), store: docs, queue: alertQueue, now: clock.now }),
    ];
    // A dead container never wakes from a sleep: a write it retries until its deadline ends with it.
    const containerClock: Clock = {
      now: clock.now,
      sleep: async (ms: number, signal?: AbortSignal) => {
        guard(container);
        await clock.sleep(ms, signal);
      },
    };
    const deps = {
      env: { FLOWHOOKS_DEDUPE_TABLE: "claims", FLOWHOOKS_STATE_MACHINE_ARN: STATE_MACHINE_ARN },
      store,
      channels,
      queue: alertQueue,
      sfn,
      logger,
      clock: containerClock,
      now: clock.now,
    };
    return { container, events: createEventsHandler(FLOW, deps), reconcile: createReconcileHandler(FLOW, deps) };
  };
  let current = deploy();
  const alive = () => (current.container.dead ? (current = deploy()) : current);

  let inFlight: Message[] = [];
  let deadLetters = 0;
  const record = (m: Message): SQSRecord => {
    const r = sqsRecord(m.body, m.id);
    r.receiptHandle = `${m.id}#${m.receives}`;
    r.attributes.ApproximateReceiveCount = String(m.receives);
    return r;
  };
  let nextReconcile = now + 5 * 60_000;
  // The scheduled reconciler passes every 5 minutes; the run ends after two passes with nothing left on the queue.
  let idlePasses = 0;
  for (let step = 0; step < 2_000 && idlePasses < 2; step++) {
    const visible = queue.filter((m) => m.visibleAt <= now).slice(0, 10);
    if (visible.length === 0) {
      const due = Math.min(nextReconcile, ...queue.map((m) => m.visibleAt));
      now = Math.max(now + 1, due);
      if (now >= nextReconcile) {
        if (queue.length === 0) idlePasses++;
        nextReconcile = now + 5 * 60_000;
        await alive().reconcile(undefined, { getRemainingTimeInMillis: () => 280_000 }).catch(() => undefined);
      }
      continue;
    }
    idlePasses = 0;
    queue = queue.filter((m) => !visible.includes(m));
    inFlight = visible;
    for (const m of visible) m.receives++;
    const c = alive();
    const out = await c.events({ Records: visible.map(record) }, { getRemainingTimeInMillis: () => 55_000 }).catch(() => undefined);
    const failed = !out || c.container.dead ? visible : visible.filter((m) => out.batchItemFailures.some((f) => f.itemIdentifier === m.id));
    for (const m of failed) {
      m.visibleAt = m.deferredTo ?? now + 360_000;
      m.deferredTo = undefined;
      if (m.receives >= 10) deadLetters++;
      else queue.push(m);
    }
    inFlight = [];
    now += 100;
  }
  return { ops, shown: shownOf(s, stand), ...parentOf(stand), leftOnQueue: queue.length, deadLetters };
}

const LINE = /• \*([^*]+)\* ([A-Za-z]+)/g;

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** What reached each channel: lines by "task State", endings by the words their message (or the parent) shows. */
function shownOf(s: DigestScenario, stand: Stand): WorldResult["shown"] {
  const webhook = new Map<string, number>();
  for (const m of stand.webhook.accepted()) {
    const header: string = m.blocks?.[0]?.text?.text ?? "";
    if (header.startsWith("Flow orders:")) for (const [, t, st] of JSON.stringify(m).matchAll(LINE)) count(webhook, `${t} ${st}`);
    else for (const e of s.endings) if (header === `Flow orders ${e}`) count(webhook, `ending ${e}`);
  }
  const app = new Map<string, number>();
  for (const m of stand.api.messages.filter((x) => x.threadTs)) {
    const header: string = m.posted.blocks?.[0]?.text?.text ?? "";
    if (header.startsWith("Flow orders:")) for (const [, t, st] of JSON.stringify(m.posted).matchAll(LINE)) count(app, `${t} ${st}`);
    else for (const e of s.endings) if (header === `Flow orders ${e}`) count(app, `ending ${e}`);
  }
  // An ending the parent showed (posted or updated) reached the app once, however many updates repeated it.
  for (const e of s.endings) {
    const inParent = stand.api.messages.filter((x) => !x.threadTs).some((p) => [p.posted, ...p.updates].some((b) => String(b.text).startsWith(`Flow orders ${e}`)));
    if (inParent && !app.has(`ending ${e}`)) app.set(`ending ${e}`, 1);
  }
  return { webhook, app };
}

function parentOf(stand: Stand): { parent: string; parents: number } {
  const parents = stand.api.messages.filter((m) => !m.threadTs);
  return { parent: String(parents.at(-1)?.current.text ?? ""), parents: parents.length };
}
