/** Section 1's rows: the runner, the hand-written loop and p-graph, each measured in its own processes. */
import { fmt, type Row } from "../table";
import type { SectionOutput, Sizes } from "./index";
import { definitionCost, isolatedCompare, isolatedRun, spread, type Shape, type Spread, type SubjectFigures } from "./runner";

const range = (s: Spread, unit = "ms") => `${s.min.toFixed(2)}–${s.max.toFixed(2)} ${unit}`;
const ms = (v: number) => `${v.toFixed(2)} ms`;
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

export async function runnerSection(sizes: Sizes): Promise<SectionOutput> {
  const n = sizes.runnerTasks;
  // Warm-ups, then rounds each repeating the workload; two processes per subject, taken in turn.
  const o = { warmup: 3, rounds: Math.max(1, Math.ceil(sizes.runnerRounds / 2)), reps: sizes.runnerReps, processes: 2 };
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  for (const shape of ["chain", "fan-out"] as Shape[]) {
    const r = await isolatedCompare(["floor", "loop", "runner", "p-graph"], shape, n, o);
    data[shape] = r;
    const floor = r.floor!;
    const loop = r.loop!;
    const label = `${fmt.n(n)}-task ${shape}, 2 state handlers/task`;
    const all = shape === "fan-out" ? " (Promise.all)" : "";
    // The goal's floor awaits only thenables; the older loop awaits every call (kept for comparison with earlier tables).
    const floorBase = `${ms(floor.cpuMs.median)} floor: hand-written, awaits only promises${all} (${range(floor.cpuMs)})`;
    const loopBase = `${ms(loop.cpuMs.median)} hand-written loop awaiting every call${all} (${range(loop.cpuMs)})`;
    const row = (s: SubjectFigures, what: string, base: SubjectFigures, baseline: string, goal: string, ok?: boolean): Row => ({
      section: "1-runner",
      figure: `${label}: ${what}`,
      value: `${ms(s.cpuMs.median)} CPU (${range(s.cpuMs)})`,
      baseline,
      ratio: fmt.x(s.cpuMs.median / base.cpuMs.median),
      goal,
      verdict: ok === undefined ? "" : verdict(ok),
    });
    const floorRatio = r.runner!.cpuMs.median / floor.cpuMs.median;
    rows.push(row(r.runner!, "flow.run() against the floor", floor, floorBase, "≤ 5x", floorRatio <= 5));
    rows.push(row(r.runner!, "flow.run() against the awaiting loop", loop, loopBase, ""));
    rows.push(row(loop, "the awaiting loop against the floor", floor, floorBase, ""));
    rows.push(row(r["p-graph"]!, "p-graph, same DAG and handler calls", floor, floorBase, ""));
    rows.push({
      section: "1-runner",
      figure: `${label}: flow.run() against p-graph`,
      value: `${ms(r.runner!.cpuMs.median)} CPU`,
      baseline: `${ms(r["p-graph"]!.cpuMs.median)} p-graph`,
      ratio: fmt.x(r.runner!.cpuMs.median / r["p-graph"]!.cpuMs.median),
      goal: "< 1x",
      verdict: verdict(r.runner!.cpuMs.median < r["p-graph"]!.cpuMs.median),
    });
  }
  {
    // A mapped task with n children: the runner against the same work by hand (Promise.all over the items).
    const r = await isolatedCompare(["loop", "runner"], "map", n, o);
    data.map = r;
    const loop = r.loop!;
    const runner = r.runner!;
    const ratio = runner.cpuMs.median / loop.cpuMs.median;
    rows.push({
      section: "1-runner",
      figure: `${fmt.n(n)}-child map (inc.map(list())), 2 state handlers/task: flow.run()`,
      value: `${ms(runner.cpuMs.median)} CPU (${range(runner.cpuMs)}), ${((runner.cpuMs.median * 1000) / n).toFixed(2)} µs/child, peak RSS ${runner.maxRssMb.toFixed(0)} MB`,
      baseline: `${ms(loop.cpuMs.median)} hand-written loop (Promise.all over the items) (${range(loop.cpuMs)}), ${((loop.cpuMs.median * 1000) / n).toFixed(2)} µs/child, ${loop.maxRssMb.toFixed(0)} MB`,
      ratio: fmt.x(ratio),
      goal: "≤ 5x",
      verdict: verdict(ratio <= 5),
    });
  }
  definitionCost(Math.min(n, 1000)); // warm-up
  const definition = definitionCost(n);
  rows.push(
    {
      section: "1-runner",
      figure: `define a ${fmt.n(n)}-task chain (builder + graph)`,
      value: fmt.ms(definition.flowMs),
      baseline: `${fmt.ms(definition.tasksOnlyMs)} making the tasks only`,
      ratio: fmt.x(definition.flowMs / definition.tasksOnlyMs),
      goal: "",
      verdict: "",
    },
    {
      section: "1-runner",
      figure: `one task called ${fmt.n(n)} times in a builder`,
      value: fmt.ms(definition.repeatedCallMs),
      baseline: `${fmt.ms(definition.flowMs)} ${fmt.n(n)} distinct tasks`,
      ratio: fmt.x(definition.repeatedCallMs / definition.flowMs),
      goal: "",
      verdict: "",
    },
  );
  data.definition = definition;
  return { rows, data };
}

