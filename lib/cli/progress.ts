/**
 * Live progress for `flowhooks run`: a line per task redrawn in place on a terminal, one line per
 * transition otherwise, or one JSON object per transition with `--json`. A mapped task's children
 * (named `t[i]`) are counted, not drawn one line each: the terminal shows one live line per mapped
 * task and its failed or retrying children by name; the plain log prints the transitions of
 * children that failed, retried or were skipped, and a count line at most every few seconds.
 */
import { childName } from "../core/map";
import type { Flow } from "../core/flow";
import type { AlertEvent, TransitionEvent } from "../core/runner";
import { Retrying, type State, type StateJSON } from "../core/states";
import { formatTime, formatTransition } from "./format";
import { ChildTally, isMappedState, mapStatesOf } from "./mapped";
import { buildTimeline, childCounts, renderSummaryTable, type TimelineTransition } from "./timeline";

/** Where progress goes: `process.stdout` or anything with the same `write`. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressMode = "tty" | "plain" | "json";

export interface ProgressOptions {
  mode: ProgressMode;
  out: Output;
  /** The current time, for the retry countdown. @default () => new Date() */
  now?: () => Date;
  /** Colour the TTY view. @default true unless NO_COLOR is set */
  color?: boolean;
  /** Redraw interval of the TTY view while a task waits to retry, in ms (0 disables). @default 1000 */
  refreshMs?: number;
  /**
   * The least time between two TTY redraws caused by mapped children's transitions, in ms (real
   * time), so a 10,000-child map does not redraw 30,000 times. 0 redraws on every transition.
   * @default 100
   */
  childRedrawMs?: number;
  /**
   * Without a TTY: the least time between two count lines of a mapped task's children, in ms of
   * the run's clock (the transitions' times). @default 5000
   */
  childCountEveryMs?: number;
}

export interface ProgressRenderer {
  onTransition(event: TransitionEvent): void;
  /** Prints the summary once the flow ended in `finalState`; `--json`'s lists `alerts`, the alerts the run's notifiers delivered. */
  finish(finalState: State, alerts?: readonly AlertEvent[]): void;
  /** Every transition seen so far. */
  readonly transitions: readonly TimelineTransition[];
}

export function createProgress(flow: Flow, options: ProgressOptions): ProgressRenderer {
  switch (options.mode) {
    case "json":
      return new JsonProgress(flow, options);
    case "plain":
      return new PlainProgress(flow, options);
    case "tty":
      return new TtyProgress(flow, options);
  }
}

abstract class BaseProgress implements ProgressRenderer {
  readonly transitions: TimelineTransition[] = [];
  /** Mapped tasks' children so far, by task name. */
  protected readonly tallies = new Map<string, ChildTally>();
  constructor(
    protected readonly flow: Flow,
    protected readonly options: ProgressOptions,
  ) {}

  onTransition(event: TransitionEvent): void {
    const { kind, name, attempt, mapIndex, oldState, newState, at } = event;
    const t: TimelineTransition = { kind, name, attempt, oldState, newState, at };
    if (mapIndex !== undefined) t.mapIndex = mapIndex;
    this.transitions.push(t);
    this.show(t);
  }

  /** Counts a child's transition; true when it is worth naming (see `ChildTally.update`). */
  protected tally(t: TimelineTransition): { tally: ChildTally; named: boolean } {
    let tally = this.tallies.get(t.name);
    if (!tally) this.tallies.set(t.name, (tally = new ChildTally(t.name)));
    return { tally, named: tally.update(t.mapIndex!, t.newState) };
  }

  protected abstract show(t: TimelineTransition): void;
  abstract finish(finalState: State, alerts?: readonly AlertEvent[]): void;

  protected timeline() {
    return buildTimeline(this.transitions, this.flow.graph().nodes.map((n) => n.name));
  }
}

