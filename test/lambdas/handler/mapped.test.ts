import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord } from "../../fixtures/index";
import { Flow, getRunContext, task, withRunContext } from "../../../lib/index";
import { childEnteredAt, mapHistory, retryingCause, MAP_STARTED } from "../../fixtures/map-history";
import { virtualClock } from "../../../lib/core/clock";
import { Failed, Running } from "../../../lib/core/states";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { InMemoryDocumentStore } from "../../../lib/aws/documents";
import { createLogger } from "../../../lib/aws/logger";
import { alertFromTransition } from "../../../lib/notify/build";
import { digestChannel, parseFlushRecord } from "../../../lib/notify/digest";
import { slackDigestTarget } from "../../../lib/notify/slack-digest";
import { createEventsHandler, type HandlerDeps } from "../../../lambdas/handler/index";
import { startFakeSlack, type FakeSlack } from "../../helpers/fake-slack";
import { fakeChannel, recordingQueue } from "./harness";

/** `files` lists items; `download` runs once per item (retried once), `total` reduces them. */
function mappedFlow(calls: string[] = []) {
  const files = task({ name: "files" }, () => ["a", "b", "c", "d", "e"]);
  const record = (_task: unknown, oldState: unknown, newState: unknown) => {
    const context = getRunContext();
    calls.push(`download[${context?.mapIndex}]#${context?.attempt}${context?.observedAfterTheFact ? " (after the fact)" : ""}: ${oldState} -> ${newState}`);
  };
  const download = task({ name: "download", maxRetries: 1, stateHandlers: [record] }, (file: string) => file.length);
  const total = task({ name: "total" }, (sizes: number[]) => sizes.reduce((a, b) => a + b, 0));
  const flowRecord = (_flow: unknown, oldState: unknown, newState: unknown) => void calls.push(`flow: ${oldState} -> ${newState}`);
  return new Flow({ name: "orders", stateHandlers: [flowRecord] }, () => {
    total(download.map(files()));
  });
}

function handlerFor(flow: Flow, deps: Partial<HandlerDeps> = {}) {
  const sfnMock = mockClient(SFNClient);
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
  sfnMock.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as any);
  const channel = fakeChannel();
  const logs: Record<string, any>[] = [];
  const handler = createEventsHandler(flow, {
    env: { FLOWHOOKS_DEDUPE_TABLE: "orders-transitions" },
    store: new InMemoryTransitionStore(),
    channels: [channel],
    sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    logger: createLogger({ writer: (line) => logs.push(JSON.parse(line)), level: "debug" }),
    ...deps,
  });
  return { handler, channel, logs, sfnMock };
}

const failed = { type: "Failed", message: "Error during execution of task: Error: 404 Not Found" };
/** A child's task event as the task Lambda emits it (`mapIndex` set). */
function childEvent(mapIndex: number, fields: Record<string, unknown> = {}) {
  return eventBridgeEvent("task-retrying", { task: "download", mapIndex, attempt: 2, oldState: { type: "Running" }, newState: failed, at: `2019-02-26T19:42:${String(30 + mapIndex).padStart(2, "0")}.000Z`, ...fields });
}

let mocks: ReturnType<typeof handlerFor>[] = [];
afterEach(() => {
  for (const m of mocks) m.sfnMock.restore();
  mocks = [];
});
const setup = (flow = mappedFlow(), deps: Partial<HandlerDeps> = {}) => {
  const m = handlerFor(flow, deps);
  mocks.push(m);
  return m;
};

