/**
 * Issue 21, the handler's claims, history and record handling: one test per item, each failing
 * without its fix.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Clock } from "../../../lib/core/clock";
import { claimLeaseSecondsFor, DEFAULT_CLAIM_LEASE_SECONDS, InMemoryTransitionStore, QUEUE_VISIBILITY_SECONDS } from "../../../lib/aws/dedupe";
import { deliverySettingsProblems } from "../../../lib/cdk/flow-alerts";
import { readHandlerEnv } from "../../../lambdas/handler/env";
import { fakeTable } from "../../helpers/fake-dynamodb";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { createEventsHandler } from "../../../lambdas/handler/index";
import type { SNSEvent } from "aws-lambda";
import { virtualClock } from "../../../lib/core/clock";
import { InMemoryDocumentStore } from "../../../lib/aws/documents";
import { digestChannel } from "../../../lib/notify/digest";
import { slackDigestTarget } from "../../../lib/notify/slack-digest";
import { startFakeSlack, type FakeSlack } from "../../helpers/fake-slack";
import { fakeChannel, harness, recordingQueue } from "./harness";

let h: ReturnType<typeof harness>;
const cleanups: (() => void)[] = [];
afterEach(() => {
  h?.sfnMock.restore();
  cleanups.splice(0).forEach((c) => c());
});

/** Virtual time: a sleep moves it forward at once, unless it was cancelled first (a chain's timer, once the chain settled). */
function abortableClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    advance: (ms) => void (now += ms),
    sleep: (ms, signal) =>
      new Promise((resolve) =>
        setImmediate(() => {
          if (!signal?.aborted) now += ms;
          resolve();
        }),
      ),
  };
}

/** A Lambda context with `seconds` left. */
const lambdaContext = (seconds: number) => ({ getRemainingTimeInMillis: () => seconds * 1000 });

/** Throws that have no usable text: a null-prototype object, a throwing toString, a Proxy that throws on every trap. */
const unprintable: Record<string, () => unknown> = {
  "a null-prototype object": () => Object.create(null),
  "an object whose toString throws": () => ({ toString: () => { throw new Error("no"); } }),
  "a Proxy that throws on every access": () =>
    new Proxy({}, { get: () => { throw new Error("trap"); }, getPrototypeOf: () => { throw new Error("trap"); }, ownKeys: () => { throw new Error("trap"); } }),
};

describe("a throw that cannot be stringified (item 4)", () => {
  for (const [what, make] of Object.entries(unprintable)) {
    it(`a flow state handler throwing ${what} still alerts the FAILED ending, once`, async () => {
      h = harness({ flowStateHandlers: [() => { throw make(); }] });
      const record = sqsRecord(eventBridgeEvent("sfn-failed"));
      const result = await h.handler(sqsEvent(record));
      expect(result.batchItemFailures).toEqual([]);
      await h.handler(sqsEvent(record));
      expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed", "Failed"]);
      expect(h.channel.sent[1]!.newState.message).toMatch(/Unexpected error while calling state handlers: /);
    });
  }
});

/** History events of task `load` timing out (no code of ours reported it), as GetExecutionHistory returns them without data. */
function crashedLoad(firstId: number, start: number, opener: "ExecutionStarted" | "ExecutionRedriven", end: "ExecutionFailed" | "ExecutionTimedOut" = "ExecutionFailed"): HistoryEvent[] {
  const at = (s: number) => new Date(start + s * 1000);
  const id = (n: number) => firstId + n;
  return [
    { id: id(0), type: opener, timestamp: at(0), ...(opener === "ExecutionStarted" ? { previousEventId: 0 } : { previousEventId: id(-1) }) },
    { id: id(1), previousEventId: id(0), type: "TaskStateEntered", timestamp: at(1), stateEnteredEventDetails: { name: "load" } },
    { id: id(2), previousEventId: id(1), type: "TaskScheduled", timestamp: at(1) },
    { id: id(3), previousEventId: id(2), type: "TaskStarted", timestamp: at(2) },
    { id: id(4), previousEventId: id(3), type: "TaskTimedOut", timestamp: at(60), taskTimedOutEventDetails: { error: "States.Timeout" } },
    { id: id(5), previousEventId: id(4), type: end, timestamp: at(61) },
  ] as HistoryEvent[];
}

