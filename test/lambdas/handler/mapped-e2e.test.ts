/**
 * The task Lambda's child and collect steps (lambdas/task, as a mapped task's `t.Child` and
 * `t.Collect` states invoke them) emit their events; the handler Lambda alerts them. Real code on
 * both sides, the EventBridge envelope in between, so the event contract is checked end to end.
 */
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { Flow, getRunContext, snsNotifier, task, type RunContext } from "../../../lib/index";
import { virtualClock } from "../../../lib/core/clock";
import type { ResultStore } from "../../../lib/core/results";
import { memoryStore } from "../../helpers/memory-store";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { createLogger } from "../../../lib/aws/logger";
import { runTask, TaskRetryingError, type TaskOutput, type TaskStateChangeDetail } from "../../../lambdas/task/index";
import { createEventsHandler } from "../../../lambdas/handler/index";
import { EVENT_SOURCE, TASK_STATE_CHANGE } from "../../../lambdas/task/payload";
import { sqsEvent, sqsRecord } from "../../fixtures/index";
import { fakeChannel } from "./harness";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:downloads-flow:run-1";

describe("mapped task end to end: task Lambda events → handler Lambda alerts", () => {
  it("a child that fails twice alerts `download[2]` Retrying #1 then Failed #2; its siblings and the parent's Pending → Mapped alert nothing", async () => {
    const files = task({ name: "files" }, () => ["a", "b", "broken", "d"]);
    const download = task({ name: "download", maxRetries: 1 }, (file: string) => {
      if (file === "broken") throw new Error(`cannot read ${file}`);
      return file.length;
    });
    const flow = new Flow({ name: "downloads" }, () => void download.map(files()));
    const details: TaskStateChangeDetail[] = [];
    const run = (payload: Record<string, unknown>, retryCount = 0) =>
      runTask({ task: "download", parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: retryCount } }, ...payload } as never, {
        flow,
        taskName: "download",
        clock: virtualClock(),
        emit: async (d) => void details.push(d),
      }) as unknown as Promise<TaskOutput>;

    // The inline Map runs each child; Step Functions retries child 2 (its Retry) after the task Lambda threw.
    const items = ["a", "b", "broken", "d"].map((file, index) => ({ index, items: [{ type: "Success", result: file }] }));
    const children: TaskOutput[] = [];
    for (const item of items) {
      if (item.index !== 2) {
        children.push(await run({ mode: "child", item }));
        continue;
      }
      await expect(run({ mode: "child", item })).rejects.toBeInstanceOf(TaskRetryingError);
      children.push(await run({ mode: "child", item }, 1));
    }
    const parent = await run({ mode: "collect", map: { count: 4, distributed: false, items: null, itemsKey: null, verdict: null, children } });
    expect(parent).toMatchObject({ failed: true, state: { type: "Mapped" } });

    const channel = fakeChannel();
    const handler = createEventsHandler(flow, {
      env: { FLOWHOOKS_DEDUPE_TABLE: "downloads-transitions" },
      store: new InMemoryTransitionStore(),
      channels: [channel],
      logger: createLogger({ writer: () => {} }),
    });
    const envelope = (detail: TaskStateChangeDetail) => ({ version: "0", id: "1", "detail-type": TASK_STATE_CHANGE, source: EVENT_SOURCE, time: detail.at, region: "us-east-1", resources: [], detail });
    // Every event twice (SQS delivers at least once), in one batch.
    const records = details.flatMap((d) => [sqsRecord(envelope(d)), sqsRecord(envelope(d))]);
    expect((await handler(sqsEvent(...records))).batchItemFailures).toEqual([]);

    expect(channel.sent.map((a) => `${a.task} ${a.newState.name} #${a.attempt}`)).toEqual(["download[2] Retrying #1", "download[2] Failed #2"]);
    expect(channel.sent.map((a) => [a.mapIndex, a.executionId, a.maxAttempts])).toEqual([
      [2, EXECUTION, 2],
      [2, EXECUTION, 2],
    ]);
    expect(details.some((d) => d.mapIndex === undefined && d.newState.type === "Mapped")).toBe(true);
  });
});

