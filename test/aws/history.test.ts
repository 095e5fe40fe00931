import { describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from "@aws-sdk/client-sfn";
import { compactHistoryEvent, executionTimeline, getExecutionHistory, infrastructureTransitions } from "../../lib/aws/history";
import { crashedTaskHistory, EXECUTION_ARN, historyPages } from "../fixtures/index";

const line = (e: { kind: string; object: string; attempt?: number; oldState: unknown; newState: unknown }) =>
  `${e.object}${e.attempt ? `#${e.attempt}` : ""}: ${String(e.oldState)} -> ${String(e.newState)}`;

describe("execution history", () => {
  it("reads every page by following nextToken", async () => {
    const sfn = mockClient(SFNClient);
    const pages = historyPages(crashedTaskHistory(), 7);
    sfn.on(GetExecutionHistoryCommand).callsFake((input) => {
      const index = input.nextToken ? Number(input.nextToken.split("-")[1]) / 7 : 0;
      return pages[index];
    });
    const events = await getExecutionHistory(new SFNClient({ region: "us-east-1" }), EXECUTION_ARN);
    expect(events.map((e) => e.id)).toEqual(crashedTaskHistory().map((e) => e.id));
    expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(3);
    sfn.restore();
  });

  it("turns a history with a retried, then timed-out task into the flow's and tasks' transitions in time order", () => {
    const timeline = executionTimeline(crashedTaskHistory(), { flowName: "orders" });
    expect(timeline.map(line)).toEqual([
      'orders: Scheduled() -> Running("Running flow.")',
      'load#1: Pending() -> Running("Starting task run.")',
      'notify#1: Pending() -> Running("Starting task run.")',
      'load#1: Running("Starting task run.") -> Failed("Task failed in AWS before it could report its state (Lambda.TooManyRequestsException: Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: 6f5a0c1e-8d1b-4c55-9a55-0d2f2a7e7f10; Proxy: null)).")',
      'load#1: Failed("Task failed in AWS before it could report its state (Lambda.TooManyRequestsException: Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: 6f5a0c1e-8d1b-4c55-9a55-0d2f2a7e7f10; Proxy: null)).") -> Retrying("Retrying Task (after attempt 1)")',
      'notify#1: Running("Starting task run.") -> Success("Task run succeeded.")',
      'load#2: Retrying("Retrying Task (after attempt 1)") -> Running("Starting task run.")',
      'load#2: Running("Starting task run.") -> TimedOut("Task timed out in AWS before it could report its state (Sandbox.Timedout: RequestId: 9c1e Error: Task timed out after 3.00 seconds).")',
      'orders: Running("Running flow.") -> Failed("Some reference tasks failed.")',
    ]);
  });

  it("gives the Retrying state the next attempt's schedule time as its startTime", () => {
    const retrying = executionTimeline(crashedTaskHistory()).find((e) => e.newState.isRetrying())!;
    expect(retrying.newState.toJSON()).toMatchObject({ runCount: 1, startTime: "2019-02-26T19:42:24.200Z" });
  });

  it("reports as reconstructed only the task transitions no flowhooks code ran for, including a failure a retry survived", () => {
    const found = infrastructureTransitions(crashedTaskHistory(), { taskNames: new Set(["load", "notify"]) });
    expect(found.map(line)).toEqual([
      expect.stringMatching(/^load#1: Running\("Starting task run."\) -> Failed\(/),
      expect.stringMatching(/^load#1: Failed\(.*\) -> Retrying\(/),
      expect.stringMatching(/^load#2: Running\("Starting task run."\) -> TimedOut\(/),
    ]);
  });

  it("does not reconstruct a failure that flowhooks' task code reported itself", () => {
    const events = crashedTaskHistory().map((e) =>
      e.taskFailedEventDetails ? { ...e, taskFailedEventDetails: { ...e.taskFailedEventDetails, error: "flowhooks.TaskFailed", cause: "Error during execution of task: Error: nope" } } : e,
    );
    expect(infrastructureTransitions(events)).toEqual([]);
    const failed = executionTimeline(events).filter((e) => e.object === "load" && e.newState.isFailed());
    expect(failed.map((e) => String(e.newState))).toContain('Failed("Error during execution of task: Error: nope")');
  });

  it("reads the Retrying state flowhooks' task code threw (flowhooks.Retrying) back from the error", () => {
    const events = crashedTaskHistory().map((e): HistoryEvent =>
      e.id === 10
        ? {
            ...e,
            taskFailedEventDetails: {
              resourceType: "lambda",
              resource: "invoke",
              error: "flowhooks.Retrying",
              cause: JSON.stringify({ errorType: "flowhooks.Retrying", errorMessage: 'Retrying("Retrying Task (after attempt 1 of 2)"); next attempt at 2019-02-26T19:42:24.000Z' }),
            },
          }
        : e,
    );
    const load = executionTimeline(events).filter((e) => e.object === "load");
    expect(load.slice(0, 3).map(line)).toEqual([
      'load#1: Pending() -> Running("Starting task run.")',
      'load#1: Running("Starting task run.") -> Retrying("Retrying Task (after attempt 1 of 2)")',
      'load#2: Retrying("Retrying Task (after attempt 1 of 2)") -> Running("Starting task run.")',
    ]);
    expect(load[1]!.reconstructed).toBe(false);
    expect(load[1]!.newState.toJSON()).toMatchObject({ runCount: 1, startTime: "2019-02-26T19:42:24.000Z" });
  });

  it("marks the task that was running when the execution was aborted as Cancelled, after the fact", () => {
    const events = crashedTaskHistory().slice(0, 9); // both tasks started, nothing finished
    events.push({ id: 10, previousEventId: 9, type: "ExecutionAborted", timestamp: new Date("2019-02-26T19:42:30Z"), executionAbortedEventDetails: {} });
    const found = infrastructureTransitions(events);
    expect(found.map(line)).toEqual([
      'load#1: Running("Starting task run.") -> Cancelled("Execution was aborted while the task ran.")',
      'notify#1: Running("Starting task run.") -> Cancelled("Execution was aborted while the task ran.")',
    ]);
  });
});

describe("flowhooks history", () => {
  it("prints a deployed execution's timeline, and JSON with --json", async () => {
    const { historyCommand } = await import("../../bin/commands/history");
    const sfn = mockClient(SFNClient);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: crashedTaskHistory() });
    let text = "";
    await historyCommand({ executionArn: EXECUTION_ARN, utc: true, out: { write: (t: string) => (text += t) } });
    expect(text).toContain("flow orders-flow");
    expect(text).toMatch(/19:42:22\.200\s+#1 Failed → Retrying\("Retrying Task \(after attempt 1\)"\) next attempt at 19:42:24\.200/);
    expect(text).toContain("no flowhooks code ran");
    let json = "";
    await historyCommand({ executionArn: EXECUTION_ARN, json: true, out: { write: (t: string) => (json += t) } });
    expect(JSON.parse(json).at(-1)).toMatchObject({ kind: "flow", object: "orders-flow", newState: { type: "Failed", message: "Some reference tasks failed." } });
    sfn.restore();
  });

  it("names a mapped task's children `download[i]` under their parent, each once", async () => {
    const { historyCommand } = await import("../../bin/commands/history");
    const { mapHistory } = await import("../fixtures/map-history");
    const sfn = mockClient(SFNClient);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: mapHistory({ children: [[{ ok: true }], [{ ok: true }]] }) });
    let text = "";
    await historyCommand({ executionArn: EXECUTION_ARN, utc: true, out: { write: (t: string) => (text += t) } });
    sfn.restore();
    expect(text).toMatch(/task download\[0\]\n/);
    expect(text).toMatch(/task download\[1\]\n/);
    expect(text).not.toContain("download[0][0]");
  });

  it("refuses something that is not an execution ARN with a message saying where to find one", async () => {
    const { historyCommand } = await import("../../bin/commands/history");
    await expect(historyCommand({ executionArn: "orders-123" })).rejects.toThrow(/not a Step Functions execution ARN/);
    const failing = (name: string) => ({ send: async () => Promise.reject(Object.assign(new Error("raw SDK text"), { name })) });
    await expect(historyCommand({ executionArn: EXECUTION_ARN, sfn: failing("CredentialsProviderError") })).rejects.toThrow(
      "No AWS credentials found: set AWS_PROFILE",
    );
    await expect(historyCommand({ executionArn: EXECUTION_ARN, sfn: failing("AccessDeniedException") })).rejects.toThrow(
      "allow states:GetExecutionHistory",
    );
  });
});

describe("history read for alerts (issue 14 item 14)", () => {
  it("keeps type, links, time, state name and a cut cause; drops inputs and outputs", () => {
    const big = "x".repeat(100_000);
    const kept = compactHistoryEvent({
      id: 5,
      previousEventId: 4,
      type: "TaskFailed",
      timestamp: new Date(0),
      taskFailedEventDetails: { error: "States.Timeout", cause: big },
      stateEnteredEventDetails: { name: "load", input: big },
    } as any);
    expect(kept.stateEnteredEventDetails).toEqual({ name: "load" });
    expect(kept.taskFailedEventDetails!.cause!.length).toBeLessThan(5_000);
    expect(JSON.stringify(kept).length).toBeLessThan(5_200);
  });
});
