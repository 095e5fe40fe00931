import { afterEach, describe, expect, it } from "vitest";
import { GetExecutionHistoryCommand } from "@aws-sdk/client-sfn";
import { crashedTaskHistory, eventBridgeEvent, EXECUTION_ARN, historyPages, sqsEvent, sqsRecord, type FixtureName } from "../../fixtures/index";
import { formatAlert } from "../../../lib/notify/format";
import { harness } from "./harness";
import { EventProcessor } from "../../../lambdas/handler/index";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { parseEventBridgeEvent } from "../../../lib/aws/events";
import { createLogger } from "../../../lib/aws/logger";

const START = 'flow: Scheduled() -> Running("Running flow.")';

let h: ReturnType<typeof harness>;
afterEach(() => h?.sfnMock.restore());

describe("handler Lambda: Step Functions execution status events", () => {
  const cases: [FixtureName, string[], string | undefined][] = [
    ["sfn-running", [START], undefined],
    ["sfn-succeeded", [START, 'flow: Running("Running flow.") -> Success("All reference tasks succeeded.")'], undefined],
    ["sfn-failed", [START, 'flow: Running("Running flow.") -> Failed("Some reference tasks failed.")'], "Failed"],
    ["sfn-timed-out", [START, 'flow: Running("Running flow.") -> TimedOut("Execution timed out: States.Timeout")'], "TimedOut"],
    ["sfn-aborted", [START, 'flow: Running("Running flow.") -> Cancelled("Execution was aborted.")'], undefined],
  ];
  for (const [fixture, expectedCalls, alerted] of cases) {
    it(`${fixture}: runs the flow's state handlers old -> new and alerts ${alerted ?? "nothing"} by default`, async () => {
      h = harness();
      const result = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent(fixture))));
      expect(result.batchItemFailures).toEqual([]);
      expect(h.callLines()).toEqual(expectedCalls);
      expect(h.calls[0]!.context).toMatchObject({ flowName: "orders", executionId: EXECUTION_ARN, runtime: "lambda", region: "us-east-1" });
      expect(h.channel.sent.map((a) => `${a.kind} ${a.flow} ${a.newState.name}`)).toEqual(alerted ? [`flow orders ${alerted}`] : []);
      if (alerted) expect(h.channel.sent[0]).toMatchObject({ executionId: EXECUTION_ARN, consoleUrl: expect.stringContaining("us-east-1.console.aws.amazon.com") });
    });
  }

  it("a FAILED execution whose error is not flowhooks' own carries Step Functions' error and cause", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { error: "States.Runtime", cause: "An error occurred while executing the state 'load'." }))));
    expect(h.callLines()[1]).toBe(`flow: Running("Running flow.") -> Failed("Execution failed: States.Runtime: An error occurred while executing the state 'load'.")`);
    expect(h.channel.sent[0]!.newState.result).toEqual({ error: "States.Runtime", cause: "An error occurred while executing the state 'load'." });
  });

  it("FLOWHOOKS_ALERT_ON chooses which states alert", async () => {
    h = harness({ env: { FLOWHOOKS_ALERT_ON: "Success,Cancelled" } });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded"))));
    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Success"]);
  });

  it("the same event delivered twice runs the chain once and alerts once", async () => {
    h = harness();
    const event = eventBridgeEvent("sfn-failed");
    await h.handler(sqsEvent(sqsRecord(event)));
    const second = await h.handler(sqsEvent(sqsRecord(event), sqsRecord(event)));
    expect(second.batchItemFailures).toEqual([]);
    expect(h.callLines()).toHaveLength(2);
    expect(h.channel.sent).toHaveLength(1);
  });

  it("the flow's own final report and Step Functions' FAILED event alert once between them", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("flow-report-failed")), sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(h.callLines()).toEqual([START, 'flow: Running("Running flow.") -> Failed("Some reference tasks failed.")']);
    expect(h.channel.sent).toHaveLength(1);
  });

  it("SUCCEEDED before RUNNING: the chain still sees Scheduled -> Running first, and the late RUNNING is ignored", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded"))));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-running"))));
    expect(h.callLines()).toEqual([START, 'flow: Running("Running flow.") -> Success("All reference tasks succeeded.")']);
    expect(h.logs.some((l) => /Ignored a RUNNING event/.test(l.message) && l.executionArn === EXECUTION_ARN)).toBe(true);
  });

  it("a redriven execution (redriveCount 1) is a new run: its ending is processed again", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 1 }))));
    expect(h.channel.sent).toHaveLength(2);
  });

  it("a malformed record is logged with a clear message and dropped, not retried", async () => {
    h = harness();
    const notJson = sqsRecord("{not json", "bad-1");
    const wrongShape = sqsRecord({ source: "aws.states", "detail-type": "Step Functions Execution Status Change", detail: { status: "RUNNING" } }, "bad-2");
    const good = sqsRecord(eventBridgeEvent("sfn-running"), "good-1");
    const result = await h.handler(sqsEvent(notJson, wrongShape, good));
    expect(result.batchItemFailures).toEqual([]);
    const dropped = h.logs.filter((l) => l.level === "error" && l.message.startsWith("Dropped a malformed record"));
    expect(dropped.map((l) => l.messageId)).toEqual(["bad-1", "bad-2"]);
    expect(dropped[0]!.message).toMatch(/not JSON/);
    expect(dropped[1]!.message).toMatch(/`executionArn` must be a non-empty string/);
    expect(h.callLines()).toEqual([START]);
  });

  it("a flow state handler that throws is logged with flow and execution, and the alert still goes out", async () => {
    h = harness({
      flowStateHandlers: [
        function explode() {
          throw new Error("handler bug");
        },
      ],
    });
    const result = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(result.batchItemFailures).toEqual([]);
    const logged = h.logs.find((l) => l.level === "error" && /state handler of <Flow: name=orders> threw/.test(l.message));
    expect(logged).toMatchObject({ flow: "orders", executionArn: EXECUTION_ARN, error: { message: "handler bug" } });
    const finalAlert = h.channel.sent.at(-1)!;
    expect(finalAlert.kind).toBe("flow");
    expect(String(finalAlert.newState)).toBe('Failed("Unexpected error while calling state handlers: Error: handler bug")');
  });
});