describe("redrive (item 3)", () => {
  it("a redriven run's ending alerts its own crashed task, and run 0's crashed task is not alerted again", async () => {
    h = harness();
    const run0 = crashedLoad(1, Date.parse("2019-02-26T19:40:00Z"), "ExecutionStarted");
    const run1 = crashedLoad(7, Date.parse("2019-02-26T20:00:00Z"), "ExecutionRedriven");
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: run0 });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 0 }))));
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [...run0, ...run1] });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 1, stopDate: Date.parse("2019-02-26T20:01:01Z") }))));
    const load = h.channel.sent.filter((a) => a.task === "load").map((a) => `${a.newState.name} ${a.at.toISOString()}`);
    expect(load).toEqual(["TimedOut 2019-02-26T19:41:00.000Z", "TimedOut 2019-02-26T20:01:00.000Z"]);
  });
});

describe("a send recorded through a throttled table (item 10)", () => {
  it("the write that records a send is retried until the invocation's deadline, not 4 times: after 8 throttled writes the alert still goes once", async () => {
    const table = fakeTable();
    cleanups.push(table.restore);
    const channel = fakeChannel("slack");
    let throttled = 8;
    const client = table.client();
    const original = client.send.bind(client);
    client.send = (async (command: any, ...rest: any[]) => {
      if (command.constructor.name === "UpdateItemCommand" && channel.sent.length > 0 && throttled-- > 0) {
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      }
      return (original as any)(command, ...rest);
    }) as any;
    const clock = abortableClock(Date.parse("2019-02-26T19:45:00Z"));
    h = harness({ channels: [channel], deps: { store: undefined, dynamodb: client, clock } });
    const record = sqsRecord(eventBridgeEvent("sfn-failed"));
    const first = await h.handler(sqsEvent(record), lambdaContext(55) as any);
    expect(first.batchItemFailures).toEqual([]);
    await h.handler(sqsEvent(record), lambdaContext(55) as any);
    expect(channel.attempts).toBe(1);
    expect([...table.items.values()].every((i) => i.claimStatus?.S === "COMPLETED")).toBe(true);
  });

  it("the claim lease is derived from the queue's visibility timeout and longer than it; a shorter FLOWHOOKS_CLAIM_LEASE_SECONDS is refused naming the fix", () => {
    expect(DEFAULT_CLAIM_LEASE_SECONDS).toBeGreaterThan(QUEUE_VISIBILITY_SECONDS);
    expect(readHandlerEnv({ FLOWHOOKS_DEDUPE_TABLE: "t" }).claimLeaseSeconds).toBe(claimLeaseSecondsFor(QUEUE_VISIBILITY_SECONDS));
    expect(() => readHandlerEnv({ FLOWHOOKS_DEDUPE_TABLE: "t", FLOWHOOKS_CLAIM_LEASE_SECONDS: "300" })).toThrow(
      /FLOWHOOKS_CLAIM_LEASE_SECONDS is 300; it must exceed the events queue's visibility timeout \(360 s.*Leave it unset \(420\)/,
    );
    expect(deliverySettingsProblems({ handlerTimeoutSeconds: 60, visibilityTimeoutSeconds: 360, maxReceiveCount: 10, maxConcurrency: 5, claimLeaseSeconds: 300 })).toEqual([
      expect.stringMatching(/claim lease \(300s\) is not above the queue's visibility timeout \(360s\).*set FLOWHOOKS_CLAIM_LEASE_SECONDS to 420/),
    ]);
  });

  it("a redelivery one visibility timeout after an invocation died mid-send finds the send claim still held, and does not send again", async () => {
    const clock = abortableClock(Date.parse("2019-02-26T19:45:00Z"));
    const shared = new InMemoryTransitionStore({ now: () => clock.now() });
    const channel = fakeChannel("slack");
    // Container A dies right after the channel accepted the alert: none of its later store calls happen.
    let dead = false;
    const storeA = new InMemoryTransitionStore({ now: () => clock.now(), sharedWith: shared });
    const dying = new Proxy(storeA, {
      get: (target, prop) => {
        const value = (target as any)[prop];
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => (dead ? Promise.reject(new Error("container killed")) : value.apply(target, args));
      },
    });
    const killing = { name: "slack", async send(alert: any) { await channel.send(alert); dead = true; } };
    h = harness({ channels: [killing], deps: { store: dying, clock } });
    const record = sqsRecord(eventBridgeEvent("sfn-failed"));
    await h.handler(sqsEvent(record));
    expect(channel.sent).toHaveLength(1);
    // SQS hands the record out again one visibility timeout later, to container B.
    clock.advance(QUEUE_VISIBILITY_SECONDS * 1000 + 1000);
    const storeB = new InMemoryTransitionStore({ now: () => clock.now(), sharedWith: shared });
    const b = createEventsHandler(h.flow, { ...h.deps, store: storeB, channels: [killing] });
    const result = await b(sqsEvent(record));
    expect(result.batchItemFailures).toHaveLength(1); // postponed: the claim is still held
    expect(channel.sent).toHaveLength(1);
  });
});

describe("the dead-letter notice (item 11)", () => {
  const servers: FakeSlack[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  function alarmEvent(): SNSEvent {
    const message = { AlarmName: "orders-DeadLettersAlarm", NewStateValue: "ALARM", NewStateReason: "Threshold Crossed", StateChangeTime: "2026-01-01T00:10:00.000+0000" };
    return { Records: [{ EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: "arn", Sns: { Message: JSON.stringify(message) } as never }] };
  }

  it("is not posted again to a destination that got it when a later destination failed and Lambda retried the invocation", async () => {
    const first = await startFakeSlack();
    const second = await startFakeSlack();
    servers.push(first, second);
    second.replies.push({ status: 500, body: "internal_error" });
    const clock = virtualClock();
    const digest = (slack: FakeSlack, name: string) =>
      digestChannel({ target: { ...slackDigestTarget({ webhookUrl: slack.url }), name }, store: new InMemoryDocumentStore(), queue: recordingQueue(), now: () => clock.now() });
    h = harness({ channels: [digest(first, "slack-ops"), digest(second, "slack-oncall")] });
    await expect(h.handler(alarmEvent())).rejects.toThrow();
    await h.handler(alarmEvent()); // Lambda's retry of the SNS invocation
    await h.handler(alarmEvent()); // and SNS delivering the notification twice
    expect(first.accepted()).toHaveLength(1);
    expect(second.accepted()).toHaveLength(1);
  });
});

describe("a channel send that never settles (item 13)", () => {
  it("is bounded by the invocation's remaining time: the batch returns, the other channel gets the alert, and it is not sent again", async () => {
    const clock = abortableClock(Date.parse("2019-02-26T19:45:00Z"));
    const hung = { name: "hung", attempts: 0, send: () => { hung.attempts++; return new Promise<void>(() => {}); } };
    const other = fakeChannel("sns");
    h = harness({ channels: [hung, other], deps: { clock } });
    const record = sqsRecord(eventBridgeEvent("sfn-failed"));
    const result = await h.handler(sqsEvent(record), lambdaContext(55) as any);
    expect(result.batchItemFailures).toEqual([]);
    expect(other.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
    await h.handler(sqsEvent(record), lambdaContext(55) as any);
    expect(hung.attempts).toBe(1);
    expect(h.logs.some((l) => l.level === "error" && /hung did not answer within 50 s/.test(l.error?.message ?? ""))).toBe(true);
  }, 10_000);
});

describe("poison records (item 14)", () => {
  const errorLines = () => h.logs.filter((l) => l.level === "error").map((l) => l.message);

  it("a task event whose error result forges `fields.message` as an object is alerted with the real message, not dead-lettered", async () => {
    h = harness();
    const event = eventBridgeEvent("task-retrying");
    event.detail.newState = { type: "Failed", message: "boom", result: { $flowhooksError: { name: "Error", message: "database down", fields: { message: { forged: true }, name: ["x"] } } } };
    const result = await h.handler(sqsEvent(sqsRecord(event)));
    expect(result.batchItemFailures).toEqual([]);
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
    expect((h.channel.sent[0]!.newState.result as Error).message).toBe("database down");
  });

  for (const [what, arn] of [
    ["a non-ARN executionArn", "not-an-arn"],
    ["an executionArn longer than DynamoDB's 2,048-byte key", `arn:aws:states:us-east-1:123456789012:execution:orders-flow:${"x".repeat(3000)}`],
  ] as const) {
    it(`${what} is dropped with one log line, not retried to the dead-letter queue`, async () => {
      h = harness();
      const event = eventBridgeEvent("task-retrying");
      event.detail.executionArn = arn;
      expect((await h.handler(sqsEvent(sqsRecord(event)))).batchItemFailures).toEqual([]);
      expect(errorLines()).toEqual([expect.stringMatching(/^Dropped a malformed record: .*executionArn.* must be a Step Functions execution ARN/)]);
      expect(h.channel.sent).toEqual([]);
    });
  }

  it("a task name too long for a DynamoDB partition key is claimed by hash and alerted once", async () => {
    const table = fakeTable();
    cleanups.push(table.restore);
    h = harness({ deps: { store: undefined, dynamodb: table.client() } });
    const event = eventBridgeEvent("task-retrying");
    event.detail.task = "t".repeat(2500);
    const record = sqsRecord(event);
    expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);
    await h.handler(sqsEvent(record));
    expect(h.channel.sent).toHaveLength(1);
    expect([...table.items.keys()].every((pk) => Buffer.byteLength(pk) <= 2048)).toBe(true);
  });
});

describe("lost endings (item 12)", () => {
  const ARN = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:execution-name";

  it("run 0's ending, whose event was lost, is recovered after a redrive started before the reconciler's next pass", async () => {
    const run0 = crashedLoad(1, Date.parse("2019-02-26T19:40:00Z"), "ExecutionStarted", "ExecutionTimedOut");
    const redrive = { id: 7, previousEventId: 6, type: "ExecutionRedriven", timestamp: new Date("2019-02-26T19:50:00Z") } as HistoryEvent;
    h = harness({ deps: { now: () => new Date("2019-02-26T19:52:00Z") } });
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [...run0, redrive] });
    // The listing shows the latest run only: RUNNING, redriven once.
    h.sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: ARN, status: "RUNNING", startDate: new Date("2019-02-26T19:40:00Z"), redriveCount: 1, redriveDate: new Date("2019-02-26T19:50:00Z") }] as any,
    });
    await h.reconciler();
    await h.reconciler();
    expect(h.channel.sent.map((a) => `${a.kind} ${a.task ?? ""} ${a.newState.name}`)).toEqual(["task load TimedOut", "flow  TimedOut"]);
  });

  it("an ending ListExecutions lists more than 60 s late is still recovered: the watermark never passes an ending no pass saw", async () => {
    let now = new Date("2019-02-26T20:00:00Z");
    h = harness({ deps: { now: () => now } });
    h.sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    await h.reconciler(); // the execution ended at 19:58:30, but the listing does not show it yet
    h.sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: ARN, status: "FAILED", startDate: new Date("2019-02-26T19:50:00Z"), stopDate: new Date("2019-02-26T19:58:30Z") }] as any,
    });
    h.sfnMock.on(DescribeExecutionCommand).resolves({ status: "FAILED", redriveCount: 0, startDate: new Date("2019-02-26T19:50:00Z"), stopDate: new Date("2019-02-26T19:58:30Z") } as any);
    now = new Date("2019-02-26T20:05:00Z");
    await h.reconciler();
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
  });
});