describe("handler Lambda: mapped children", () => {
  it("a child's Failed alerts as `download[3]`, with its index, attempt and the execution", async () => {
    const { handler, channel } = setup();
    const result = await handler(sqsEvent(sqsRecord(childEvent(3))));
    expect(result.batchItemFailures).toEqual([]);
    expect(channel.sent).toHaveLength(1);
    expect(channel.sent[0]).toMatchObject({ kind: "task", task: "download[3]", mapIndex: 3, attempt: 2, maxAttempts: 2, executionId: EXECUTION_ARN });
  });

  it("child 3's Failed and child 4's Failed are two alerts; a duplicate of either is none", async () => {
    const { handler, channel } = setup();
    // Same attempt, same time, same state: only the index tells them apart.
    const at = "2019-02-26T19:42:40.000Z";
    await handler(sqsEvent(sqsRecord(childEvent(3, { at })), sqsRecord(childEvent(4, { at })), sqsRecord(childEvent(3, { at }))));
    await handler(sqsEvent(sqsRecord(childEvent(4, { at }))));
    expect(channel.sent.map((a) => a.task)).toEqual(["download[3]", "download[4]"]);
  });

  it("a child's failed attempt with retries left is alerted by its Retrying only, per child", async () => {
    const { handler, channel } = setup();
    const retrying = { type: "Retrying", message: "Retrying Task (after attempt 1 of 2)", startTime: "2019-02-26T19:42:45.000Z", runCount: 1 };
    await handler(
      sqsEvent(
        sqsRecord(childEvent(1, { attempt: 1, at: "2019-02-26T19:42:35.000Z" })),
        sqsRecord(childEvent(1, { attempt: 1, oldState: failed, newState: retrying, at: "2019-02-26T19:42:35.001Z" })),
        sqsRecord(childEvent(2, { attempt: 1, oldState: failed, newState: retrying, at: "2019-02-26T19:42:35.001Z" })),
      ),
    );
    expect(channel.sent.map((a) => `${a.task} ${a.newState.name} #${a.attempt}`)).toEqual(["download[1] Retrying #1", "download[2] Retrying #1"]);
  });

  it("the parent's Pending -> Mapped is no alert by default, even when children failed; FLOWHOOKS_ALERT_ON=Mapped alerts it as `download`", async () => {
    const mapped = { type: "Mapped", message: "Mapped 5 children.", result: [{ type: "Success" }, failed] };
    const parentEvent = eventBridgeEvent("task-retrying", { task: "download", attempt: 1, oldState: { type: "Pending" }, newState: mapped });
    const quiet = setup();
    await quiet.handler(sqsEvent(sqsRecord(parentEvent)));
    expect(quiet.channel.sent).toEqual([]);
    const loud = setup(mappedFlow(), { env: { FLOWHOOKS_DEDUPE_TABLE: "orders-transitions", FLOWHOOKS_ALERT_ON: "Mapped" } });
    await loud.handler(sqsEvent(sqsRecord(parentEvent)));
    expect(loud.channel.sent.map((a) => [a.task, a.newState.name, a.mapIndex])).toEqual([["download", "Mapped", undefined]]);
  });

  it("a task event whose mapIndex is not a whole number ≥ 0 is dropped with a message naming the field", async () => {
    const { handler, channel, logs } = setup();
    const result = await handler(sqsEvent(sqsRecord(childEvent(-1)), sqsRecord(childEvent("3" as unknown as number))));
    expect(result.batchItemFailures).toEqual([]);
    expect(channel.sent).toEqual([]);
    expect(logs.filter((l) => l.level === "error").map((l) => l.message)).toEqual([
      expect.stringMatching(/`mapIndex` must be an integer ≥ 0 .*got -1/),
      expect.stringMatching(/`mapIndex` must be an integer ≥ 0 .*got "3"/),
    ]);
  });

  it("a notifier running in a child's run context (the task Lambda) names the alert `download[3]` too", () => {
    const download = mappedFlow().graph().byName.get("download")!.task;
    const alert = withRunContext({ flowName: "orders", executionId: EXECUTION_ARN, runtime: "lambda", attempt: 1, mapIndex: 3 }, () =>
      alertFromTransition(download, new Running(), new Failed("boom")),
    );
    expect(alert).toMatchObject({ task: "download[3]", mapIndex: 3 });
  });
});