describe("handler Lambda: task transition events", () => {
  it("a Retrying task event alerts with the next attempt's time; the task's chain is not run again here", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying"))));
    expect(h.callLines()).toEqual([]);
    expect(h.channel.sent).toHaveLength(1);
    const alert = h.channel.sent[0]!;
    expect(alert).toMatchObject({ kind: "task", flow: "orders", task: "load", attempt: 1, maxAttempts: 2, executionId: EXECUTION_ARN });
    expect((alert.newState as any).startTime.toISOString()).toBe("2019-02-26T19:42:35.000Z");
    expect(formatAlert(alert).nextAttemptAt).toBe("2019-02-26T19:42:35.000Z");
  });

  it("a failing task with retries alerts each Retrying and only the final Failed; its state handlers ran in the task Lambda", async () => {
    h = harness(); // `load` has maxRetries: 1
    const failed = { type: "Failed", message: "Error during execution of task: Error: database unavailable" };
    const event = (attempt: number, oldState: object, newState: object, at: string) => eventBridgeEvent("task-retrying", { attempt, oldState, newState, at });
    await h.handler(
      sqsEvent(
        sqsRecord(event(1, { type: "Running" }, failed, "2019-02-26T19:42:25.100Z")),
        sqsRecord(eventBridgeEvent("task-retrying")),
        sqsRecord(event(2, { type: "Retrying" }, { type: "Running" }, "2019-02-26T19:42:35.100Z")),
        sqsRecord(event(2, { type: "Running" }, failed, "2019-02-26T19:42:36.100Z")),
      ),
    );
    expect(h.channel.sent.map((a) => `${a.newState.name} #${a.attempt}`)).toEqual(["Retrying #1", "Failed #2"]);
    expect(h.callLines()).toEqual([]);
  });

  it("a timed-out attempt with retries left alerts its Retrying only; a task without retries alerts its Failed", async () => {
    h = harness();
    const timedOut = { type: "TimedOut", message: "Task timed out after 5 seconds." };
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying", { attempt: 1, oldState: { type: "Running" }, newState: timedOut }))));
    expect(h.channel.sent).toEqual([]);
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying", { task: "notify", attempt: 1, oldState: { type: "Running" }, newState: timedOut }))));
    expect(h.channel.sent.map((a) => `${a.task} ${a.newState.name} #${a.attempt}`)).toEqual(["notify TimedOut #1"]);
  });

  it("a duplicate task event alerts once; a Success task event alerts nothing", async () => {
    h = harness();
    const event = eventBridgeEvent("task-retrying");
    await h.handler(sqsEvent(sqsRecord(event), sqsRecord(event)));
    await h.handler(
      sqsEvent(sqsRecord(eventBridgeEvent("task-retrying", { oldState: { type: "Running" }, newState: { type: "Success", message: "Task run succeeded." } }))),
    );
    expect(h.channel.sent).toHaveLength(1);
  });

  it("a task event of another flow is dropped with a message naming the rule to fix", async () => {
    h = harness();
    const result = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying", { flow: "billing" }))));
    expect(result.batchItemFailures).toEqual([]);
    expect(h.logs.find((l) => l.level === "error")!.message).toMatch(/flow `billing`.*scope the EventBridge rule/);
  });
});

