/**
 * Timelines: a run's transitions grouped per flow and task, with attempts, durations and final
 * states. `run` prints the summary; `history` and `emulate` print the full timeline of a deployed
 * or emulated execution from the same transition records.
 */
import { childName } from "../core/map";
import type { State } from "../core/states";
import { formatDuration, formatTime, formatTransition, table } from "./format";
import { countChildren, isMappedState, mappedSummaryLine, mapStatesOf, type ChildCounts } from "./mapped";

/** One state change, from a local run (`TransitionEvent`), an execution history or an emulation. */
export interface TimelineTransition {
  kind: "task" | "flow";
  /** The task's or the flow's name. */
  name: string;
  /** The task's attempt (1-based); absent for flows. */
  attempt?: number;
  /** A mapped task's child: its index (the child is named `name[mapIndex]`); absent otherwise. */
  mapIndex?: number;
  /** The loop iteration (`signals.LOOP`) when not the first; its attempts count from 1 again. @default - the first */
  loop?: number;
  oldState: State;
  newState: State;
  at: Date;
}

/** What happened to one task (or the flow) over a run. */
export interface TimelineEntry {
  kind: "task" | "flow";
  /** The flow's or task's name; a mapped task's child is named `task[i]`. */
  name: string;
  /** A mapped task's child: its index. */
  mapIndex?: number;
  /**
   * A mapped task: its children's entries, in index order (not in `Timeline.tasks`). The parent's
   * own transition (`Pending → Mapped`) comes after them; its start is its first child's.
   */
  children?: TimelineEntry[];
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

/**
 * Groups transitions per task; tasks are listed in `order` first, then in order of first
 * appearance. A mapped task's children (transitions with `mapIndex`) become its entry's `children`.
 */
export function buildTimeline(transitions: readonly TimelineTransition[], order: readonly string[] = []): Timeline {
  const sorted = [...transitions].sort((a, b) => a.at.getTime() - b.at.getTime());
  const groups = new Map<string, TimelineTransition[]>();
  const children = new Map<string, Map<number, TimelineTransition[]>>();
  const key = (t: { kind: string; name: string }) => `${t.kind}:${t.name}`;
  for (const name of order) groups.set(`task:${name}`, []);
  for (const t of sorted) {
    if (t.mapIndex !== undefined) {
      let byIndex = children.get(t.name);
      if (!byIndex) children.set(t.name, (byIndex = new Map()));
      const list = byIndex.get(t.mapIndex);
      if (list) list.push(t);
      else byIndex.set(t.mapIndex, [t]);
      // The parent's place in the order is where its first child appeared.
      if (!groups.has(key(t))) groups.set(key(t), []);
      continue;
    }
    const list = groups.get(key(t));
    if (list) list.push(t);
    else groups.set(key(t), [t]);
  }
  const timeline: Timeline = { tasks: [] };
  for (const list of groups.values()) {
    const first = list[0];
    const kids = first?.kind === "flow" ? undefined : children.get(first?.name ?? "");
    if (!first) {
      // A mapped task whose children ran but whose own transition is not (yet) in: its children stand alone.
      continue;
    }
    const entry = entryOf(list, first.name);
    if (kids) {
      entry.children = [...kids.entries()].sort(([a], [b]) => a - b).map(([i, l]) => entryOf(l, childName(first.name, i), i));
      children.delete(first.name);
      let start = entry.startedAt.getTime();
      for (const c of entry.children) start = Math.min(start, c.startedAt.getTime());
      entry.startedAt = new Date(start);
      entry.durationMs = entry.endedAt.getTime() - start;
    }
    if (first.kind === "flow") timeline.flow ??= entry;
    else timeline.tasks.push(entry);
  }
  for (const [name, byIndex] of children) {
    for (const [i, list] of [...byIndex.entries()].sort(([a], [b]) => a - b)) timeline.tasks.push(entryOf(list, childName(name, i), i));
  }
  return timeline;
}

function entryOf(list: TimelineTransition[], name: string, mapIndex?: number): TimelineEntry {
  const first = list[0]!;
  const last = list[list.length - 1]!;
  let attempts = 0;
  for (const t of list) if (t.newState.isRunning() && (t.attempt ?? 0) > attempts) attempts = t.attempt ?? 0;
  const entry: TimelineEntry = {
    kind: first.kind,
    name,
    transitions: list,
    states: [first.oldState, ...list.map((t) => t.newState)],
    attempts,
    startedAt: first.at,
    endedAt: last.at,
    durationMs: last.at.getTime() - first.at.getTime(),
    finalState: last.newState,
  };
  if (mapIndex !== undefined) entry.mapIndex = mapIndex;
  return entry;
}

/**
 * How a mapped task's children ended, from its `Mapped` state (children named `t[i]`; the retried
 * ones from the children's transitions); undefined for an entry that is not a mapped parent's.
 */
export function childCounts(entry: TimelineEntry): ChildCounts | undefined {
  if (!isMappedState(entry.finalState)) return undefined;
  const attempts = new Map<number, number>();
  for (const child of entry.children ?? []) attempts.set(child.mapIndex!, child.attempts);
  return countChildren(entry.name, mapStatesOf(entry.finalState), (i) => attempts.get(i) ?? 0);
}

/**
 * One row per task: name, final state, attempts, duration (a mapped task: one row, its attempts
 * `-`), then one line per mapped task saying how its children ended.
 */
export function renderSummaryTable(timeline: Timeline): string {
  const rows = [["TASK", "STATE", "ATTEMPTS", "DURATION"]];
  const mapped: string[] = [];
  for (const t of timeline.tasks) {
    const counts = childCounts(t);
    rows.push([t.name, t.finalState.name, counts ? "-" : String(t.attempts), formatDuration(t.durationMs)]);
    if (counts) mapped.push(mappedSummaryLine(t.name, counts));
  }
  const lines = [table(rows)];
  if (mapped.length > 0) lines.push("", ...mapped);
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
  const entries = (timeline.flow ? [timeline.flow] : []).concat(...timeline.tasks.map((t) => [...(t.children ?? []), t]));
  for (const entry of entries) {
    const lines = [`${entry.kind} ${entry.name}`];
    for (const t of entry.transitions) {
      const attempt = `${t.loop === undefined ? "" : `loop ${t.loop} `}${t.attempt === undefined ? "" : `#${t.attempt} `}`;
      lines.push(`  ${formatTime(t.at, options.utc)}  ${attempt}${formatTransition(t.oldState, t.newState, options.utc)}`);
    }
    const counts = childCounts(entry);
    const attempts = entry.kind === "task" && !counts ? `, ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}` : "";
    lines.push(`  → ${String(entry.finalState)}${attempts}, ${formatDuration(entry.durationMs)}`);
    if (counts) lines.push(`  ${mappedSummaryLine(entry.name, counts)}`);
    blocks.push(lines.join("\n"));
  }
  return blocks.join("\n\n");
}
