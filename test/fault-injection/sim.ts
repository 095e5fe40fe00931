/**
 * A small world for fault injection: executions of one flow, the events they send (Step Functions
 * status events, the flow's own final report, task Retrying events), an SQS queue that delivers
 * them at least once in any order (duplicated, reordered, dropped, two containers at once), Lambda
 * containers that die right after a claim, the scheduled reconciler (with a lagging
 * ListExecutions), and both claim stores. Time is virtual: nothing here waits.
 */
import { mockClient, type AwsStub } from "aws-sdk-client-mock";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { Flow, task } from "../../lib/index";
import type { Clock } from "../../lib/core/clock";
import { AmbiguousDeliveryError } from "../../lib/core/errors";
import type { Alert, AlertChannel } from "../../lib/notify/alert";
import { DynamoDbTransitionStore, InMemoryTransitionStore, type TransitionStore, type WatermarkStore } from "../../lib/aws/dedupe";
import { createLogger } from "../../lib/aws/logger";
import { createEventsHandler, createReconcileHandler } from "../../lambdas/handler/index";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../fixtures/index";
import { fakeTable, type FakeTable } from "../helpers/fake-dynamodb";

export type Ending = "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface ExecutionSpec {
  ending: Ending;
  /** What the flow's own final report said before the ending (a stopped run may have reported first). */
  report?: "SUCCEEDED" | "FAILED";
  /** Task `load` went Retrying after these attempts. */
  retries: number;
}

/** One event of the world, and how SQS delivers it: `copies` 0 drops it, more duplicates it. */
export interface Delivery {
  execution: number;
  kind: "running" | "report" | "ending" | "retrying";
  attempt?: number;
  copies: number;
  /** Sort key: the order of arrival. */
  order: number;
}

export interface Faults {
  /** Store operations (counted across the run) right after which the invocation's container dies. */
  crashAfterOps: number[];
  /** The first N sends of each channel fail plainly (the channel answered an error). */
  channelFailures: number;
  /** Two containers take batches at the same time. */
  concurrent: boolean;
  /** The reconciler's first ListExecutions still shows every execution RUNNING. */
  listLag: boolean;
  /** DynamoDB store only: the first N UpdateItem calls (handled, complete) fail with throttling. */
  updateFailures?: number;
  /** The first N sends of each channel (after the plain failures) get no answer: alternately arrived and lost. */
  ambiguousSends?: number;
  /**
   * Store operations (counted across the run, as `crashAfterOps`) that fail with DynamoDB throttling
   * before they reach the table, on either store. @default []
   */
  throttleOps?: number[];
  /**
   * EventBridge's SendMessage to the queue fails for the first N event copies: EventBridge retries
   * it (the copy arrives a few rounds late). @default 0
   */
  sendMessageFailures?: number;
}

export interface Scenario {
  store: "memory" | "dynamodb";
  executions: ExecutionSpec[];
  deliveries: Delivery[];
  faults: Faults;
}

export interface SentAlert {
  channel: string;
  execution: string;
  object: string;
  state: string;
  attempt?: number;
}

const STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow";
const T0 = Date.parse("2026-01-01T10:00:00Z");
const execArn = (i: number) => `arn:aws:states:us-east-1:123456789012:execution:orders-flow:run-${i}`;

class Killed extends Error {
  override name = "ContainerKilled";
}

/** One Lambda container: its own store client (own claim owner tokens) and a "dead" switch. */
interface Container {
  dead: boolean;
  store: TransitionStore & WatermarkStore;
}

/** DynamoDB's answer to a request over the table's throughput: retryable, nothing written. */
function throttled(op: number): Error {
  return Object.assign(new Error(`Rate exceeded (store operation ${op})`), { name: "ThrottlingException" });
}

/**
 * Wraps a store so the container dies right after the Nth operation of the run (counted globally),
 * and the operations in `throttleAt` fail with throttling before they reach the table.
 */
function crashingStore(inner: TransitionStore & WatermarkStore, container: Container, counter: { ops: number }, crashAt: Set<number>, throttleAt: Set<number> = new Set()) {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (container.dead) throw new Killed("container is dead");
      if (throttleAt.delete(counter.ops + 1)) throw throttled(counter.ops + 1);
      const result = await fn(...args);
      counter.ops++;
      if (crashAt.has(counter.ops)) {
        container.dead = true;
        throw new Killed(`container died after store operation ${counter.ops}`);
      }
      return result;
    };
  const store: TransitionStore & WatermarkStore = {
    claim: wrap((k) => inner.claim(k)),
    handled: wrap((k, p) => inner.handled(k, p)),
    pendingAlert: wrap((k) => inner.pendingAlert(k)),
    complete: wrap((k) => inner.complete(k)),
    release: wrap((k) => inner.release(k)),
    lookup: wrap((k) => inner.lookup(k)),
    getWatermark: wrap((n) => inner.getWatermark(n)),
    setWatermark: wrap((n, at) => inner.setWatermark(n, at)),
  };
  return store;
}

