/**
 * The run report's model: what `--report run.html` shows, built from the same transitions the
 * timeline and `--json` summary use (`buildTimeline`). Pure and deterministic: the HTML renderer
 * only lays it out, and the drift test hashes it. Every text a user's code or an error wrote is
 * masked here (`maskSecrets`), once, so no renderer can forget.
 */
import { maskSecrets } from "../core/mask";
import { childName } from "../core/map";
import type { State } from "../core/states";
import { buildTimeline, childCounts, type Timeline, type TimelineEntry, type TimelineTransition } from "../cli/timeline";
import type { ChildCounts } from "../cli/mapped";

/** How a report names where its run came from. */
export type ReportSource = "run" | "emulate" | "history";

/** An alert a channel sent during the run (`run` hears them through `flow.run({ onAlert })`, the emulator records them; a history cannot know them). */
export interface ReportAlertInput {
  channel: string;
  /** `task load`, `flow orders`. */
  subject: string;
  /** The state the alert announced. */
  state: State;
  at: Date;
}

export interface RunReportInput {
  source: ReportSource;
  /** The flow's name. */
  flow: string;
  transitions: readonly TimelineTransition[];
  /** Alerts sent; undefined when the source cannot know them (say why in `alertsNote`). @default - not known */
  alerts?: readonly ReportAlertInput[];
  /** Why the alert list is empty or missing. @default - none */
  alertsNote?: string;
  /** The flow's DAG as SVG (lib/run-report/graph.ts), or undefined with `graphNote` saying why. @default - none */
  graphSvg?: string;
  /** Why there is no DAG. @default - none */
  graphNote?: string;
  /** A deployed execution: the Step Functions console page each task links to. @default - no links */
  consoleUrl?: string;
  /** The task order of the flow's graph, so rows follow the DAG. @default - order of first appearance */
  order?: readonly string[];
}

/** Visible state family: decides colour AND the icon/label beside it. */
export type StateFamily = "succeeded" | "failed" | "skipped" | "retrying" | "running" | "mapped" | "pending" | "cancelled";

export interface Segment {
  kind: "attempt" | "wait";
  /** Milliseconds from the run's start. */
  startMs: number;
  endMs: number;
  /** The state the segment ended in (attempt) or the Retrying state (wait). */
  state: string;
  family: StateFamily;
  attempt?: number;
}

export interface GanttRow {
  kind: "task" | "map" | "group";
  name: string;
  family: StateFamily;
  finalState: string;
  segments: Segment[];
  /** Handler-rewritten transitions seen on this row (`Running → Success` where the runner proposes no such state). */
  rewritten: number;
  attempts: number;
  durationMs: number;
  /** A mapped task's children, or a group's members. */
  children?: ChildCounts;
  /** A group or map: members per family, and a histogram of their durations (10 bins). */
  families?: Partial<Record<StateFamily, number>>;
  histogram?: { maxMs: number; bins: number[] };
}

export interface DetailTransition {
  at: string;
  atMs: number;
  attempt?: number;
  from: string;
  to: string;
  toFamily: StateFamily;
  message?: string;
  rewritten: boolean;
}

export interface TaskDetails {
  name: string;
  family: StateFamily;
  finalState: string;
  transitions: DetailTransition[];
  /** Failed / retried children of a map, named (at most `DETAIL_CHILDREN`). */
  notableChildren?: string[];
}

export interface ReportModel {
  source: ReportSource;
  flow: string;
  flowState?: string;
  flowFamily?: StateFamily;
  flowMessage?: string;
  startedAt: string;
  durationMs: number;
  flowTransitions: DetailTransition[];
  rows: GanttRow[];
  details: TaskDetails[];
  /** Tasks whose details were left out (beyond `DETAIL_TASKS`). */
  detailsOmitted: number;
  taskCount: number;
  alerts?: { channel: string; subject: string; state: string; family: StateFamily; at: string }[];
  alertsNote?: string;
  graphSvg?: string;
  graphNote?: string;
  consoleUrl?: string;
  /** Per task name: its family and marks, for the DAG's legend and tests. */
  taskStates: Record<string, { family: StateFamily; state: string; marks: string[] }>;
}

/** Beyond this many task rows the Gantt groups the rest per final state. */
export const GANTT_ROWS = 200;
/** At most this many tasks get a details section (failed and retried first). */
export const DETAIL_TASKS = 300;
/** At most this many failed or retried children of a map are named. */
export const DETAIL_CHILDREN = 50;

export function stateFamily(state: State): StateFamily {
  if (state.name === "Mapped") return "mapped";
  if (state.isRetrying()) return "retrying";
  if (state.isRunning()) return "running";
  if (state.isSkipped()) return "skipped";
  if (state.isFailed()) return "failed";
  if (state.isSuccessful()) return "succeeded";
  if (state.isCancelled()) return "cancelled";
  if (state.isFinished()) return "failed";
  return "pending";
}

/**
 * True when the runner never proposes `to` after `from`, so a state handler must have replaced
 * it (Running → Running, Retrying → Success, Pending → Success, …), or when the chain itself failed.
 */