const sns = mockClient(SNSClient);
const sfn = mockClient(SFNClient);
afterEach(() => {
  sns.reset();
  sfn.reset();
});


/** A child execution as the ResultWriter writes it (lib/emulate/distributed-map.ts writes the same fields). */
interface ChildExecution {
  index: number;
  status: "SUCCEEDED" | "FAILED";
  output?: unknown;
  error?: string;
  cause?: string;
  start: string;
  stop: string;
}

/** Writes a map run's manifest and SUCCEEDED_0/FAILED_0 files (children in the order they finished) and returns the Map state's output. */
async function writeMapRun(store: ResultStore, children: ChildExecution[]) {
  const folder = "flowhooks-maps/download/run-1";
  const record = (c: ChildExecution) => ({
    ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:downloads-flow/download.MapDistributed:run1-${c.index}`,
    Input: JSON.stringify({ item: { index: c.index, items: [] }, parameters: {}, upstream: {}, executionId: EXECUTION }),
    InputDetails: { Included: true },
    Name: `run1-${c.index}`,
    ...(c.status === "SUCCEEDED" ? { Output: JSON.stringify(c.output), OutputDetails: { Included: true } } : { Error: c.error, Cause: c.cause }),
    RedriveCount: 0,
    StartDate: c.start,
    StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:downloads-flow/download.MapDistributed",
    Status: c.status,
    StopDate: c.stop,
  });
  const files: Record<string, { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const status of ["SUCCEEDED", "FAILED"] as const) {
    const body = JSON.stringify(children.filter((c) => c.status === status).map(record));
    await store.put(`${folder}/${status}_0.json`, body);
    files[status]!.push({ Key: `${folder}/${status}_0.json`, Size: body.length });
  }
  await store.put(`${folder}/manifest.json`, JSON.stringify({ DestinationBucket: "results", MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:downloads-flow/download.MapDistributed:run-1", ResultFiles: files }));
  return { MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:downloads-flow/download.MapDistributed:run-1", ResultWriterDetails: { Bucket: "results", Key: `${folder}/manifest.json` } };
}

describe("a Distributed Map's crashed children end to end: collect step → handler Lambda alerts", () => {
  it("a child stopped at its Lambda timeout and a child execution that failed alert `download[1]` TimedOut and `download[2]` Failed once each, though the collect step ran twice", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    // The parent execution's history: a Distributed Map's child executions are not in it.
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as never);
    const seen: { transition: string; context?: RunContext }[] = [];
    const download = task(
      {
        name: "download",
        maxRetries: 1,
        stateHandlers: [
          (_t, oldState, newState) => void seen.push({ transition: `${oldState.name} -> ${newState.name}`, context: getRunContext() }),
          snsNotifier({ topicArn: "arn:aws:sns:us-east-1:123456789012:child-alerts", ignoreStates: [] }),
        ],
      },
      (file: string) => file.length,
    );
    const files = task({ name: "files" }, () => ["a", "b", "c", "d"]);
    const flow = new Flow({ name: "downloads" }, () => void download.map(files()));
    const { store } = memoryStore();
    const ok = (index: number) => ({ state: { type: "Success", message: "Task run succeeded.", result: 1 }, failed: false, skipped: false, failedLabel: "", mapIndex: index });
    // Child 1's Lambda was stopped at its timeout: its child execution's `download.DistChildInfra` recorded it, and the execution succeeded.
    const timedOut = { task: "download", mapIndex: 1, infrastructure: { Error: "Sandbox.Timedout", Cause: '{"errorMessage":"Task timed out after 3.00 seconds"}' }, failed: true, skipped: false, failedLabel: " `download`" };
    const written = await writeMapRun(store, [
      { index: 3, status: "SUCCEEDED", output: ok(3), start: "2026-01-01T00:00:01.000Z", stop: "2026-01-01T00:00:01.500Z" },
      { index: 0, status: "SUCCEEDED", output: ok(0), start: "2026-01-01T00:00:01.000Z", stop: "2026-01-01T00:00:02.000Z" },
      { index: 1, status: "SUCCEEDED", output: timedOut, start: "2026-01-01T00:00:01.100Z", stop: "2026-01-01T00:00:04.200Z" },
      // Child 2's execution failed outright (no state of it caught anything): only the FAILED file names it.
      { index: 2, status: "FAILED", error: "States.Runtime", cause: "The child execution could not start its task.", start: "2026-01-01T00:00:01.200Z", stop: "2026-01-01T00:00:01.300Z" },
    ]);

    const details: TaskStateChangeDetail[] = [];
    // The collect step's clock is hours later, and the second invocation (Step Functions retried a transient Lambda error) later still.
    const collect = (clock: ReturnType<typeof virtualClock>) =>
      runTask(
        { task: "download", mode: "collect", map: { count: 4, distributed: true, items: null, itemsKey: "k", verdict: null, written }, parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: 0 } } } as never,
        { flow, taskName: "download", clock, emit: async (d) => void details.push(d), results: store },
      ) as unknown as Promise<TaskOutput>;
    const parent = await collect(virtualClock(new Date("2026-01-01T05:00:00.000Z")));
    expect(parent).toMatchObject({ failed: true, state: { type: "Mapped", message: "Mapped 4 children." } });
    // The state-handler chain ran for each crashed child, in the collect step, as the handler Lambda runs it for an inline Map's.
    expect(seen.filter((s) => s.context?.mapIndex !== undefined).map((s) => [s.context!.mapIndex, s.transition, s.context!.observedAfterTheFact, s.context!.executionId])).toEqual([
      [1, "Running -> TimedOut", true, EXECUTION],
      [2, "Running -> Failed", true, EXECUTION],
    ]);
    // A notifier in the chain names the child.
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published.map((p) => p.MessageAttributes?.task?.StringValue)).toEqual(["download[1]", "download[2]", "download"]);
    expect(JSON.parse(JSON.parse(published[0]!.Message!).default)).toMatchObject({ task: "download[1]", mapIndex: 1, state: "TimedOut", observedAfterTheFact: true });
    await collect(virtualClock(new Date("2026-01-01T05:07:00.000Z")));

    // One event per crashed child and invocation, timed by the child execution, not by the collect step.
    const childEvents = details.filter((d) => d.mapIndex !== undefined);
    expect(childEvents.map((d) => [d.mapIndex, d.oldState.type, d.newState.type, d.at, d.stateEnteredTime, d.attempt, d.observedAfterTheFact])).toEqual([
      [1, "Running", "TimedOut", "2026-01-01T00:00:04.200Z", "2026-01-01T00:00:01.100Z", 1, true],
      [2, "Running", "Failed", "2026-01-01T00:00:01.300Z", "2026-01-01T00:00:01.200Z", 1, true],
      [1, "Running", "TimedOut", "2026-01-01T00:00:04.200Z", "2026-01-01T00:00:01.100Z", 1, true],
      [2, "Running", "Failed", "2026-01-01T00:00:01.300Z", "2026-01-01T00:00:01.200Z", 1, true],
    ]);

    const channel = fakeChannel();
    const handler = createEventsHandler(flow, {
      env: { FLOWHOOKS_DEDUPE_TABLE: "downloads-transitions" },
      store: new InMemoryTransitionStore(),
      channels: [channel],
      logger: createLogger({ writer: () => {} }),
      sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    });
    const envelope = (detail: TaskStateChangeDetail) => ({ version: "0", id: "1", "detail-type": TASK_STATE_CHANGE, source: EVENT_SOURCE, time: detail.at, region: "us-east-1", resources: [], detail });
    // Every event twice (SQS delivers at least once).
    expect((await handler(sqsEvent(...details.flatMap((d) => [sqsRecord(envelope(d)), sqsRecord(envelope(d))])))).batchItemFailures).toEqual([]);
    // The execution's ending: the parent's history holds no child execution, its output no Catch record; nothing more per child.
    const ending = {
      version: "0",
      id: "2",
      "detail-type": "Step Functions Execution Status Change",
      source: "aws.states",
      time: "2026-01-01T05:10:00Z",
      region: "us-east-1",
      resources: [EXECUTION],
      detail: {
        executionArn: EXECUTION,
        stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:downloads-flow",
        status: "FAILED",
        error: "flowhooks.FlowFailed",
        output: null,
        startDate: Date.parse("2026-01-01T00:00:00Z"),
        stopDate: Date.parse("2026-01-01T05:10:00Z"),
        redriveCount: 0,
      },
    };
    expect((await handler(sqsEvent(sqsRecord(ending)))).batchItemFailures).toEqual([]);

    const childAlerts = channel.sent.filter((a) => a.kind === "task");
    expect(childAlerts.map((a) => `${a.task} ${a.newState.name} #${a.attempt}`)).toEqual(["download[1] TimedOut #1", "download[2] Failed #1"]);
    expect(childAlerts.map((a) => [a.mapIndex, a.executionId, a.observedAfterTheFact, a.at.toISOString()])).toEqual([
      [1, EXECUTION, true, "2026-01-01T00:00:04.200Z"],
      [2, EXECUTION, true, "2026-01-01T00:00:01.300Z"],
    ]);
    expect(childAlerts[0]!.newState.message).toBe("Task timed out in AWS before it could report its state (Sandbox.Timedout: Task timed out after 3.00 seconds).");
  });

  it("an inline Map's crashed child gets no event from the collect step: the handler Lambda reconstructs it from the execution history", async () => {
    const download = task({ name: "download" }, (file: string) => file.length);
    const flow = new Flow({ name: "downloads" }, () => void download.map(task({ name: "files" }, () => ["a", "b"])()));
    const details: TaskStateChangeDetail[] = [];
    const crashed = { task: "download", mapIndex: 1, infrastructure: { Error: "Sandbox.Timedout", Cause: "timed out" }, failed: true, skipped: false, failedLabel: " `download`" };
    const ok = { state: { type: "Success", result: 1 }, failed: false, skipped: false, failedLabel: "", mapIndex: 0 };
    const parent = await (runTask(
      { task: "download", mode: "collect", map: { count: 2, distributed: false, items: [], itemsKey: null, verdict: null, children: [ok, crashed] }, parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: 0 } } } as never,
      { flow, taskName: "download", clock: virtualClock(), emit: async (d) => void details.push(d) },
    ) as unknown as Promise<TaskOutput>);
    expect(parent.failed).toBe(true);
    expect(details.map((d) => [d.mapIndex, d.newState.type])).toEqual([[undefined, "Mapped"]]);
  });
});

