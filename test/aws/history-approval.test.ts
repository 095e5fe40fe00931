/**
 * An approval wait in an execution history (lib/aws/history.ts): its events are no attempt of the
 * task; the task shows Pending → Paused, then the answer; and an approval invocation that died
 * where no flowhooks code could report it is reconstructed as the task's failure.
 */
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { executionTimeline, infrastructureTransitions } from "../../lib/aws/history";

const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const ok = (state: Record<string, unknown>) => JSON.stringify({ Payload: { state, failed: false, skipped: false, failedLabel: "" } });

/** A history event as written here: Step Functions' id and links are added by `history`. */
type Ev = Omit<HistoryEvent, "id" | "taskFailedEventDetails"> & { taskFailedEventDetails?: { error: string; cause: string } };

/** ExecutionStarted, then `t.Approval` and (optionally) the task state `t`, linked by previousEventId as Step Functions links them. */
function history(approval: Ev[], task: Ev[] = []): HistoryEvent[] {
  const events: HistoryEvent[] = [{ id: 1, type: "ExecutionStarted", timestamp: T(0) }, { id: 2, previousEventId: 1, type: "TaskStateEntered", timestamp: T(1), stateEnteredEventDetails: { name: "deploy.Approval" } }];
  for (const e of [...approval, ...(task.length ? [{ type: "TaskStateEntered", timestamp: T(20), stateEnteredEventDetails: { name: "deploy" } } as Ev] : []), ...task]) {
    const id = events.length + 1;
    events.push({ ...e, id, previousEventId: id - 1 } as HistoryEvent);
  }
  return events;
}
const line = (t: { oldState: { name: string }; newState: unknown; reconstructed: boolean }) => `${t.oldState.name} -> ${String(t.newState)}${t.reconstructed ? " (reconstructed)" : ""}`;

describe("an approval wait in the history", () => {
  it("approved: Pending → Paused at the wait, then Resume → Running → Success from the task state; the wait's own events are no attempt", () => {
    const events = history(
      [{ type: "TaskScheduled", timestamp: T(1) }, { type: "TaskStarted", timestamp: T(2) }, { type: "TaskSucceeded", timestamp: T(15), taskSucceededEventDetails: { output: '{"approved":true}' } as never }],
      [{ type: "TaskScheduled", timestamp: T(20) }, { type: "TaskStarted", timestamp: T(21) }, { type: "TaskSucceeded", timestamp: T(22), taskSucceededEventDetails: { output: ok({ type: "Success", message: "Task run succeeded." }) } as never }],
    );
    const deploy = executionTimeline(events).filter((t) => t.task === "deploy");
    expect(deploy.map(line)).toEqual([
      'Pending -> Paused("Waiting for approval.")',
      'Paused -> Resume("Approval given to resume.")',
      'Resume -> Running("Starting task run.")',
      'Running -> Success("Task run succeeded.")',
    ]);
    expect(infrastructureTransitions(events)).toEqual([]);
  });

  it("a rejection (the wait's TaskFailed flowhooks.Rejected) is no crash: Paused → Cancelled from the task state", () => {
    const events = history(
      [{ type: "TaskScheduled", timestamp: T(1) }, { type: "TaskFailed", timestamp: T(9), taskFailedEventDetails: { error: "flowhooks.Rejected", cause: "freeze" } }],
      [{ type: "TaskScheduled", timestamp: T(20) }, { type: "TaskSucceeded", timestamp: T(21), taskSucceededEventDetails: { output: ok({ type: "Cancelled", message: "Rejected: freeze" }) } as never }],
    );
    expect(executionTimeline(events).filter((t) => t.task === "deploy").map(line)).toEqual(['Pending -> Paused("Waiting for approval.")', 'Paused -> Cancelled("Rejected: freeze")']);
    expect(infrastructureTransitions(events)).toEqual([]);
  });

  it("an approval invocation that died (Lambda timeout) is reconstructed as the task's TimedOut, for the handler to alert", () => {
    const events = history([
      { type: "TaskScheduled", timestamp: T(1) },
      { type: "TaskStarted", timestamp: T(2) },
      { type: "TaskFailed", timestamp: T(5), taskFailedEventDetails: { error: "Sandbox.Timedout", cause: "Task timed out after 3.00 seconds" } },
    ]);
    const found = infrastructureTransitions(events);
    expect(found.map((t) => `${t.task} ${line(t)}`)).toEqual([expect.stringMatching(/^deploy Pending -> TimedOut\(.*Sandbox\.Timedout.*\) \(reconstructed\)$/)]);
  });

  it("a transient failure the wait's retry survived is not reconstructed", () => {
    const events = history([
      { type: "TaskScheduled", timestamp: T(1) },
      { type: "TaskFailed", timestamp: T(2), taskFailedEventDetails: { error: "Lambda.TooManyRequestsException", cause: "Rate exceeded" } },
      { type: "TaskScheduled", timestamp: T(4) },
      { type: "TaskStarted", timestamp: T(5) },
    ]);
    expect(infrastructureTransitions(events)).toEqual([]);
    expect(executionTimeline(events).filter((t) => t.task === "deploy").map(line)).toEqual(['Pending -> Paused("Waiting for approval.")']);
  });
});