export function simFlow(): Flow {
  const load = task({ name: "load", maxRetries: 3 }, async () => 1);
  const notify = task({ name: "notify" }, async () => {});
  return new Flow({ name: "orders", tasks: [load, notify] });
}

/** When execution `i` entered task `load`'s state (its `$$.State.EnteredTime`). */
const loadEntered = (i: number) => T0 + i * 1000 + 500;

/** The execution's history as GetExecutionHistory returns it without data: load retried `retries` times (its own code threw flowhooks.Retrying), then the ending. */
function historyOf(spec: ExecutionSpec, i: number): Record<string, any>[] {
  const start = T0 + i * 1000;
  const events: Record<string, any>[] = [{ id: 1, type: "ExecutionStarted", timestamp: new Date(start) }];
  const push = (e: Record<string, any>) => events.push({ id: events.length + 1, previousEventId: events.length, ...e });
  push({ type: "TaskStateEntered", timestamp: new Date(loadEntered(i)), stateEnteredEventDetails: { name: "load" } });
  for (let attempt = 1; attempt <= spec.retries + 1; attempt++) {
    const at = loadEntered(i) + 10_000 * (attempt - 1);
    push({ type: "TaskScheduled", timestamp: new Date(at) });
    push({ type: "TaskStarted", timestamp: new Date(at) });
    if (attempt <= spec.retries) {
      const message = `Retrying("Retrying Task (after attempt ${attempt} of 4)"); next attempt at ${new Date(at + 10_000).toISOString()}`;
      push({ type: "TaskFailed", timestamp: new Date(at + 1), taskFailedEventDetails: { error: "flowhooks.Retrying", cause: JSON.stringify({ errorMessage: message }) } });
    } else push({ type: "TaskSucceeded", timestamp: new Date(at + 1) });
  }
  push({ type: "TaskStateExited", timestamp: new Date(loadEntered(i) + 10_000 * spec.retries + 2) });
  const stop = new Date(start + 60_000);
  if (spec.ending === "SUCCEEDED") push({ type: "ExecutionSucceeded", timestamp: stop });
  if (spec.ending === "FAILED") push({ type: "ExecutionFailed", timestamp: stop, executionFailedEventDetails: { error: "flowhooks.FlowFailed" } });
  if (spec.ending === "TIMED_OUT") push({ type: "ExecutionTimedOut", timestamp: stop, executionTimedOutEventDetails: { error: "States.Timeout" } });
  if (spec.ending === "ABORTED") push({ type: "ExecutionAborted", timestamp: stop });
  return events;
}

function envelope(spec: ExecutionSpec, d: Delivery): Record<string, any> {
  const executionArn = execArn(d.execution);
  const startDate = T0 + d.execution * 1000;
  const stopDate = startDate + 60_000;
  switch (d.kind) {
    case "running":
      return eventBridgeEvent("sfn-running", { executionArn, stateMachineArn: STATE_MACHINE_ARN, startDate });
    case "report":
      return eventBridgeEvent("flow-report-failed", {
        executionArn,
        status: spec.report,
        ...(spec.report === "SUCCEEDED" ? { error: undefined, cause: undefined } : {}),
      });
    case "ending":
      return eventBridgeEvent("sfn-failed", {
        executionArn,
        stateMachineArn: STATE_MACHINE_ARN,
        status: spec.ending,
        startDate,
        stopDate,
        error: spec.ending === "FAILED" ? "flowhooks.FlowFailed" : spec.ending === "TIMED_OUT" ? "States.Timeout" : undefined,
      });
    case "retrying": {
      const e = eventBridgeEvent("task-retrying", { executionArn, attempt: d.attempt, stateEnteredTime: new Date(loadEntered(d.execution)).toISOString() });
      e.detail.newState = { ...e.detail.newState, runCount: d.attempt, startTime: new Date(startDate + 10_000 * d.attempt!).toISOString() };
      e.detail.at = new Date(startDate + 10_000 * d.attempt! - 1).toISOString();
      return e;
    }
  }
}

interface ChannelBudget {
  failures: number;
  ambiguous: number;
}

/**
 * A channel of one container: it fails plainly the first `failures` sends (shared count), then
 * leaves `ambiguous` sends unanswered (every other one arrived anyway), and cannot send once the
 * container died. `unanswered` collects the alerts whose send was ambiguous.
 */