/**
 * CPU per task and peak RSS at each size, in a fresh process each, next to the hand-written loop
 * at the same size: linear means CPU/task stays flat (the loop's own growth shows what a bigger
 * heap costs any code).
 */
export async function scaleSection(sizes: Sizes): Promise<SectionOutput> {
  const rows: Row[] = [];
  const data: unknown[] = [];
  const largest = Math.max(...sizes.scaleSizes);
  const variants: { shape: Shape; maxConcurrency?: number }[] = [{ shape: "chain" }, { shape: "fan-out" }, { shape: "fan-out", maxConcurrency: 64 }];
  for (const v of variants) {
    const perTask: number[] = [];
    const loopPerTask: number[] = [];
    for (const n of sizes.scaleSizes) {
      if (v.maxConcurrency !== undefined && n !== largest) continue;
      // About 100,000 tasks of work per round at every size, so each figure averages enough runs.
      const reps = Math.max(1, Math.round(100_000 / n));
      const o = { warmup: n >= 100_000 ? 1 : 2, rounds: n >= 100_000 ? 3 : 5, reps };
      const r = await isolatedRun("runner", v.shape, n, { ...o, maxConcurrency: v.maxConcurrency });
      const loop = v.maxConcurrency === undefined ? await isolatedRun("loop", v.shape, n, o) : undefined;
      const cpu = spread(r.cpuMs);
      const usPerTask = (cpu.median * 1000) / n;
      perTask.push(usPerTask);
      const loopUs = loop ? (spread(loop.cpuMs).median * 1000) / n : undefined;
      if (loopUs !== undefined) loopPerTask.push(loopUs);
      data.push({ ...v, tasks: n, cpuMs: cpu, maxRssMb: r.maxRssMb, usPerTask, loop: loop && { cpuMs: spread(loop.cpuMs), maxRssMb: loop.maxRssMb, usPerTask: loopUs } });
      const big = n === largest && v.shape === "fan-out";
      const growth = perTask.length > 1 ? usPerTask / perTask[0]! : undefined;
      const loopGrowth = loopPerTask.length > 1 ? loopUs! / loopPerTask[0]! : undefined;
      rows.push({
        section: "1b-scale",
        figure: `${fmt.n(n)}-task ${v.shape}${v.maxConcurrency ? `, maxConcurrency ${v.maxConcurrency}` : ""}: CPU per task, peak RSS`,
        value: `${usPerTask.toFixed(2)} µs/task (${range(cpu)} per run), ${r.maxRssMb.toFixed(0)} MB${growth ? `; ${fmt.x(growth)} the smallest` : ""}`,
        baseline: loop ? `${loopUs!.toFixed(2)} µs/task hand-written loop, ${loop.maxRssMb.toFixed(0)} MB${loopGrowth ? `; ${fmt.x(loopGrowth)} the smallest` : ""}` : "",
        ratio: loopUs ? fmt.x(usPerTask / loopUs) : "",
        goal: big ? "< 500 MB" : growth ? "CPU/task ≤ 1.5x the smallest" : "",
        verdict: big ? verdict(r.maxRssMb < 500) : growth ? verdict(growth <= 1.5) : "",
      });
    }
  }
  return { rows, data };
}
