import { describe, expect, it } from "vitest";
import { executionTimeline } from "../../lib/aws/history";
import { mapHistory, retryingCause, MAP_STARTED } from "../fixtures/map-history";

const line = (e: { object: string; attempt?: number; oldState: unknown; newState: unknown; reconstructed: boolean }) =>
  `${e.object}#${e.attempt}: ${String(e.oldState)} -> ${String(e.newState)}${e.reconstructed ? " (reconstructed)" : ""}`;

const THROTTLED = { error: "Lambda.TooManyRequestsException", cause: "Rate Exceeded." };
const LAMBDA_TIMEOUT = { error: "Sandbox.Timedout", cause: JSON.stringify({ errorMessage: "RequestId: 9c1e Error: Task timed out after 3.00 seconds" }) };

describe("execution history of an inline Map", () => {
  const history = mapHistory({
    children: [
      [{ ok: true }],
      [THROTTLED, LAMBDA_TIMEOUT],
      [{ error: "flowhooks.Retrying", cause: retryingCause(new Date(MAP_STARTED.getTime() + 11_000)) }, { ok: true }],
    ],
  });

  it("names each child's transitions `download[i]` from the iteration it ran in, its iterations interleaved", () => {
    const children = executionTimeline(history, { flowName: "orders", taskNames: new Set(["download"]) }).filter((e) => e.mapIndex !== undefined);
    expect(children.filter((e) => e.object === "download[1]").map(line)).toEqual([
      'download[1]#1: Pending() -> Running("Starting task run.")',
      'download[1]#1: Running("Starting task run.") -> Failed("Task failed in AWS before it could report its state (Lambda.TooManyRequestsException: Rate Exceeded.).") (reconstructed)',
      'download[1]#1: Failed("Task failed in AWS before it could report its state (Lambda.TooManyRequestsException: Rate Exceeded.).") -> Retrying("Retrying Task (after attempt 1)") (reconstructed)',
      'download[1]#2: Retrying("Retrying Task (after attempt 1)") -> Running("Starting task run.")',
      'download[1]#2: Running("Starting task run.") -> TimedOut("Task timed out in AWS before it could report its state (Sandbox.Timedout: RequestId: 9c1e Error: Task timed out after 3.00 seconds).") (reconstructed)',
    ]);
    expect(children.filter((e) => e.object === "download[2]").map(line)).toEqual([
      'download[2]#1: Pending() -> Running("Starting task run.")',
      'download[2]#1: Running("Starting task run.") -> Retrying("Retrying Task (after attempt 1 of 2)")',
      'download[2]#2: Retrying("Retrying Task (after attempt 1 of 2)") -> Running("Starting task run.")',
      'download[2]#2: Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    expect(children.every((e) => e.task === "download" && e.object === `download[${e.mapIndex}]`)).toBe(true);
    // Each child's run is entered when its iteration entered download.Child.
    expect(children.find((e) => e.object === "download[2]")!.enteredAt).toEqual(new Date(MAP_STARTED.getTime() + 2));
  });

  it("the prepare and collect steps are the parent `download` (no index); Choice and Pass states are no tasks", () => {
    // This history's prepare step carries no output (so it reads as a plain task run); the collect step ends the parent once.
    const parent = executionTimeline(history, { taskNames: new Set(["download"]) }).filter((e) => e.kind === "task" && e.mapIndex === undefined);
    expect(parent.map((e) => `${e.object}#${e.attempt} ${e.newState.name}`)).toEqual(["download#1 Running", "download#1 Success", "download#1 Success"]);
  });

  it("without the flow's task names (`flowhooks history`), children are still named by index", () => {
    const names = new Set(executionTimeline(history).filter((e) => e.kind === "task").map((e) => e.object));
    expect([...names].sort()).toEqual(["download", "download[0]", "download[1]", "download[2]"]);
  });
});

describe("a mapped parent in `flowhooks history`", () => {
  /** mapHistory's events with the prepare and collect steps' Lambda outputs as Step Functions records them. */
  const withOutputs = (prepare: object, collect: object | undefined) => {
    const events = mapHistory({ children: [[{ ok: true }], [{ ok: true }]] }).map((e) => ({ ...e }));
    const succeededAfter = (stateName: string) => {
      const entered = events.findIndex((e) => e.type === "TaskStateEntered" && e.stateEnteredEventDetails?.name === stateName);
      return events.findIndex((e, i) => i > entered && e.type === "TaskSucceeded");
    };
    events[succeededAfter("download")]!.taskSucceededEventDetails = { resourceType: "lambda", resource: "invoke", output: JSON.stringify({ StatusCode: 200, Payload: prepare }) };
    if (collect) events[succeededAfter("download.Collect")]!.taskSucceededEventDetails = { resourceType: "lambda", resource: "invoke", output: JSON.stringify({ StatusCode: 200, Payload: collect }) };
    return events;
  };

  it("goes Pending → Mapped once, at the collect step, as in flow.run(); the prepare and collect invocations are not its attempts", () => {
    const mapped = { type: "Mapped", message: "Mapped 2 children.", result: [{ type: "Success", result: 1 }, { type: "Success", result: 2 }] };
    const history = withOutputs({ count: 2, distributed: false, items: [], itemsKey: null, verdict: null }, { state: mapped, failed: false, skipped: false, failedLabel: "" });
    const parent = executionTimeline(history, { flowName: "orders" }).filter((e) => e.kind === "task" && e.mapIndex === undefined);
    expect(parent.map(line)).toEqual(['download#1: Pending() -> Mapped("Mapped 2 children.")']);
  });

  it("a prepare step's verdict (the list it maps over failed) is the parent's one transition", () => {
    const verdict = { state: { type: "TriggerFailed", message: "Task `download` cannot map over `files`, which ended Failed" }, failed: true, skipped: false, failedLabel: " `download`" };
    const history = withOutputs({ count: 0, distributed: false, items: null, itemsKey: null, verdict }, undefined);
    const parent = executionTimeline(history, { flowName: "orders" }).filter((e) => e.kind === "task" && e.mapIndex === undefined && e.object === "download");
    expect(parent.map(line)[0]).toBe('download#1: Pending() -> TriggerFailed("Task `download` cannot map over `files`, which ended Failed")');
  });
});