class PlainProgress extends BaseProgress {
  /** When each mapped task's last count line was printed (run clock, ms). */
  private readonly countedAt = new Map<string, number>();
  /** The children printed by name so far, per mapped task (at most `NAMED_CHILDREN`). */
  private readonly named = new Map<string, Set<number>>();
  /** Mapped tasks that reached `NAMED_CHILDREN` (said once). */
  private readonly capped = new Set<string>();

  protected show(t: TimelineTransition): void {
    const out = this.options.out;
    if (t.mapIndex === undefined) {
      out.write(`${formatTime(t.at)} ${t.kind} ${t.name} ${formatTransition(t.oldState, t.newState)}\n`);
      return;
    }
    const first = !this.tallies.has(t.name);
    const { tally, named } = this.tally(t);
    if (first) {
      out.write(
        `${formatTime(t.at)} map ${t.name}: running its children ${childName(t.name, 0)}, ${childName(t.name, 1)}, …; ` +
          "those that fail, retry or are skipped are printed by name, the others counted\n",
      );
      this.countedAt.set(t.name, t.at.getTime());
    }
    if (named) {
      let printed = this.named.get(t.name);
      if (!printed) this.named.set(t.name, (printed = new Set()));
      if (printed.has(t.mapIndex) || printed.size < NAMED_CHILDREN) {
        printed.add(t.mapIndex);
        out.write(`${formatTime(t.at)} task ${childName(t.name, t.mapIndex)} ${formatTransition(t.oldState, t.newState)}\n`);
      } else if (!this.capped.has(t.name)) {
        // Said once: a map where every child fails must not print 10,000 children's lines either.
        this.capped.add(t.name);
        out.write(
          `${formatTime(t.at)} map ${t.name}: more than ${NAMED_CHILDREN} children failed, retried or were skipped; ` +
            "further ones are counted, not printed (the summary names the failed ones)\n",
        );
      }
    }
    const every = this.options.childCountEveryMs ?? 5000;
    if (t.at.getTime() - this.countedAt.get(t.name)! >= every) {
      this.countedAt.set(t.name, t.at.getTime());
      out.write(`${formatTime(t.at)} map ${t.name}: ${tally.describe()}\n`);
    }
  }
  finish(): void {
    this.options.out.write(`\n${renderSummaryTable(this.timeline())}\n`);
  }
}

/** Without a TTY, at most this many children of one mapped task get their transitions printed. */
const NAMED_CHILDREN = 50;

/** A state as JSON for `--json`: a flow's result (a Map of task states) is left out; task lines carry those. */
function stateJson(state: State): StateJSON {
  const json = state.toJSON();
  if (state.result instanceof Map) delete json.result;
  return json;
}

class JsonProgress extends BaseProgress {
  protected show(t: TimelineTransition): void {
    const line = {
      kind: t.kind,
      name: t.name,
      ...(t.mapIndex === undefined ? {} : { mapIndex: t.mapIndex }),
      ...(t.attempt === undefined ? {} : { attempt: t.attempt }),
      old: stateJson(t.oldState),
      new: stateJson(t.newState),
      at: t.at.toISOString(),
    };
    this.options.out.write(`${JSON.stringify(line)}\n`);
  }
  finish(finalState: State, alerts: readonly AlertEvent[] = []): void {
    const timeline = this.timeline();
    const summary = {
      kind: "summary",
      flow: this.flow.name,
      state: stateJson(finalState),
      durationMs: timeline.flow?.durationMs ?? 0,
      tasks: timeline.tasks.map((t) => {
        const children = childCounts(t);
        if (!children) return { name: t.name, state: stateJson(t.finalState), attempts: t.attempts, durationMs: t.durationMs };
        // The children's states are in the parent's transition line; the summary counts them.
        const { result: _children, ...state } = stateJson(t.finalState);
        return { name: t.name, state, durationMs: t.durationMs, children };
      }),
      alerts: alerts.map((a) => ({ channel: a.channel, subject: a.subject, state: stateJson(a.state), at: a.at.toISOString() })),
    };
    this.options.out.write(`${JSON.stringify(summary)}\n`);
  }
}