export function isRewritten(from: State, to: State): boolean {
  if (to.isFailed() && to.message?.startsWith("Unexpected error while calling state handlers")) return true;
  if (from.isRunning()) return !(to.isFinished() || to.isRetrying());
  if (from.isRetrying()) return !to.isRunning();
  if (from.isPending()) return !(to.isRunning() || to.isSkipped() || to.name === "TriggerFailed" || to.name === "Mapped" || to.isFailed());
  return false;
}

/** The report's model from a run's transitions, alerts and DAG. */
export function buildReportModel(input: RunReportInput): ReportModel {
  const timeline = buildTimeline(input.transitions, input.order);
  const entries = [...(timeline.flow ? [timeline.flow] : []), ...timeline.tasks];
  const startMs = Math.min(...entries.map((e) => e.startedAt.getTime()), Number.POSITIVE_INFINITY);
  const start = Number.isFinite(startMs) ? startMs : 0;
  const endMs = Math.max(...entries.map((e) => e.endedAt.getTime()), start);
  const flow = timeline.flow;
  return {
    source: input.source,
    flow: input.flow,
    ...(flow ? { flowState: flow.finalState.name, flowFamily: stateFamily(flow.finalState), flowMessage: text(flow.finalState.message) } : {}),
    startedAt: new Date(start).toISOString(),
    durationMs: endMs - start,
    flowTransitions: flow ? flow.transitions.map((t) => detailTransition(t, start)) : [],
    rows: ganttRows(timeline, start),
    ...details(timeline, start),
    taskCount: timeline.tasks.length,
    ...(input.alerts
      ? {
          alerts: input.alerts.map((a) => ({
            channel: a.channel,
            subject: maskSecrets(a.subject),
            state: maskSecrets(String(a.state)),
            family: stateFamily(a.state),
            at: a.at.toISOString(),
          })),
        }
      : {}),
    ...(input.alertsNote ? { alertsNote: input.alertsNote } : {}),
    ...(input.graphSvg ? { graphSvg: input.graphSvg } : {}),
    ...(input.graphNote ? { graphNote: input.graphNote } : {}),
    ...(input.consoleUrl ? { consoleUrl: input.consoleUrl } : {}),
    taskStates: Object.fromEntries(timeline.tasks.map((t) => [t.name, { family: stateFamily(t.finalState), state: t.finalState.name, marks: marksOf(t) }])),
  };
}

function text(message: string | undefined): string | undefined {
  return message === undefined ? undefined : maskSecrets(message);
}

/** What the DAG notes beside a task's state: retries, skips, trigger failures, map counts, rewrites. */
export function marksOf(entry: TimelineEntry): string[] {
  const marks: string[] = [];
  const counts = childCounts(entry);
  if (counts) {
    marks.push(`map: ${counts.succeeded} succeeded / ${counts.failed} failed / ${counts.retriedChildren.length} retried`);
    if (counts.skipped > 0) marks.push(`${counts.skipped} skipped`);
  } else if (entry.attempts > 1) marks.push(`retried: ${entry.attempts} attempts`);
  if (entry.finalState.name === "TriggerFailed") marks.push("trigger failed");
  if (entry.finalState.isSkipped()) marks.push("skipped");
  if (entry.transitions.some((t) => isRewritten(t.oldState, t.newState))) marks.push("state set by a state handler");
  return marks;
}

function detailTransition(t: TimelineTransition, start: number): DetailTransition {
  const out: DetailTransition = {
    at: t.at.toISOString(),
    atMs: t.at.getTime() - start,
    from: t.oldState.name,
    to: t.newState.name,
    toFamily: stateFamily(t.newState),
    rewritten: isRewritten(t.oldState, t.newState),
  };
  if (t.attempt !== undefined) out.attempt = t.attempt;
  const message = text(t.newState.message);
  if (message !== undefined) out.message = message;
  return out;
}

/** An entry's bars: each attempt from Running to how it ended, and the waits between attempts. */
export function segmentsOf(entry: TimelineEntry, start: number): Segment[] {
  const segments: Segment[] = [];
  let open: { kind: "attempt" | "wait"; at: number; attempt?: number } | undefined;
  const close = (at: number, state: State) => {
    if (!open) return;
    segments.push({ kind: open.kind, startMs: open.at - start, endMs: at - start, state: state.name, family: stateFamily(state), ...(open.attempt ? { attempt: open.attempt } : {}) });
    open = undefined;
  };
  for (const t of entry.transitions) {
    const at = t.at.getTime();
    if (open?.kind === "wait") close(at, t.oldState);
    if (t.newState.isRunning()) {
      close(at, t.newState);
      open = { kind: "attempt", at, attempt: t.attempt };
    } else if (t.newState.isRetrying()) {
      close(at, t.newState);
      open = { kind: "wait", at };
    } else if (t.newState.isFinished()) {
      if (open) close(at, t.newState);
      else segments.push({ kind: "attempt", startMs: at - start, endMs: at - start, state: t.newState.name, family: stateFamily(t.newState) });
    }
  }
  if (open) close(entry.endedAt.getTime(), entry.finalState);
  return segments;
}