function recordingChannel(name: string, sent: SentAlert[], container: Container, budget: ChannelBudget, unanswered: Set<string>): AlertChannel {
  return {
    name,
    async send(alert: Alert) {
      if (container.dead) throw new Killed("container is dead");
      if (budget.failures > 0) {
        budget.failures--;
        throw new Error(`${name} answered 503`);
      }
      const record: SentAlert = {
        channel: name,
        execution: alert.executionId ?? "",
        object: alert.kind === "flow" ? "flow" : `task:${alert.task}`,
        state: alert.newState.name,
        attempt: alert.kind === "task" ? alert.attempt : undefined,
      };
      if (budget.ambiguous > 0) {
        const arrived = budget.ambiguous-- % 2 === 0;
        if (arrived) sent.push(record);
        unanswered.add(`${name}#${alertId(record)}`);
        throw new AmbiguousDeliveryError(`${name} gave no answer`);
      }
      sent.push(record);
    },
  };
}

export interface SimResult {
  sent: SentAlert[];
  /** "channel#alert" of the sends that got no answer: these may be missing (never doubled). */
  unanswered: Set<string>;
  deadLetters: number;
  /** What must have been alerted exactly once per channel, as "execution|object|state|attempt". */
  must: Set<string>;
  /** What may have been alerted (at most once per channel). */
  may: Set<string>;
  /** Store operations the run made (crash and throttle points are numbered among them). */
  storeOps: number;
}

export const CHANNELS = ["sns", "slack"];
export const alertId = (a: { execution: string; object: string; state: string; attempt?: number }) =>
  `${a.execution}|${a.object}|${a.state}|${a.attempt ?? "-"}`;

/** What the world should alert, whatever the faults. */
function expectations(s: Scenario): { must: Set<string>; may: Set<string> } {
  const must = new Set<string>();
  const may = new Set<string>();
  s.executions.forEach((spec, i) => {
    const execution = execArn(i);
    const flow = (state: string) => alertId({ execution, object: "flow", state });
    if (spec.ending === "FAILED") must.add(flow("Failed"));
    if (spec.ending === "TIMED_OUT") must.add(flow("TimedOut"));
    // A failed report sent before Step Functions stopped the run is alerted when it is handled first.
    if (spec.report === "FAILED") may.add(flow("Failed"));
    for (let attempt = 1; attempt <= spec.retries; attempt++) {
      const id = alertId({ execution, object: "task:load", state: "Retrying", attempt });
      const delivered = s.deliveries.some((d) => d.execution === i && d.kind === "retrying" && d.attempt === attempt && d.copies > 0);
      // A lost event is recovered from the history at an ending that was not a success (a success may recover it too).
      if (delivered || spec.ending !== "SUCCEEDED") must.add(id);
      else may.add(id);
    }
  });
  for (const m of must) may.add(m);
  return { must, may };
}

let sfnMock: AwsStub<any, any, any> | undefined;
let table: FakeTable | undefined;

export function cleanupSim(): void {
  sfnMock?.restore();
  table?.restore();
  sfnMock = undefined;
  table = undefined;
}