describe("handler Lambda: tasks that died where no code of ours ran", () => {
  it("reconstructs a crashed task from paged history and runs that task's state handlers, observed after the fact", async () => {
    h = harness();
    const pages = historyPages(crashedTaskHistory(), 6);
    h.sfnMock.on(GetExecutionHistoryCommand).callsFake((input) => pages[input.nextToken ? Number(input.nextToken.split("-")[1]) / 6 : 0]);
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));

    expect(h.sfnMock.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, "token-6", "token-12", "token-18"]);
    const lines = h.callLines();
    expect(lines).toEqual([
      START,
      expect.stringMatching(/^load: Running\("Starting task run."\) -> Failed\("Task failed in AWS before it could report its state \(Lambda.TooManyRequestsException: Rate Exceeded.*\)."\)$/),
      expect.stringMatching(/^load: Failed\(.*\) -> Retrying\("Retrying Task \(after attempt 1\)"\)$/),
      expect.stringMatching(/^load: Running\("Starting task run."\) -> TimedOut\("Task timed out in AWS before it could report its state \(Sandbox.Timedout: .*\)."\)$/),
      'flow: Running("Running flow.") -> Failed("Some reference tasks failed.")',
    ]);
    const taskCalls = h.calls.filter((c) => c.call.startsWith("load"));
    expect(taskCalls.map((c) => [c.context?.observedAfterTheFact, c.context?.attempt])).toEqual([
      [true, 1],
      [true, 1],
      [true, 2],
    ]);
    // The first attempt's Failed was retried: its Retrying alert speaks for it.
    expect(h.channel.sent.map((a) => `${a.kind}:${a.task ?? a.flow}:${a.newState.name}:${a.observedAfterTheFact ?? false}`)).toEqual([
      "task:load:Retrying:true",
      "task:load:TimedOut:true",
      "flow:orders:Failed:false",
    ]);
  });

  it("a succeeded execution whose output shows no Catch record reads no history", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded"))));
    expect(h.sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
  });

  it("a succeeded execution whose output dropped outputs along the way (a large flow) reads the history for tasks that died", async () => {
    h = harness();
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded", { output: JSON.stringify({ flowhooksPruned: true, L9: {} }) }))));
    expect(h.sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(1);
  });

  it("uses the Catch records in the output when the history shows no task state (a split flow's tasks run in child executions)", async () => {
    h = harness();
    const output = JSON.stringify({ L0: { load: { task: "load", infrastructure: { Error: "Sandbox.Timedout", Cause: "Task timed out" }, failed: true, skipped: false, failedLabel: " `load`" } } });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded", { output }))));
    expect(h.sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(1);
    expect(h.channel.sent.map((a) => `${a.task}:${a.newState.name}:${a.observedAfterTheFact}`)).toEqual(["load:TimedOut:true"]);
  });

  it("alerts a crashed task from a large flow's compact Catch record (the task and the error's name, lib/compile's compactOutputs)", async () => {
    h = harness();
    const output = JSON.stringify({ flowhooksPruned: true, L0: [{ load: { task: "load", infrastructure: { Error: "Sandbox.Timedout" }, failed: true } }, { other: { failed: false } }] });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded", { output }))));
    expect(h.channel.sent.map((a) => `${a.task}:${a.newState.name}:${a.observedAfterTheFact}`)).toEqual(["load:TimedOut:true"]);
  });

  it("without a history reader (the emulator), uses the Catch records in the execution output", async () => {
    h = harness();
    const store = new InMemoryTransitionStore();
    const processor = new EventProcessor({ flow: h.flow, store, channels: [h.channel], logger: createLogger({ writer: () => {} }), runtime: "emulator" });
    const output = JSON.stringify({ L0: { load: { infrastructure: { Error: "Lambda.Unknown", Cause: "The function crashed." }, failed: true, skipped: false, failedLabel: " `load`" } } });
    await processor.process(parseEventBridgeEvent(eventBridgeEvent("sfn-succeeded", { output })));
    expect(h.callLines()[1]).toBe('load: Running("Starting task run.") -> Failed("Task failed in AWS before it could report its state (Lambda.Unknown: The function crashed.).")');
    expect(h.calls[1]!.context).toMatchObject({ observedAfterTheFact: true, runtime: "emulator" });
    expect(h.channel.sent.map((a) => `${a.task}:${a.newState.name}:${a.observedAfterTheFact}`)).toEqual(["load:Failed:true"]);
  });
});

describe("handler Lambda: configuration", () => {
  it("a status event of another state machine is dropped as misrouted", async () => {
    h = harness();
    const result = await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:billing" }))));
    expect(result.batchItemFailures).toEqual([]);
    expect(h.channel.sent).toEqual([]);
    expect(h.logs.find((l) => l.level === "error")!.message).toMatch(/stateMachine:billing reached the handler of .*orders-flow/);
  });

  it("a missing FLOWHOOKS_DEDUPE_TABLE fails the invocation with the variable's name", async () => {
    h = harness({ env: { FLOWHOOKS_DEDUPE_TABLE: "" } });
    await expect(h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-running"))))).rejects.toThrow(/Environment variable FLOWHOOKS_DEDUPE_TABLE is not set/);
  });

  it("an unknown state in FLOWHOOKS_ALERT_ON is refused with the list of valid names", async () => {
    h = harness({ env: { FLOWHOOKS_ALERT_ON: "Failed,Broken" } });
    await expect(h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-running"))))).rejects.toThrow(/FLOWHOOKS_ALERT_ON names the unknown state "Broken"; use a comma list of .*TimedOut/);
  });
});