function histogram(durations: number[]): { maxMs: number; bins: number[] } {
  const maxMs = Math.max(0, ...durations);
  const bins = new Array<number>(10).fill(0);
  for (const d of durations) bins[maxMs === 0 ? 0 : Math.min(9, Math.floor((d / maxMs) * 10))]!++;
  return { maxMs, bins };
}

function familyCounts(entries: readonly TimelineEntry[]): Partial<Record<StateFamily, number>> {
  const out: Partial<Record<StateFamily, number>> = {};
  for (const e of entries) {
    const f = stateFamily(e.finalState);
    out[f] = (out[f] ?? 0) + 1;
  }
  return out;
}

function taskRow(entry: TimelineEntry, start: number): GanttRow {
  const counts = childCounts(entry);
  const row: GanttRow = {
    kind: counts ? "map" : "task",
    name: maskSecrets(entry.name),
    family: stateFamily(entry.finalState),
    finalState: entry.finalState.name,
    segments: counts ? [{ kind: "attempt", startMs: entry.startedAt.getTime() - start, endMs: entry.endedAt.getTime() - start, state: entry.finalState.name, family: stateFamily(entry.finalState) }] : segmentsOf(entry, start),
    rewritten: entry.transitions.filter((t) => isRewritten(t.oldState, t.newState)).length,
    attempts: entry.attempts,
    durationMs: entry.durationMs,
  };
  if (counts) {
    const kids = entry.children ?? [];
    row.children = counts;
    row.families = familyCounts(kids);
    row.histogram = histogram(kids.map((c) => c.durationMs));
  }
  return row;
}

/** One row per task up to `GANTT_ROWS`; the rest become one row per final state, with a histogram. */
function ganttRows(timeline: Timeline, start: number): GanttRow[] {
  const shown = timeline.tasks.slice(0, GANTT_ROWS).map((t) => taskRow(t, start));
  const rest = timeline.tasks.slice(GANTT_ROWS);
  const byState = new Map<string, TimelineEntry[]>();
  for (const t of rest) {
    const list = byState.get(t.finalState.name);
    if (list) list.push(t);
    else byState.set(t.finalState.name, [t]);
  }
  for (const [state, list] of [...byState].sort(([a], [b]) => a.localeCompare(b))) {
    const from = Math.min(...list.map((t) => t.startedAt.getTime()));
    const to = Math.max(...list.map((t) => t.endedAt.getTime()));
    const family = stateFamily(list[0]!.finalState);
    shown.push({
      kind: "group",
      name: `${list.length} more task${list.length === 1 ? "" : "s"} ended ${state}`,
      family,
      finalState: state,
      segments: [{ kind: "attempt", startMs: from - start, endMs: to - start, state, family }],
      rewritten: 0,
      attempts: Math.max(...list.map((t) => t.attempts)),
      durationMs: to - from,
      families: { [family]: list.length },
      histogram: histogram(list.map((t) => t.durationMs)),
    });
  }
  return shown;
}

/** Per task its transitions: failed, retried and rewritten tasks first, at most `DETAIL_TASKS`. */
function details(timeline: Timeline, start: number): { details: TaskDetails[]; detailsOmitted: number } {
  const rank = (e: TimelineEntry) => (e.finalState.isFailed() ? 0 : e.attempts > 1 || childCounts(e)?.failed ? 1 : 2);
  const ranked = timeline.tasks.map((e, i) => ({ e, i, r: rank(e) })).sort((a, b) => a.r - b.r || a.i - b.i);
  const kept = ranked.slice(0, DETAIL_TASKS).sort((a, b) => a.i - b.i);
  return {
    details: kept.map(({ e }) => {
      const out: TaskDetails = { name: maskSecrets(e.name), family: stateFamily(e.finalState), finalState: e.finalState.name, transitions: e.transitions.map((t) => detailTransition(t, start)) };
      const counts = childCounts(e);
      if (counts) {
        const named = [...counts.failedChildren.map((c) => `${c} failed`), ...counts.retriedChildren.map((c) => `${c} retried`)].map(maskSecrets);
        out.notableChildren = named.slice(0, DETAIL_CHILDREN);
        if (named.length > DETAIL_CHILDREN) out.notableChildren.push(`… and ${named.length - DETAIL_CHILDREN} more`);
        // The children's messages (masked) say why the failed ones failed.
        for (const c of (e.children ?? []).filter((k) => k.finalState.isFailed()).slice(0, DETAIL_CHILDREN)) {
          out.transitions.push({ ...detailTransition(c.transitions[c.transitions.length - 1]!, start), from: `${maskSecrets(childName(e.name, c.mapIndex))}: ${c.transitions[c.transitions.length - 1]!.oldState.name}` });
        }
      }
      return out;
    }),
    detailsOmitted: Math.max(0, ranked.length - DETAIL_TASKS),
  };
}
