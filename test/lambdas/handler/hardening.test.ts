/**
 * Defects found by fault injection (issue 14), one test each: lost and doubled alerts, hangs,
 * handler chains that ran more than once per transition.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { virtualClock } from "../../../lib/core/clock";
import { readHandlerEnv } from "../../../lambdas/handler/env";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord } from "../../fixtures/index";
import { fakeTable } from "../../helpers/fake-dynamodb";
import { fakeChannel, harness } from "./harness";

let h: ReturnType<typeof harness>;
const cleanups: (() => void)[] = [];
afterEach(() => {
  h?.sfnMock.restore();
  cleanups.splice(0).forEach((c) => c());
});

/** A Lambda context with `seconds` left. */
const lambdaContext = (seconds: number) => ({ getRemainingTimeInMillis: () => seconds * 1000 });

describe("lost alerts", () => {
  it("a TIMED_OUT ending after the flow's own SUCCEEDED final report is still alerted (item 3)", async () => {
    h = harness();
    const report = eventBridgeEvent("flow-report-failed", { status: "SUCCEEDED", error: undefined, cause: undefined });
    await h.handler(sqsEvent(sqsRecord(report)));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-timed-out"))));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-timed-out")))); // a duplicate
    await h.handler(sqsEvent(sqsRecord(report))); // a late duplicate of the report
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["TimedOut"]);
  });

  it("a final report handled after a redrive started belongs to the run before it (item 9)", async () => {
    h = harness();
    // Run 0 failed at 19:44:30 (its report and Step Functions' event); the redrive started at 19:50.
    h.sfnMock.on(DescribeExecutionCommand).resolves({ redriveCount: 1, redriveDate: new Date("2019-02-26T19:50:00.400Z"), status: "RUNNING" } as any);
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 0 }))));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("flow-report-failed")))); // run 0's report, late
    expect(h.channel.sent).toHaveLength(1);
    // Run 1 fails too: its ending must alert.
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 1, stopDate: Date.parse("2019-02-26T19:55:00Z") }))));
    expect(h.channel.sent).toHaveLength(2);
  });
});

describe("doubled alerts", () => {
  it("the write that records a send fails after the channel accepted it: retried, never released, the alert goes once (item 7)", async () => {
    const table = fakeTable();
    cleanups.push(table.restore);
    const channel = fakeChannel("slack");
    let failCompletes = 2;
    const client = table.client();
    const original = client.send.bind(client);
    // Fail the first two UpdateItem calls made after the send (the "sent" record), as DynamoDB throttling would.
    client.send = (async (command: any, ...rest: any[]) => {
      if (command.constructor.name === "UpdateItemCommand" && channel.sent.length > 0 && failCompletes-- > 0) {
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      }
      return (original as any)(command, ...rest);
    }) as any;
    h = harness({ channels: [channel], deps: { store: undefined, dynamodb: client, clock: virtualClock() } });
    const record = sqsRecord(eventBridgeEvent("sfn-failed"));
    expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);
    await h.handler(sqsEvent(record));
    expect(channel.attempts).toBe(1);
    expect([...table.items.values()].every((i) => i.claimStatus?.S === "COMPLETED")).toBe(true);
  });

  it("FLOWHOOKS_CLAIM_LEASE_SECONDS not above the handler's timeout is refused (item 10)", async () => {
    expect(() => readHandlerEnv({ FLOWHOOKS_DEDUPE_TABLE: "t", FLOWHOOKS_CLAIM_LEASE_SECONDS: "5" })).toThrow(
      /FLOWHOOKS_CLAIM_LEASE_SECONDS is 5; it must exceed the events queue's visibility timeout/,
    );
    h = harness({ env: { FLOWHOOKS_CLAIM_LEASE_SECONDS: "400" } });
    // The function was given a longer timeout than the construct's: the lease would run out mid-invocation.
    await expect(h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))), lambdaContext(500) as any)).rejects.toThrow(
      /FLOWHOOKS_CLAIM_LEASE_SECONDS is 400 but this function may run 500 s more/,
    );
    expect(h.channel.sent).toEqual([]);
  });

  it("a flow handler that throws on a SUCCEEDED execution is alerted once, not at RUNNING and again at the end (item 12)", async () => {
    h = harness({
      flowStateHandlers: [
        () => {
          throw new Error("metrics endpoint down");
        },
      ],
    });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-running"))));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded"))));
    expect(h.channel.sent.map((a) => `${a.flow} ${a.newState.name}`)).toEqual(["orders Failed"]);
  });

  it("a genuine FAILED ending is still alerted after a handler error was", async () => {
    h = harness({
      flowStateHandlers: [
        () => {
          throw new Error("metrics endpoint down");
        },
      ],
    });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-running"))));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed", "Failed"]);
  });
});

