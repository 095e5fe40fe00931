/**
 * Live progress for `flowhooks run`: a line per task redrawn in place on a terminal, one line per
 * transition otherwise, or one JSON object per transition with `--json`.
 */
import type { Flow } from "../core/flow";
import type { TransitionEvent } from "../core/runner";
import { Retrying, type State, type StateJSON } from "../core/states";
import { formatTime, formatTransition } from "./format";
import { buildTimeline, renderSummaryTable, type TimelineTransition } from "./timeline";

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
}

export interface ProgressRenderer {
  onTransition(event: TransitionEvent): void;
  /** Prints the summary once the flow ended in `finalState`. */
  finish(finalState: State): void;
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
  constructor(
    protected readonly flow: Flow,
    protected readonly options: ProgressOptions,
  ) {}

  onTransition(event: TransitionEvent): void {
    const { kind, name, attempt, oldState, newState, at } = event;
    this.transitions.push({ kind, name, attempt, oldState, newState, at });
    this.show(this.transitions[this.transitions.length - 1]!);
  }

  protected abstract show(t: TimelineTransition): void;
  abstract finish(finalState: State): void;

  protected timeline() {
    return buildTimeline(this.transitions, this.flow.graph().nodes.map((n) => n.name));
  }
}

class PlainProgress extends BaseProgress {
  protected show(t: TimelineTransition): void {
    this.options.out.write(`${formatTime(t.at)} ${t.kind} ${t.name} ${formatTransition(t.oldState, t.newState)}\n`);
  }
  finish(): void {
    this.options.out.write(`\n${renderSummaryTable(this.timeline())}\n`);
  }
}

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
      ...(t.attempt === undefined ? {} : { attempt: t.attempt }),
      old: stateJson(t.oldState),
      new: stateJson(t.newState),
      at: t.at.toISOString(),
    };
    this.options.out.write(`${JSON.stringify(line)}\n`);
  }
  finish(finalState: State): void {
    const timeline = this.timeline();
    const summary = {
      kind: "summary",
      flow: this.flow.name,
      state: stateJson(finalState),
      durationMs: timeline.flow?.durationMs ?? 0,
      tasks: timeline.tasks.map((t) => ({
        name: t.name,
        state: stateJson(t.finalState),
        attempts: t.attempts,
        durationMs: t.durationMs,
      })),
    };
    this.options.out.write(`${JSON.stringify(summary)}\n`);
  }
}

const ANSI = {
  up: (n: number) => `\x1b[${n}A`,
  clearLine: "\x1b[2K",
  green: "\x1b[32m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
  dim: "\x1b[2m",
  reset: "\x1b[0m",
};

/** A line per task, redrawn in place: the cursor moves back up over the block on every change. */
class TtyProgress extends BaseProgress {
  private drawnLines = 0;
  private timer?: ReturnType<typeof setInterval>;
  private readonly states = new Map<string, { state: State; attempt: number; since: Date }>();
  private flowState?: State;
  private readonly color: boolean;

  constructor(flow: Flow, options: ProgressOptions) {
    super(flow, options);
    this.color = options.color ?? !process.env.NO_COLOR;
    this.draw();
  }

  protected show(t: TimelineTransition): void {
    if (t.kind === "flow") this.flowState = t.newState;
    else this.states.set(t.name, { state: t.newState, attempt: t.attempt ?? 1, since: t.at });
    this.draw();
    const waiting = [...this.states.values()].some((s) => s.state instanceof Retrying);
    const refreshMs = this.options.refreshMs ?? 1000;
    if (waiting && !this.timer && refreshMs > 0) {
      this.timer = setInterval(() => this.draw(), refreshMs);
      this.timer.unref?.();
    } else if (!waiting && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    this.options.out.write(`\n${renderSummaryTable(this.timeline())}\n`);
  }

  private paint(code: string, text: string): string {
    return this.color ? `${code}${text}${ANSI.reset}` : text;
  }

  private lines(): string[] {
    const names = this.flow.graph().nodes.map((n) => n.name);
    const width = Math.max(...names.map((n) => n.length), 4);
    const now = (this.options.now ?? (() => new Date()))();
    const flowLine = `Flow ${this.flow.name}: ${this.flowState ? String(this.flowState) : "Scheduled()"}`;
    return [
      flowLine,
      ...names.map((name) => `  ${name.padEnd(width)}  ${this.describe(this.states.get(name), now)}`),
    ];
  }

  private describe(entry: { state: State; attempt: number; since: Date } | undefined, now: Date): string {
    if (!entry) return this.paint(ANSI.dim, "○ pending");
    const { state, attempt } = entry;
    if (state instanceof Retrying) {
      const wait = Math.max(0, state.startTime.getTime() - now.getTime());
      return this.paint(
        ANSI.yellow,
        `↻ retrying: attempt ${state.runCount + 1} at ${formatTime(state.startTime)} (in ${Math.ceil(wait / 1000)} s)`,
      );
    }
    if (state.isRunning()) return this.paint(ANSI.cyan, `▶ running (attempt ${attempt})`);
    if (state.isSkipped()) return this.paint(ANSI.dim, `⤼ skipped: ${state.message ?? ""}`.trimEnd());
    if (state.isSuccessful()) return this.paint(ANSI.green, `✔ succeeded${attempt > 1 ? ` after ${attempt} attempts` : ""}`);
    if (state.isFailed()) return this.paint(ANSI.red, `✖ ${state.name === "Failed" ? "failed" : state.name}: ${state.message ?? ""}`.trimEnd());
    return this.paint(ANSI.dim, `○ ${state.name.toLowerCase()}`);
  }

  private draw(): void {
    const columns = this.options.out.columns;
    const lines = this.lines().map((line) => (columns && visibleLength(line) > columns - 1 ? truncate(line, columns - 1) : line));
    let text = this.drawnLines > 0 ? ANSI.up(this.drawnLines) : "";
    for (const line of lines) text += `${ANSI.clearLine}${line}\n`;
    this.drawnLines = lines.length;
    this.options.out.write(text);
  }
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