/** Runs the world until every record is processed and the reconciler has passed a few more times. */
export async function simulate(s: Scenario): Promise<SimResult> {
  let now = T0 + 5 * 60_000;
  // A sleep (a store write retried with backoff) moves virtual time on, as it would in Lambda.
  const clock: Clock = { now: () => new Date(now), sleep: async (ms) => void (now += Math.max(0, ms)) };
  const flow = simFlow();
  const sent: SentAlert[] = [];
  const counter = { ops: 0 };
  const crashAt = new Set(s.faults.crashAfterOps);
  const throttleAt = new Set(s.faults.throttleOps ?? []);
  const budgets = Object.fromEntries(CHANNELS.map((c) => [c, { failures: s.faults.channelFailures, ambiguous: s.faults.ambiguousSends ?? 0 }]));
  const unanswered = new Set<string>();

  sfnMock = mockClient(SFNClient);
  let listed = 0;
  sfnMock.on(ListExecutionsCommand).callsFake(() => {
    const lag = s.faults.listLag && listed++ === 0;
    return {
      executions: s.executions
        .map((spec, i) => ({
          executionArn: execArn(i),
          stateMachineArn: STATE_MACHINE_ARN,
          name: `run-${i}`,
          status: lag ? "RUNNING" : spec.ending,
          startDate: new Date(T0 + i * 1000),
          ...(lag ? {} : { stopDate: new Date(T0 + i * 1000 + 60_000) }),
          redriveCount: 0,
        }))
        .reverse(),
    };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake((input) => {
    const i = Number(String(input.executionArn).split("run-")[1]);
    const spec = s.executions[i]!;
    return {
      executionArn: input.executionArn,
      status: spec.ending,
      startDate: new Date(T0 + i * 1000),
      stopDate: new Date(T0 + i * 1000 + 60_000),
      redriveCount: 0,
      error: spec.ending === "FAILED" ? "flowhooks.FlowFailed" : undefined,
    };
  });
  sfnMock.on(GetExecutionHistoryCommand).callsFake((input) => {
    const i = Number(String(input.executionArn).split("run-")[1]);
    return { events: historyOf(s.executions[i]!, i) };
  });
  const sfn = new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });

  let shared: InMemoryTransitionStore | undefined;
  if (s.store === "dynamodb") {
    table = fakeTable();
    table.faults.update = s.faults.updateFailures ?? 0;
  }
  const newContainer = (): Container => {
    const container: Container = { dead: false, store: undefined as never };
    const inner: TransitionStore & WatermarkStore =
      s.store === "memory"
        ? (shared = new InMemoryTransitionStore({ now: clock.now, sharedWith: shared }))
        : new DynamoDbTransitionStore({ tableName: "claims", client: table!.client(), now: clock.now });
    container.store = crashingStore(inner, container, counter, crashAt, throttleAt);
    return container;
  };
  const logger = createLogger({ writer: () => {}, level: "error" });
  const deploy = () => {
    const container = newContainer();
    const deps = {
      env: { FLOWHOOKS_DEDUPE_TABLE: "claims", FLOWHOOKS_STATE_MACHINE_ARN: STATE_MACHINE_ARN },
      store: container.store,
      channels: CHANNELS.map((c) => recordingChannel(c, sent, container, budgets[c]!, unanswered)),
      sfn,
      logger,
      clock,
      now: clock.now,
    };
    return { container, events: createEventsHandler(flow, deps), reconcile: createReconcileHandler(flow, deps) };
  };
  // A dead container is replaced by a fresh one (Lambda starts a new one for the next batch).
  const containers = [deploy(), deploy()];
  const alive = (i: number) => (containers[i]!.container.dead ? (containers[i] = deploy()) : containers[i]!);

  // SQS: every copy of every delivered event, in arrival order.
  type Message = { id: string; body: string; receives: number; visibleAt: number };
  let queue: Message[] = [];
  let n = 0;
  let refused = s.faults.sendMessageFailures ?? 0;
  for (const d of [...s.deliveries].sort((a, b) => a.order - b.order)) {
    const spec = s.executions[d.execution]!;
    if (d.kind === "report" && !spec.report) continue;
    for (let c = 0; c < d.copies; c++) {
      // A refused SendMessage is retried by EventBridge with backoff: the copy arrives later.
      const late = refused-- > 0;
      queue.push({ id: `m${n++}`, body: JSON.stringify(envelope(spec, d)), receives: 0, visibleAt: late ? now + 4 * 60_000 : 0 });
    }
  }
  let deadLetters = 0;
  const process = async (slot: number, batch: Message[]): Promise<Message[]> => {
    if (batch.length === 0) return [];
    const c = alive(slot);
    const result = await c.events(sqsEvent(...batch.map((m) => sqsRecord(JSON.parse(m.body), m.id)))).catch(() => undefined);
    // A container that died (or threw) returns nothing: SQS delivers the whole batch again.
    if (!result || c.container.dead) return batch;
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    return batch.filter((m) => failed.has(m.id));
  };

  const take = (count: number) => {
    const visible = queue.filter((m) => m.visibleAt <= now).slice(0, count);
    queue = queue.filter((m) => !visible.includes(m));
    return visible;
  };
  // Each round is 3 minutes: the reconciler runs every round (a pass may come while a crashed
  // claim's 5-minute lease still runs); a failed message is visible again after 6 minutes.
  for (let round = 0; round < 80; round++) {
    const batchSize = 3;
    const first = take(batchSize);
    const second = s.faults.concurrent ? take(batchSize) : [];
    const retry = (await Promise.all([process(0, first), process(1, second)])).flat();
    for (const m of retry) {
      m.visibleAt = now + 6 * 60_000;
      if (++m.receives >= 10) deadLetters++;
      else queue.push(m);
    }
    await alive(0).reconcile().catch(() => undefined);
    now += 3 * 60_000;
    if (queue.length === 0 && round >= 8) break;
  }
  return { sent, unanswered, deadLetters, storeOps: counter.ops, ...expectations(s) };
}