describe("hangs and noise", () => {
  it("a flow handler that never settles is bounded by the invocation's time: the transition fails with a clear message and is alerted (item 11)", async () => {
    const clock = virtualClock(new Date("2019-02-26T19:45:00Z"));
    h = harness({ flowStateHandlers: [(_f, _o, n) => (n.isFailed() ? new Promise(() => {}) : undefined)], deps: { clock } });
    const result = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))), lambdaContext(55) as any);
    expect(result.batchItemFailures).toEqual([]);
    expect(h.channel.sent).toHaveLength(1);
    expect(h.channel.sent[0]!.newState.message).toMatch(/The state handlers of .*orders.* did not finish within 35 s/);
  });

  it("a broken channel retries the delivery alone: the flow's handlers run once per transition (item 13)", async () => {
    h = harness();
    h.channel.failures = 5;
    const record = sqsRecord(eventBridgeEvent("sfn-failed"));
    for (let delivery = 0; delivery < 7; delivery++) await h.handler(sqsEvent(record));
    expect(h.callLines()).toEqual(['flow: Scheduled() -> Running("Running flow.")', 'flow: Running("Running flow.") -> Failed("Some reference tasks failed.")']);
    expect(h.channel.sent).toHaveLength(1);
    expect(h.channel.attempts).toBe(6);
  });

  it("the reconciler retries a handled ending's delivery without re-running its handlers (item 13)", async () => {
    h = harness({ deps: { now: () => new Date("2019-02-26T20:00:00Z") } });
    h.channel.failures = 1;
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(h.channel.sent).toHaveLength(0);
    h.sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: EXECUTION_ARN, status: "FAILED", startDate: new Date("2019-02-26T19:42:00Z"), stopDate: new Date("2019-02-26T19:44:31Z") }] as any,
    });
    h.sfnMock.on(DescribeExecutionCommand).resolves({ status: "FAILED", redriveCount: 0, error: "flowhooks.FlowFailed" } as any);
    for (let pass = 0; pass < 3; pass++) await h.reconciler();
    expect(h.callLines()).toHaveLength(2);
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
  });
});

describe("bad input (item 15)", () => {
  it("a poison task event is dropped with one log line, not retried to the dead-letter queue", async () => {
    h = harness();
    const event = eventBridgeEvent("task-retrying");
    event.detail.newState.startTime = "garbage";
    const result = await h.handler(sqsEvent(sqsRecord(event)));
    expect(result.batchItemFailures).toEqual([]);
    expect(h.logs.filter((l) => l.level === "error").map((l) => l.message)).toEqual([expect.stringMatching(/^Dropped a malformed record: .*startTime/)]);
    expect(h.channel.sent).toEqual([]);
  });

  it("FLOWHOOKS_ALERT_ON naming Object.prototype's members is refused", () => {
    expect(() => readHandlerEnv({ FLOWHOOKS_DEDUPE_TABLE: "t", FLOWHOOKS_ALERT_ON: "constructor,__proto__" })).toThrow(
      /FLOWHOOKS_ALERT_ON names the unknown state "constructor"/,
    );
  });
});