describe("handler Lambda: a Distributed Map's child executions", () => {
  it("the status of a child execution (`…:execution:<machine>/<map run>:<id>`) runs no flow handler and alerts nothing", async () => {
    const calls: string[] = [];
    const { handler, channel, logs, sfnMock } = setup(mappedFlow(calls), {
      env: { FLOWHOOKS_DEDUPE_TABLE: "orders-transitions", FLOWHOOKS_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow" },
    });
    const child = "arn:aws:states:us-east-1:123456789012:execution:orders-flow/download-map:0a1b2c3d";
    const result = await handler(
      sqsEvent(
        sqsRecord(eventBridgeEvent("sfn-running", { executionArn: child, stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow/download-map" })),
        sqsRecord(eventBridgeEvent("sfn-failed", { executionArn: child, stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow/download-map" })),
      ),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(channel.sent).toEqual([]);
    expect(calls).toEqual([]);
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
    expect(logs.filter((l) => l.level === "error")).toEqual([]);
    expect(logs.filter((l) => /Distributed Map's child execution/.test(l.message))).toHaveLength(2);
  });
});

describe("handler Lambda: a storm of failing children in the Slack digest", () => {
  let slack: FakeSlack | undefined;
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  it("300 failing children of one execution (each event delivered twice) go out as 6 digest messages at Slack's pace, each child named once", async () => {
    const clock = virtualClock(new Date("2019-02-26T19:42:30.000Z"));
    slack = await startFakeSlack({ perSecond: 1, now: () => clock.now() });
    const queue = recordingQueue();
    const channel = digestChannel({ target: slackDigestTarget({ webhookUrl: slack.url }), store: new InMemoryDocumentStore(), queue, now: () => clock.now() });
    const { handler } = setup(mappedFlow(), { channels: [channel], queue, clock, now: () => clock.now() });
    const records = Array.from({ length: 300 }, (_, i) => sqsRecord(childEvent(i, { at: "2019-02-26T19:42:30.000Z" })));
    for (let i = 0; i < records.length; i += 10) {
      const batch = records.slice(i, i + 10);
      expect((await handler(sqsEvent(...batch, ...batch))).batchItemFailures).toEqual([]);
    }
    // One flush for the execution, after the window: 300 alerts are no 300 posts.
    expect(queue.sent.map((s) => s.delaySeconds)).toEqual([5]);
    const flush = queue.sent[0]!;
    expect(parseFlushRecord(flush.body)!.group).toBe(EXECUTION_ARN);
    await clock.sleep(5_000);
    for (let rounds = 0; rounds < 20; rounds++) {
      const before = queue.sent.length;
      const result = await handler(sqsEvent(sqsRecord(queue.sent.at(-1)!.body)));
      if (result.batchItemFailures.length === 0 && queue.sent.length === before) break;
      await clock.sleep(((queue.sent.length > before ? queue.sent.at(-1)!.delaySeconds : queue.deferred.at(-1)?.seconds) ?? 1) * 1000);
    }
    const messages = slack.accepted().map((m) => JSON.stringify(m));
    expect(messages).toHaveLength(6);
    expect(slack.requests.filter((r) => r.status === 429)).toHaveLength(0);
    for (let i = 0; i < 300; i++) expect(messages.filter((m) => m.includes(`*download[${i}]*`)), `download[${i}]`).toHaveLength(1);
    expect(messages[0]).toContain("and 250 more task alerts in the next message");
  });
});

describe("handler Lambda: children that died where no code of ours ran (inline Map history)", () => {
  const THROTTLED = { error: "Lambda.TooManyRequestsException", cause: "Rate Exceeded." };
  const LAMBDA_TIMEOUT = { error: "Sandbox.Timedout", cause: JSON.stringify({ errorMessage: "RequestId: 9c1e Error: Task timed out after 3.00 seconds" }) };
  const OUT_OF_MEMORY = { error: "Lambda.Unknown", cause: "The cause could not be determined because Lambda did not return an error type. Returned payload: Runtime exited with error: signal: killed" };
  /** Child 1 throttled then killed at its timeout; child 2's own code asked for a retry, then succeeded; child 3 ran out of memory. */
  const history = (ending?: "ExecutionSucceeded") =>
    mapHistory({
      children: [[{ ok: true }], [THROTTLED, LAMBDA_TIMEOUT], [{ error: "flowhooks.Retrying", cause: retryingCause(new Date(MAP_STARTED.getTime() + 11_000)) }, { ok: true }], [OUT_OF_MEMORY]],
      ending,
    });

  it("a crashed child is reconstructed at the execution's ending: its task's state handlers run with its mapIndex, and it alerts as `download[i]`", async () => {
    const calls: string[] = [];
    const { handler, channel, sfnMock } = setup(mappedFlow(calls));
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: history() });
    expect((await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))))).batchItemFailures).toEqual([]);
    expect(calls).toEqual([
      'flow: Scheduled() -> Running("Running flow.")',
      expect.stringMatching(/^download\[1\]#1 \(after the fact\): Running\("Starting task run."\) -> Failed\("Task failed in AWS .*TooManyRequests/),
      expect.stringMatching(/^download\[1\]#1 \(after the fact\): Failed\(.*\) -> Retrying\("Retrying Task \(after attempt 1\)"\)$/),
      expect.stringMatching(/^download\[3\]#1 \(after the fact\): Running\("Starting task run."\) -> Failed\("Task failed in AWS .*Lambda.Unknown.*signal: killed/),
      expect.stringMatching(/^download\[1\]#2 \(after the fact\): Running\("Starting task run."\) -> TimedOut\("Task timed out in AWS .*Sandbox.Timedout/),
      'flow: Running("Running flow.") -> Failed("Some reference tasks failed.")',
    ]);
    const taskAlerts = channel.sent.filter((a) => a.kind === "task");
    expect(taskAlerts.map((a) => `${a.task} ${a.newState.name} #${a.attempt}${a.observedAfterTheFact ? " (after the fact)" : ""}`).sort()).toEqual([
      "download[1] Retrying #1 (after the fact)",
      "download[1] TimedOut #2 (after the fact)",
      // Child 2's own code reported its Retrying; its event never came, so the history's record of it is alerted.
      "download[2] Retrying #1 (after the fact)",
      "download[3] Failed #1 (after the fact)",
    ]);
    expect(taskAlerts.every((a) => a.mapIndex === Number(/\[(\d+)\]/.exec(a.task!)![1]))).toBe(true);
    // The ending delivered again (SQS at-least-once, the reconciler): nothing more.
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(channel.sent.filter((a) => a.kind === "task")).toHaveLength(4);
    expect(calls).toHaveLength(6);
  });

  it("300 children killed at once (an out-of-memory storm): each alerts once as `download[i]`, its handlers run once, a duplicate ending adds nothing", async () => {
    const calls: string[] = [];
    const { handler, channel, sfnMock } = setup(mappedFlow(calls));
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: mapHistory({ children: Array.from({ length: 300 }, () => [OUT_OF_MEMORY]) }) });
    const started = Date.now();
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed")), sqsRecord(eventBridgeEvent("sfn-failed"))));
    const names = channel.sent.filter((a) => a.kind === "task").map((a) => a.task);
    expect(new Set(names).size).toBe(300);
    expect(names).toHaveLength(300);
    expect(calls.filter((c) => c.startsWith("download["))).toHaveLength(300);
    // The timeline of 300 interleaved iterations is built in well under the handler's 60 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a child's Retrying whose event arrived is not alerted again from the history", async () => {
    const { handler, channel, sfnMock } = setup();
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: history() });
    const retrying = { type: "Retrying", message: "Retrying Task (after attempt 1 of 2)", startTime: new Date(MAP_STARTED.getTime() + 11_000).toISOString(), runCount: 1 };
    await handler(sqsEvent(sqsRecord(childEvent(2, { attempt: 1, oldState: failed, newState: retrying, stateEnteredTime: childEnteredAt(2).toISOString() }))));
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    const child2 = channel.sent.filter((a) => a.task === "download[2]");
    expect(child2.map((a) => [a.newState.name, Boolean(a.observedAfterTheFact)])).toEqual([["Retrying", false]]);
  });

  it("a SUCCEEDED execution whose mapped task's output says a child failed reads the history and alerts the crashed child", async () => {
    const { handler, channel, sfnMock } = setup();
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: history("ExecutionSucceeded") });
    const mapped = { state: { type: "Mapped", message: "Mapped 4 children." }, failed: true, skipped: false, failedLabel: " `download`" };
    const total = { state: { type: "Success", message: "Task run succeeded." }, failed: false, skipped: false, failedLabel: "" };
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded", { output: JSON.stringify({ L1: [{ download: mapped }], L2: { total } }) }))));
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(1);
    expect(channel.sent.filter((a) => a.newState.isFailed()).map((a) => a.task)).toEqual(["download[3]", "download[1]"]);
  });

  it("a SUCCEEDED execution whose mapped task's children all succeeded reads no history", async () => {
    const { handler, sfnMock } = setup();
    const mapped = { state: { type: "Mapped", message: "Mapped 4 children." }, failed: false, skipped: false, failedLabel: "" };
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded", { output: JSON.stringify({ L1: [{ download: mapped }] }) }))));
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
  });

  it("without a history reader (the emulator), a child's Catch record (`download.ChildInfra`) alerts as `download[i]`", async () => {
    const { handler, channel } = setup(mappedFlow(), { sfn: undefined });
    const record = { task: "download", mapIndex: 7, infrastructure: { Error: "Sandbox.Timedout", Cause: "Task timed out after 3.00 seconds" }, failed: true, skipped: false, failedLabel: " `download`" };
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { output: JSON.stringify({ children: [record] }) }))));
    expect(channel.sent.filter((a) => a.kind === "task").map((a) => [a.task, a.newState.name, a.mapIndex])).toEqual([["download[7]", "TimedOut", 7]]);
  });
});
