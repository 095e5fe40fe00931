/**
 * The fidelity check: a flow run locally (`flow.run()`) and emulated from its synthesized template
 * must make the same state changes — per object (the flow, each task), the same (old state, new
 * state) pairs in the same order. Timestamps are left out; states compare as `String(state)`.
 */
import type { Flow, State } from "../../lib/index";
import { virtualClock } from "../../lib/core/clock";
import { emulate, type EmulateOptions, type EmulationResult, type EmulationTarget } from "../../lib/emulate/index";

/**
 * Per object (`flow NAME`, `task NAME`, or `task NAME[i]` for child i of a mapped task): its
 * transitions as `Old(...) -> New(...)`, in order. A mapped task's children run concurrently, so
 * each child's sequence is compared on its own, and the parent's (`Pending -> Mapped`) too.
 */
export type Trace = Map<string, string[]>;

export function traceOf(transitions: readonly { kind: "task" | "flow"; name: string; mapIndex?: number; oldState: State; newState: State }[]): Trace {
  const trace: Trace = new Map();
  for (const t of transitions) {
    const key = `${t.kind} ${t.mapIndex === undefined ? t.name : `${t.name}[${t.mapIndex}]`}`;
    const list = trace.get(key) ?? [];
    list.push(`${String(t.oldState)} -> ${String(t.newState)}`);
    trace.set(key, list);
  }
  return trace;
}

/** The local run's trace (retry waits skipped with a virtual clock). */
export async function localTrace(flow: Flow, parameters: Record<string, unknown> = {}, approve?: EmulateOptions["approve"]): Promise<Trace> {
  const transitions: Parameters<typeof traceOf>[0][number][] = [];
  await flow.run({ parameters, clock: virtualClock(), ...(approve ? { approve: (task) => approve(task.name) } : {}), onTransition: (e) => transitions.push({ kind: e.kind, name: e.name, mapIndex: e.mapIndex, oldState: e.oldState, newState: e.newState }) });
  return traceOf(transitions);
}

/** A readable diff of two traces (`-` local only, `+` emulated only), or undefined when they agree. */
export function diffTraces(local: Trace, emulated: Trace): string | undefined {
  const lines: string[] = [];
  const keys = [...new Set([...local.keys(), ...emulated.keys()])];
  for (const key of keys) {
    const a = local.get(key) ?? [];
    const b = emulated.get(key) ?? [];
    if (a.length === b.length && a.every((x, i) => x === b[i])) continue;
    lines.push(`${key}:`);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] === b[i]) lines.push(`    ${a[i]}`);
      else {
        if (a[i] !== undefined) lines.push(`  - ${a[i]}   (local)`);
        if (b[i] !== undefined) lines.push(`  + ${b[i]}   (emulated)`);
      }
    }
  }
  return lines.length ? `Local and emulated runs differ:\n${lines.join("\n")}` : undefined;
}

export interface FidelityReport {
  local: Trace;
  emulated: Trace;
  result: EmulationResult;
  /** Undefined when the traces agree. */
  diff?: string;
}

/** Runs `target.flow` both ways and compares the traces. */
export async function checkFidelity(
  target: EmulationTarget,
  options: Omit<EmulateOptions, "target"> = {},
): Promise<FidelityReport> {
  const parameters = options.parameters ?? {};
  const local = await localTrace(target.flow, parameters, options.approve);
  const result = await emulate({ fastRetries: true, write: () => undefined, ...options, target, parameters });
  const emulated = traceOf(result.transitions);
  return { local, emulated, result, diff: diffTraces(local, emulated) };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Lambda request ids (in a timed-out attempt's message) differ run by run. */
const withoutIds = (text: string) => text.replace(UUID, "<request id>");
function traceWithoutIds(trace: Trace): Trace {
  return new Map([...trace].map(([key, lines]) => [key, lines.map(withoutIds)]));
}

/** How an emulation ended and what it alerted, as lines to compare across engines. */
function endingAndAlerts(result: EmulationResult): string[] {
  const ending = `ending: ${result.status} ${result.error ?? ""} flow ${String(result.flowState)}`;
  const alerts = result.alerts.map((a) => `alert: ${a.channel} ${a.alert.kind} ${a.alert.task ?? a.alert.flow} ${String(a.alert.newState)}`).sort();
  return [ending, ...alerts].map(withoutIds);
}

export interface EngineComparison {
  default: EmulationResult;
  moto: EmulationResult;
  /** Undefined when flow.run() (where it takes part), the default engine and the other engine agree. */
  diff?: string;
}

/**
 * Runs `target` on the default engine and on `engine` (and locally, unless `local` is false) with
 * fast retries, and compares per-task transitions, the flow's ending and the alerts sent.
 */
export async function compareEngines(
  target: EmulationTarget,
  engine: NonNullable<EmulateOptions["engine"]>,
  options: { parameters?: Record<string, unknown>; local?: boolean; otherFirst?: boolean; compareDefault?: boolean } = {},
): Promise<EngineComparison> {
  const parameters = options.parameters ?? {};
  const run = (which?: EmulateOptions["engine"]) => emulate({ target, parameters, engine: which, fastRetries: true, write: () => undefined });
  const byOther = options.otherFirst ? await run(engine) : undefined;
  const byDefault = await run();
  const other = byOther ?? (await run(engine));
  const diffs: string[] = [];
  if (options.local !== false) {
    const local = await localTrace(target.flow, parameters);
    const d = diffTraces(local, traceOf(other.transitions));
    if (d) diffs.push(d.replace("Local and emulated", `flow.run() and the ${engine.name} engine`).replaceAll("(emulated)", `(${engine.name})`));
  }
  if (options.compareDefault === false) return { default: byDefault, moto: other, diff: diffs.length ? diffs.join("\n") : undefined };
  const d = diffTraces(traceWithoutIds(traceOf(byDefault.transitions)), traceWithoutIds(traceOf(other.transitions)));
  if (d) diffs.push(d.replace("Local and emulated", `The default and ${engine.name} engines`).replaceAll("(local)", "(default)").replaceAll("(emulated)", `(${engine.name})`));
  const byOtherResult = other;
  const a = endingAndAlerts(byDefault);
  const b = endingAndAlerts(byOtherResult);
  if (a.join("\n") !== b.join("\n")) diffs.push(`Endings or alerts differ:\n  default: ${a.join("\n           ")}\n  ${engine.name}: ${b.join("\n           ")}`);
  return { default: byDefault, moto: byOtherResult, diff: diffs.length ? diffs.join("\n") : undefined };
}
