import { describe, expect, it } from "vitest";
import { Failed, Pending, Retrying, Running, Scheduled, Success, TriggerFailed } from "../../lib/index";
import { buildTimeline, renderTimeline, type TimelineTransition } from "../../lib/cli/index";

const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 12, 0, s));
const transitions: TimelineTransition[] = [
  { kind: "flow", name: "orders", oldState: new Scheduled(), newState: new Running("Running flow."), at: at(0) },
  { kind: "task", name: "load", attempt: 1, oldState: new Pending(), newState: new Running("Starting task run."), at: at(0) },
  { kind: "task", name: "load", attempt: 1, oldState: new Running(), newState: new Failed("boom"), at: at(1) },
  {
    kind: "task", name: "load", attempt: 1, oldState: new Failed("boom"),
    newState: new Retrying("Retrying Task (after attempt 1 of 2)", { runCount: 1, startTime: at(3) }), at: at(1),
  },
  { kind: "task", name: "load", attempt: 2, oldState: new Retrying(), newState: new Running("Starting task run."), at: at(3) },
  { kind: "task", name: "load", attempt: 2, oldState: new Running(), newState: new Failed("boom again"), at: at(4) },
  { kind: "task", name: "report", attempt: 1, oldState: new Pending(), newState: new TriggerFailed("upstream failed"), at: at(4) },
  { kind: "flow", name: "orders", oldState: new Running(), newState: new Failed("Some reference tasks failed."), at: at(5) },
];

describe("timeline", () => {
  it("groups transitions per task with attempts, duration and final state, interleaved with other tasks' and sorted by time", () => {
    const timeline = buildTimeline([transitions[6]!, ...transitions.slice(0, 6), transitions[7]!]);
    expect(timeline.flow).toMatchObject({ name: "orders", durationMs: 5000, attempts: 0 });
    expect(timeline.flow!.finalState).toBeInstanceOf(Failed);
    expect(timeline.tasks.map((t) => [t.name, t.attempts, t.durationMs, t.finalState.name])).toEqual([
      ["load", 2, 4000, "Failed"],
      ["report", 0, 0, "TriggerFailed"],
    ]);
    expect(timeline.tasks[0]!.states.map((s) => s.name)).toEqual(["Pending", "Running", "Failed", "Retrying", "Running", "Failed"]);
  });

  it("prints each task's states in order with attempts, the retry time, durations and the final state", () => {
    expect(renderTimeline(transitions, { utc: true })).toBe(
      [
        "flow orders",
        '  12:00:00.000  Scheduled → Running("Running flow.")',
        '  12:00:05.000  Running → Failed("Some reference tasks failed.")',
        '  → Failed("Some reference tasks failed."), 5.00 s',
        "",
        "task load",
        '  12:00:00.000  #1 Pending → Running("Starting task run.")',
        '  12:00:01.000  #1 Running → Failed("boom")',
        '  12:00:01.000  #1 Failed → Retrying("Retrying Task (after attempt 1 of 2)") next attempt at 12:00:03.000',
        '  12:00:03.000  #2 Retrying → Running("Starting task run.")',
        '  12:00:04.000  #2 Running → Failed("boom again")',
        '  → Failed("boom again"), 2 attempts, 4.00 s',
        "",
        "task report",
        '  12:00:04.000  #1 Pending → TriggerFailed("upstream failed")',
        '  → TriggerFailed("upstream failed"), 0 attempts, 0 ms',
      ].join("\n"),
    );
  });

  it("lists tasks in the given order, so a summary follows the flow's graph rather than finishing order", () => {
    const tl = buildTimeline(transitions, ["report", "load", "never-ran"]);
    expect(tl.tasks.map((t) => t.name)).toEqual(["report", "load"]);
  });

  it("a task that succeeds on the first attempt counts one attempt", () => {
    const tl = buildTimeline([
      { kind: "task", name: "a", attempt: 1, oldState: new Pending(), newState: new Running(), at: at(0) },
      { kind: "task", name: "a", attempt: 1, oldState: new Running(), newState: new Success(), at: at(2) },
    ]);
    expect(tl.tasks[0]).toMatchObject({ attempts: 1, durationMs: 2000 });
  });
});
