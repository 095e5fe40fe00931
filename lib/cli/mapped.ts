/**
 * Mapped tasks in the CLI: children are named `t[i]` (`childName`), counted rather than listed one
 * line each (a map may have 10,000 children), and each mapped task gets one summary line.
 */
import { childName } from "../core/map";
import type { State } from "../core/states";

/**
 * True for a mapped parent's `Mapped` state. By name: the flow's states may come from another copy
 * of flowhooks than the CLI's (the CLI loads the flow module apart from itself).
 */
export function isMappedState(state: State | undefined): boolean {
  return state?.name === "Mapped";
}

/** The children's final states of a `Mapped` state, in item order. */
export function mapStatesOf(state: State): readonly State[] {
  return Array.isArray(state.result) ? (state.result as State[]) : [];
}

/** What a child's state counts as. `Skipped` and `Mapped` are `Success`es too, so the order of the checks matters. */
export type ChildCategory = "waiting" | "running" | "retrying" | "succeeded" | "failed" | "skipped";

export function childCategory(state: State): ChildCategory {
  if (state.isRetrying()) return "retrying";
  if (state.isRunning()) return "running";
  if (state.isSkipped()) return "skipped";
  if (state.isFailed()) return "failed";
  if (state.isSuccessful()) return "succeeded";
  if (state.isFinished()) return "failed";
  return "waiting";
}

/** How a mapped task's children ended. */
export interface ChildCounts {
  count: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /** Children that ended in none of those (e.g. `Cancelled`, or still `Pending` in an interrupted run). */
  other: number;
  /** The failed children's names (`t[i]`), in index order. */
  failedChildren: string[];
  /** Children that needed more than one attempt, in index order. */
  retriedChildren: string[];
}

/**
 * Counts a mapped task's children from its `Mapped` state's children; `attempts(i)` (from the
 * transitions, when known) names the children that were retried.
 */
export function countChildren(taskName: string, states: readonly State[], attempts?: (index: number) => number): ChildCounts {
  const counts: ChildCounts = { count: states.length, succeeded: 0, failed: 0, skipped: 0, other: 0, failedChildren: [], retriedChildren: [] };
  for (let i = 0; i < states.length; i++) {
    const state = states[i]!;
    const category = state.isFinished() ? childCategory(state) : "waiting";
    if (category === "succeeded") counts.succeeded++;
    else if (category === "skipped") counts.skipped++;
    else if (category === "failed") {
      counts.failed++;
      counts.failedChildren.push(childName(taskName, i));
    } else counts.other++;
    if (attempts && attempts(i) > 1) counts.retriedChildren.push(childName(taskName, i));
  }
  return counts;
}

/** `download[4], download[17]`, the first `max` names, then `and 12 more`. */
export function nameList(names: readonly string[], max = 10): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/**
 * One line per mapped task, e.g.
 * `download: Mapped 120 children — 117 succeeded, 2 failed (download[4], download[17]), 1 skipped; 3 retried (download[2], …)`.
 */
export function mappedSummaryLine(taskName: string, counts: ChildCounts): string {
  const parts = [`${counts.succeeded} succeeded`];
  if (counts.failed > 0) parts.push(`${counts.failed} failed (${nameList(counts.failedChildren)})`);
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  if (counts.other > 0) parts.push(`${counts.other} other`);
  let line = `${taskName}: Mapped ${counts.count} ${counts.count === 1 ? "child" : "children"}`;
  if (counts.count > 0) line += ` — ${parts.join(", ")}`;
  if (counts.retriedChildren.length > 0) line += `; ${counts.retriedChildren.length} retried (${nameList(counts.retriedChildren)})`;
  return line;
}

/**
 * The live tally of one mapped task's children, updated per child transition: counts per
 * category, and the children that are failed or waiting to retry (by index).
 */
export class ChildTally {
  readonly counts: Record<ChildCategory, number> = { waiting: 0, running: 0, retrying: 0, succeeded: 0, failed: 0, skipped: 0 };
  /** Children seen so far (the highest index + 1 is not known until the parent ends). */
  started = 0;
  /** Each child's latest state, by index. */
  readonly latest = new Map<number, State>();
  /** Children that failed or retried at some point: their transitions are worth printing. */
  readonly eventful = new Set<number>();

  constructor(readonly taskName: string) {}

  /** Records a child's transition; returns true when it is one worth naming (a failure, a retry, a skip, or any later step of such a child). */
  update(mapIndex: number, newState: State): boolean {
    const before = this.latest.get(mapIndex);
    if (before) this.counts[childCategory(before)]--;
    else this.started++;
    this.latest.set(mapIndex, newState);
    const category = childCategory(newState);
    this.counts[category]++;
    if (category === "failed" || category === "retrying" || category === "skipped") this.eventful.add(mapIndex);
    return this.eventful.has(mapIndex);
  }

  /** Indexes of the children whose latest state is `category`, in index order. */
  indexesIn(category: ChildCategory): number[] {
    const out: number[] = [];
    for (const i of this.eventful) if (childCategory(this.latest.get(i)!) === category) out.push(i);
    return out.sort((a, b) => a - b);
  }

  /** `120 children started: 3 running, 1 retrying, 114 succeeded, 2 failed` */
  describe(): string {
    return `${this.started} ${this.started === 1 ? "child" : "children"} started: ${this.countsText()}`;
  }

  /** `3 running, 1 retrying, 114 succeeded, 2 failed` (zero counts left out, except succeeded). */
  countsText(): string {
    const c = this.counts;
    const parts: string[] = [];
    if (c.running > 0) parts.push(`${c.running} running`);
    if (c.retrying > 0) parts.push(`${c.retrying} retrying`);
    parts.push(`${c.succeeded} succeeded`);
    if (c.failed > 0) parts.push(`${c.failed} failed`);
    if (c.skipped > 0) parts.push(`${c.skipped} skipped`);
    return parts.join(", ");
  }
}
