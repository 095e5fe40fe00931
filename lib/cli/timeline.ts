/**
 * Timelines: a run's transitions grouped per flow and task, with attempts, durations and final
 * states. `run` prints the summary; `history` and `emulate` print the full timeline of a deployed
 * or emulated execution from the same transition records.
 */
import type { State } from "../core/states";
import { formatDuration, formatTime, formatTransition, table } from "./format";

/** One state change, from a local run (`TransitionEvent`), an execution history or an emulation. */
export interface TimelineTransition {
  kind: "task" | "flow";
  /** The task's or the flow's name. */
  name: string;
  /** The task's attempt (1-based); absent for flows. */
  attempt?: number;
  /** A mapped task's child: its index (the child is named `name[mapIndex]`); absent otherwise. */
  mapIndex?: number;
  oldState: State;
  newState: State;
  at: Date;
}

/** What happened to one task (or the flow) over a run. */
export interface TimelineEntry {
  kind: "task" | "flow";
  name: string;
  /** The transitions of this task, in order. */
  transitions: TimelineTransition[];
  /** The states it went through, in order, starting with the first old state. */
  states: State[];
  /** The highest attempt seen (0 for a flow, or a task that never ran). */
  attempts: number;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  finalState: State;
}

export interface Timeline {
  /** The flow's entry, when the transitions include the flow's own. */
  flow?: TimelineEntry;
  /** One entry per task, in order of first appearance (or `order` when given). */
  tasks: TimelineEntry[];
}

export interface TimelineOptions {
  /** Print times in UTC rather than local time. @default false */
  utc?: boolean;
}

/** Groups transitions per task; tasks are listed in `order` first, then in order of first appearance. */
export function buildTimeline(transitions: readonly TimelineTransition[], order: readonly string[] = []): Timeline {
  const sorted = [...transitions].sort((a, b) => a.at.getTime() - b.at.getTime());
  const groups = new Map<string, TimelineTransition[]>();
  const key = (t: { kind: string; name: string }) => `${t.kind}:${t.name}`;
  for (const name of order) groups.set(`task:${name}`, []);
  for (const t of sorted) {
    const list = groups.get(key(t));
    if (list) list.push(t);
    else groups.set(key(t), [t]);
  }
  const timeline: Timeline = { tasks: [] };
  for (const list of groups.values()) {
    if (list.length === 0) continue;
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const entry: TimelineEntry = {
      kind: first.kind,
      name: first.name,
      transitions: list,
      states: [first.oldState, ...list.map((t) => t.newState)],
      attempts: Math.max(0, ...list.map((t) => (t.newState.isRunning() ? (t.attempt ?? 0) : 0))),
      startedAt: first.at,
      endedAt: last.at,
      durationMs: last.at.getTime() - first.at.getTime(),
      finalState: last.newState,
    };
    if (first.kind === "flow") timeline.flow ??= entry;
    else timeline.tasks.push(entry);
  }
  return timeline;
}

/** One row per task: name, final state, attempts, duration. */
export function renderSummaryTable(timeline: Timeline): string {
  const rows = [["TASK", "STATE", "ATTEMPTS", "DURATION"]];
  for (const t of timeline.tasks) {
    rows.push([t.name, t.finalState.name, String(t.attempts), formatDuration(t.durationMs)]);
  }
  const lines = [table(rows)];
  if (timeline.flow) {
    lines.push("", `Flow ${timeline.flow.name}: ${String(timeline.flow.finalState)} in ${formatDuration(timeline.flow.durationMs)}`);
  }
  return lines.join("\n");
}

/**
 * The full timeline: the flow, then each task with its transitions (time, attempt, old → new)
 * and a closing line with its final state, attempts and duration.
 */
export function renderTimeline(transitions: readonly TimelineTransition[], options: TimelineOptions = {}): string {
  const timeline = buildTimeline(transitions);
  const blocks: string[] = [];
  for (const entry of [...(timeline.flow ? [timeline.flow] : []), ...timeline.tasks]) {
    const lines = [`${entry.kind} ${entry.name}`];
    for (const t of entry.transitions) {
      const attempt = t.attempt === undefined ? "" : `#${t.attempt} `;
      lines.push(`  ${formatTime(t.at, options.utc)}  ${attempt}${formatTransition(t.oldState, t.newState, options.utc)}`);
    }
    const attempts = entry.kind === "task" ? `, ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}` : "";
    lines.push(`  → ${String(entry.finalState)}${attempts}, ${formatDuration(entry.durationMs)}`);
    blocks.push(lines.join("\n"));
  }
  return blocks.join("\n\n");
}