describe("task alerts whose event was lost (items 4, 6)", () => {
  const ENTERED = new Date("2019-02-26T19:42:22.123Z");
  /** `load` threw flowhooks.Retrying on attempt 1 (its own code reported it), then failed for good; the flow failed. */
  function history() {
    const t = (s: number) => new Date(ENTERED.getTime() + s * 1000);
    const retrying = `Retrying("Retrying Task (after attempt 1 of 2)"); next attempt at ${t(10).toISOString()}`;
    return [
      { id: 1, type: "ExecutionStarted", timestamp: t(-1) },
      { id: 2, previousEventId: 1, type: "TaskStateEntered", timestamp: ENTERED, stateEnteredEventDetails: { name: "load", input: "{\"big\":\"" + "x".repeat(1000) + "\"}" } },
      { id: 3, previousEventId: 2, type: "TaskScheduled", timestamp: t(0) },
      { id: 4, previousEventId: 3, type: "TaskStarted", timestamp: t(0) },
      { id: 5, previousEventId: 4, type: "TaskFailed", timestamp: t(1), taskFailedEventDetails: { error: "flowhooks.Retrying", cause: JSON.stringify({ errorMessage: retrying }) } },
      { id: 6, previousEventId: 5, type: "TaskScheduled", timestamp: t(10) },
      { id: 7, previousEventId: 6, type: "TaskStarted", timestamp: t(10) },
      { id: 8, previousEventId: 7, type: "TaskFailed", timestamp: t(11), taskFailedEventDetails: { error: "flowhooks.Retrying", cause: JSON.stringify({ errorMessage: `Retrying("again"); next attempt at ${t(20).toISOString()}` }) } },
      { id: 9, previousEventId: 8, type: "TaskStateExited", timestamp: t(12) },
      { id: 10, previousEventId: 9, type: "ExecutionFailed", timestamp: t(13), executionFailedEventDetails: { error: "flowhooks.FlowFailed" } },
    ];
  }
  const retryingEvent = (attempt: number) => {
    const e = eventBridgeEvent("task-retrying", { attempt, stateEnteredTime: ENTERED.toISOString() });
    e.detail.newState.runCount = attempt;
    return e;
  };

  it("the flow's ending alerts, from the history, a Retrying whose event was lost, and not one whose event arrived", async () => {
    h = harness({ flowStateHandlers: [] });
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: history() as any });
    await h.handler(sqsEvent(sqsRecord(retryingEvent(1)))); // attempt 1's event arrived; attempt 2's was lost
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    const retrying = h.channel.sent.filter((a) => a.newState.name === "Retrying");
    expect(retrying.map((a) => [a.attempt, Boolean(a.observedAfterTheFact)])).toEqual([
      [1, false],
      [2, true],
    ]);
    // A late copy of the lost event changes nothing.
    await h.handler(sqsEvent(sqsRecord(retryingEvent(2))));
    expect(h.channel.sent.filter((a) => a.newState.name === "Retrying")).toHaveLength(2);
  });

  /** `load` threw flowhooks.Retrying on attempt 1, then succeeded; the flow succeeded. */
  function succeededHistory() {
    const t = (sec: number) => new Date(ENTERED.getTime() + sec * 1000);
    const retrying = `Retrying("Retrying Task (after attempt 1 of 2)"); next attempt at ${t(10).toISOString()}`;
    return [
      ...history().slice(0, 5).map((e) => (e.type === "TaskFailed" ? { ...e, taskFailedEventDetails: { error: "flowhooks.Retrying", cause: JSON.stringify({ errorMessage: retrying }) } } : e)),
      { id: 6, previousEventId: 5, type: "TaskScheduled", timestamp: t(10) },
      { id: 7, previousEventId: 6, type: "TaskStarted", timestamp: t(10) },
      { id: 8, previousEventId: 7, type: "TaskSucceeded", timestamp: t(11) },
      { id: 9, previousEventId: 8, type: "TaskStateExited", timestamp: t(12) },
      { id: 10, previousEventId: 9, type: "ExecutionSucceeded", timestamp: t(13) },
    ];
  }
  const succeeded = (attempt?: number) =>
    eventBridgeEvent("sfn-succeeded", {
      output: JSON.stringify({ load: { state: { type: "Success", message: "Task run succeeded." }, failed: false, skipped: false, failedLabel: "", ...(attempt ? { attempt } : {}) } }),
    });

  it("a succeeded execution whose output shows a retried task alerts, from the history, the Retrying whose event was lost, once", async () => {
    h = harness({ flowStateHandlers: [] });
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: succeededHistory() as any });
    await h.handler(sqsEvent(sqsRecord(succeeded(2))));
    await h.handler(sqsEvent(sqsRecord(succeeded(2)))); // a duplicate of the ending
    const retrying = h.channel.sent.filter((a) => a.newState.name === "Retrying");
    expect(retrying.map((a) => [a.task, a.attempt, Boolean(a.observedAfterTheFact)])).toEqual([["load", 1, true]]);
    // The late original event changes nothing.
    await h.handler(sqsEvent(sqsRecord(retryingEvent(1))));
    expect(h.channel.sent.filter((a) => a.newState.name === "Retrying")).toHaveLength(1);
  });

  it("a succeeded execution whose output shows no retry reads no history", async () => {
    h = harness({ flowStateHandlers: [] });
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: succeededHistory() as any });
    await h.handler(sqsEvent(sqsRecord(succeeded())));
    expect(h.sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
  });

  it("reads the history without execution data, page by page, keeping only what the timeline needs (item 14)", async () => {
    h = harness();
    h.sfnMock.on(GetExecutionHistoryCommand).callsFake((input) =>
      input.nextToken ? { events: history().slice(5) } : { events: history().slice(0, 5), nextToken: "page-2" },
    );
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    const calls = h.sfnMock.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.includeExecutionData, c.nextToken])).toEqual([
      [false, undefined],
      [false, "page-2"],
    ]);
  });
});