describe("a Distributed Map collect step whose PutEvents for its crashed children were lost", () => {
  it("the execution's ending alerts `download[1]` TimedOut and `download[2]` Failed once each from what the collect step kept; a late event for them alerts nothing more", async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as never);
    const download = task({ name: "download", maxRetries: 1 }, (file: string) => file.length);
    const files = task({ name: "files" }, () => ["a", "b", "c"]);
    const flow = new Flow({ name: "downloads" }, () => void download.map(files()));
    const { store } = memoryStore();
    const ok = (index: number) => ({ state: { type: "Success", message: "Task run succeeded.", result: 1 }, failed: false, skipped: false, failedLabel: "", mapIndex: index });
    const timedOut = { task: "download", mapIndex: 1, infrastructure: { Error: "Sandbox.Timedout", Cause: '{"errorMessage":"Task timed out after 3.00 seconds"}' }, failed: true, skipped: false, failedLabel: " `download`" };
    const written = await writeMapRun(store, [
      { index: 0, status: "SUCCEEDED", output: ok(0), start: "2026-01-01T00:00:01.000Z", stop: "2026-01-01T00:00:02.000Z" },
      { index: 1, status: "SUCCEEDED", output: timedOut, start: "2026-01-01T00:00:01.100Z", stop: "2026-01-01T00:00:04.200Z" },
      { index: 2, status: "FAILED", error: "States.Runtime", cause: "The child execution could not start its task.", start: "2026-01-01T00:00:01.200Z", stop: "2026-01-01T00:00:01.300Z" },
    ]);
    // EventBridge refuses every PutEvents: the collect step logs the loss and succeeds.
    const sent: TaskStateChangeDetail[] = [];
    const lost = async (d: TaskStateChangeDetail) => {
      sent.push(d);
      throw new Error("PutEvents: FailedEntryCount 1 (InternalFailure), after 3 tries");
    };
    const parent = (await runTask(
      { task: "download", mode: "collect", map: { count: 3, distributed: true, items: null, itemsKey: "k", verdict: null, written }, parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: 0 } } } as never,
      { flow, taskName: "download", clock: virtualClock(new Date("2026-01-01T05:00:00.000Z")), emit: lost, results: store, log: () => {} },
    )) as unknown as TaskOutput;
    expect(parent).toMatchObject({ failed: true, state: { type: "Mapped" } });
    expect(sent.filter((d) => d.mapIndex !== undefined)).toHaveLength(2);

    const channel = fakeChannel();
    const handler = createEventsHandler(flow, {
      env: { FLOWHOOKS_DEDUPE_TABLE: "downloads-transitions" },
      store: new InMemoryTransitionStore(),
      channels: [channel],
      logger: createLogger({ writer: () => {} }),
      sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
      results: store,
    });
    // The execution succeeded (the parent's Mapped is a success); its status event and the flow's report both arrive.
    const ending = (id: string) => ({
      version: "0",
      id,
      "detail-type": "Step Functions Execution Status Change",
      source: "aws.states",
      time: "2026-01-01T05:10:00Z",
      region: "us-east-1",
      resources: [EXECUTION],
      detail: {
        executionArn: EXECUTION,
        stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:downloads-flow",
        status: "SUCCEEDED",
        output: JSON.stringify({ download: parent }),
        startDate: Date.parse("2026-01-01T00:00:00Z"),
        stopDate: Date.parse("2026-01-01T05:10:00Z"),
        redriveCount: 0,
      },
    });
    expect((await handler(sqsEvent(sqsRecord(ending("e1")), sqsRecord(ending("e1"))))).batchItemFailures).toEqual([]);
    const childAlerts = () => channel.sent.filter((a) => a.kind === "task");
    expect(childAlerts().map((a) => [a.task, a.newState.name, a.attempt, a.mapIndex, a.observedAfterTheFact, a.at.toISOString()])).toEqual([
      ["download[1]", "TimedOut", 1, 1, true, "2026-01-01T00:00:04.200Z"],
      ["download[2]", "Failed", 1, 2, true, "2026-01-01T00:00:01.300Z"],
    ]);
    // One of the lost events turns up after all (EventBridge's retry): its claim is the one the ending took.
    const envelope = (detail: TaskStateChangeDetail) => ({ version: "0", id: "3", "detail-type": TASK_STATE_CHANGE, source: EVENT_SOURCE, time: detail.at, region: "us-east-1", resources: [], detail: { ...detail, observedAfterTheFact: true } });
    expect((await handler(sqsEvent(...sent.filter((d) => d.mapIndex !== undefined).map((d) => sqsRecord(envelope(d)))))).batchItemFailures).toEqual([]);
    expect(childAlerts()).toHaveLength(2);
  });
});

