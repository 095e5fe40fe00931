import { describe, expect, it } from "vitest";
import { Failed, Mapped, type State, Pending, Retrying, Running, Scheduled, Success, TriggerFailed } from "../../lib/index";
import { buildTimeline, renderSummaryTable, renderTimeline, type TimelineTransition } from "../../lib/cli/index";

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

  describe("a mapped task", () => {
    const child = (i: number, attempt: number, oldState: State, newState: State, s: number): TimelineTransition => ({
      kind: "task", name: "download", mapIndex: i, attempt, oldState, newState, at: at(s),
    });
    const mapped = new Mapped("Mapped 2 children.", { result: [new Success("Task run succeeded."), new Failed("gone")] });
    const run: TimelineTransition[] = [
      child(1, 1, new Pending(), new Running("Starting task run."), 1),
      child(0, 1, new Pending(), new Running("Starting task run."), 1),
      child(0, 1, new Running(), new Success("Task run succeeded."), 2),
      child(1, 1, new Running(), new Failed("gone"), 3),
      { kind: "task", name: "download", attempt: 1, oldState: new Pending(), newState: mapped, at: at(4) },
    ];

    it("is one entry whose children are named t[i], in index order, and which starts with its first child", () => {
      const tl = buildTimeline(run);
      expect(tl.tasks.map((t) => t.name)).toEqual(["download"]);
      const [entry] = tl.tasks;
      expect(entry!.finalState).toBe(mapped);
      expect(entry!.durationMs).toBe(3000);
      expect(entry!.children!.map((c) => [c.name, c.mapIndex, c.finalState.name, c.attempts])).toEqual([
        ["download[0]", 0, "Success", 1],
        ["download[1]", 1, "Failed", 1],
      ]);
    });

    it("the summary table has one row for it and a line saying how its children ended", () => {
      expect(renderSummaryTable(buildTimeline(run)).split("\n")).toEqual([
        "TASK      STATE   ATTEMPTS  DURATION",
        "download  Mapped  -         3.00 s",
        "",
        "download: Mapped 2 children — 1 succeeded, 1 failed (download[1])",
      ]);
    });

    it("the full timeline lists each child by name before the parent's own transition", () => {
      const text = renderTimeline(run, { utc: true });
      expect(text.split("\n\n").map((block) => block.split("\n")[0])).toEqual(["task download[0]", "task download[1]", "task download"]);
      expect(text).toContain('task download[1]\n  12:00:01.000  #1 Pending → Running("Starting task run.")\n  12:00:03.000  #1 Running → Failed("gone")\n  → Failed("gone"), 1 attempt, 2.00 s');
      expect(text).toContain('  → Mapped("Mapped 2 children."), 3.00 s\n  download: Mapped 2 children — 1 succeeded, 1 failed (download[1])');
    });
  });
});