const ANSI = {
  up: (n: number) => `\x1b[${n}A`,
  clearLine: "\x1b[2K",
  clearDown: "\x1b[J",
  green: "\x1b[32m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
  dim: "\x1b[2m",
  reset: "\x1b[0m",
};

/**
 * A line per task, redrawn in place: the cursor moves back up over the block on every change. A
 * mapped task's line counts its children; its failed and retrying children (at most
 * `CHILD_LINES` of each) get a line of their own below it.
 */
class TtyProgress extends BaseProgress {
  private drawnLines = 0;
  private timer?: ReturnType<typeof setInterval>;
  private readonly states = new Map<string, { state: State; attempt: number; since: Date }>();
  private flowState?: State;
  private readonly color: boolean;
  /** When children's transitions last redrew (real time), and the redraw they put off. */
  private childDrawnAt = 0;
  private childDraw?: ReturnType<typeof setTimeout>;

  constructor(flow: Flow, options: ProgressOptions) {
    super(flow, options);
    this.color = options.color ?? !process.env.NO_COLOR;
    this.draw();
  }

  protected show(t: TimelineTransition): void {
    if (t.mapIndex !== undefined) {
      this.tally(t);
      this.drawForChild();
    } else {
      if (t.kind === "flow") this.flowState = t.newState;
      else this.states.set(t.name, { state: t.newState, attempt: t.attempt ?? 1, since: t.at });
      this.draw();
    }
    let waiting = false;
    for (const s of this.states.values()) if (s.state instanceof Retrying) waiting = true;
    for (const tally of this.tallies.values()) if (tally.counts.retrying > 0) waiting = true;
    const refreshMs = this.options.refreshMs ?? 1000;
    if (waiting && !this.timer && refreshMs > 0) {
      this.timer = setInterval(() => this.draw(), refreshMs);
      this.timer.unref?.();
    } else if (!waiting && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Redraws for a child's transition at most once per `childRedrawMs`; the last one is drawn when that time is up. */
  private drawForChild(): void {
    const every = this.options.childRedrawMs ?? 100;
    const now = performance.now();
    if (every <= 0 || now - this.childDrawnAt >= every) {
      this.childDrawnAt = now;
      this.draw();
      return;
    }
    this.childDraw ??= setTimeout(() => {
      this.childDraw = undefined;
      this.childDrawnAt = performance.now();
      this.draw();
    }, every - (now - this.childDrawnAt));
    this.childDraw.unref?.();
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.childDraw) clearTimeout(this.childDraw);
    this.childDraw = undefined;
    this.draw();
    this.options.out.write(`\n${renderSummaryTable(this.timeline())}\n`);
  }

  private paint(code: string, text: string): string {
    return this.color ? `${code}${text}${ANSI.reset}` : text;
  }

  private lines(): string[] {
    const nodes = this.flow.graph().nodes;
    const width = Math.max(...nodes.map((n) => n.name.length), 4);
    const now = (this.options.now ?? (() => new Date()))();
    const lines = [`Flow ${this.flow.name}: ${this.flowState ? String(this.flowState) : "Scheduled()"}`];
    for (const node of nodes) {
      const entry = this.states.get(node.name);
      const tally = this.tallies.get(node.name);
      const text = node.mapped && (tally || entry) ? this.describeMap(tally ?? new ChildTally(node.name), entry?.state) : this.describe(entry, now);
      lines.push(`  ${node.name.padEnd(width)}  ${text}`);
      if (tally) lines.push(...this.childLines(tally, now));
    }
    return lines;
  }

  /** A mapped task's line: its children's counts while they run, how they ended once the parent is `Mapped`. */
  private describeMap(tally: ChildTally, parent: State | undefined): string {
    if (parent && isMappedState(parent)) {
      const children = mapStatesOf(parent);
      const text = `✔ mapped ${children.length} ${children.length === 1 ? "child" : "children"}${children.length > 0 ? `: ${tally.countsText()}` : ""}`;
      return this.paint(tally.counts.failed > 0 ? ANSI.yellow : ANSI.green, text);
    }
    if (parent) return this.describe({ state: parent, attempt: 1, since: new Date() }, new Date());
    return this.paint(ANSI.cyan, `▶ mapping: ${tally.describe()}`);
  }

  /** Lines under a mapped task: its failed children, then its children waiting to retry, `CHILD_LINES` of each at most. */
  private childLines(tally: ChildTally, now: Date): string[] {
    const out: string[] = [];
    const failed = tally.indexesIn("failed");
    for (const i of failed.slice(0, CHILD_LINES)) {
      const state = tally.latest.get(i)!;
      out.push(`    ${this.paint(ANSI.red, `✖ ${childName(tally.taskName, i)} ${state.name === "Failed" ? "failed" : state.name}: ${state.message ?? ""}`.trimEnd())}`);
    }
    if (failed.length > CHILD_LINES) out.push(`    ${this.paint(ANSI.red, `✖ … and ${failed.length - CHILD_LINES} more failed`)}`);
    const retrying = tally.indexesIn("retrying");
    for (const i of retrying.slice(0, CHILD_LINES)) {
      const state = tally.latest.get(i) as Retrying;
      out.push(`    ${this.paint(ANSI.yellow, `↻ ${childName(tally.taskName, i)} ${retryText(state, now)}`)}`);
    }
    if (retrying.length > CHILD_LINES) out.push(`    ${this.paint(ANSI.yellow, `↻ … and ${retrying.length - CHILD_LINES} more retrying`)}`);
    return out;
  }

  private describe(entry: { state: State; attempt: number; since: Date } | undefined, now: Date): string {
    if (!entry) return this.paint(ANSI.dim, "○ pending");
    const { state, attempt } = entry;
    if (state instanceof Retrying) return this.paint(ANSI.yellow, `↻ ${retryText(state, now)}`);
    if (state.isRunning()) return this.paint(ANSI.cyan, `▶ running (attempt ${attempt})`);
    if (state.isSkipped()) return this.paint(ANSI.dim, `⤼ skipped: ${state.message ?? ""}`.trimEnd());
    if (state.isSuccessful()) return this.paint(ANSI.green, `✔ succeeded${attempt > 1 ? ` after ${attempt} attempts` : ""}`);
    if (state.isFailed()) return this.paint(ANSI.red, `✖ ${state.name === "Failed" ? "failed" : state.name}: ${state.message ?? ""}`.trimEnd());
    return this.paint(ANSI.dim, `○ ${state.name.toLowerCase()}`);
  }

  private draw(): void {
    const columns = this.options.out.columns;
    const lines = this.lines().map((line) => (columns && visibleLength(line) > columns - 1 ? truncate(line, columns - 1) : line));
    // Up over the last frame, and clear below it: a mapped task's child lines come and go.
    let text = this.drawnLines > 0 ? `${ANSI.up(this.drawnLines)}${ANSI.clearDown}` : "";
    for (const line of lines) text += `${ANSI.clearLine}${line}\n`;
    this.drawnLines = lines.length;
    this.options.out.write(text);
  }
}

/** At most this many failed (and this many retrying) children of a mapped task get a line on the terminal. */
const CHILD_LINES = 3;

/** `retrying: attempt 2 at 12:00:05.000 (in 4 s)` */
function retryText(state: Retrying, now: Date): string {
  const wait = Math.max(0, state.startTime.getTime() - now.getTime());
  return `retrying: attempt ${state.runCount + 1} at ${formatTime(state.startTime)} (in ${Math.ceil(wait / 1000)} s)`;
}

// Lines wider than the terminal wrap, and the cursor-up redraw would then overwrite the wrong rows.
const ANSI_RE = /\x1b\[[0-9;]*m/g;
function visibleLength(text: string): number {
  return text.replace(ANSI_RE, "").length;
}
function truncate(text: string, max: number): string {
  const plain = text.replace(ANSI_RE, "");
  const cut = `${plain.slice(0, Math.max(0, max - 1))}…`;
  return text.includes("\x1b[") ? `${cut}${ANSI.reset}` : cut;
}
