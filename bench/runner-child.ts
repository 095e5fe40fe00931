/**
 * One subject of section 1, alone in its own process (spawned by `isolatedRuns` in
 * sections/runner.ts), so no subject pays for another's hooks, heap or JIT state: the runner's
 * AsyncLocalStorage turns on promise hooks for every promise in the process, and a baseline
 * measured after it in the same process would pay them too.
 *
 * `node --import tsx bench/runner-child.ts SUBJECT SHAPE N WARMUP ROUNDS REPS [MAX_CONCURRENCY]`
 * prints one JSON line: CPU and wall ms per run for each round (a round repeats the workload
 * REPS times; no forced GC anywhere), GC pause ms per run for each round, and peak RSS.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { benchFlow, handLoop, pGraphRun, runBench, type Shape } from "./sections/runner";

export type Subject = "runner" | "loop" | "p-graph";

export interface ChildResult {
  subject: Subject;
  shape: Shape;
  tasks: number;
  reps: number;
  /** CPU ms (user + system, all threads) per run, one figure per round. */
  cpuMs: number[];
  wallMs: number[];
  /** GC pause ms per run, one figure per round (part of cpuMs). */
  gcMs: number[];
  /** Peak resident set size of the process, MB. */
  maxRssMb: number;
}

async function main(): Promise<void> {
  const [subject, shape, n, warmup, rounds, reps, cap] = process.argv.slice(2) as [Subject, Shape, string, string, string, string, string?];
  const tasks = Number(n);
  const bench = benchFlow(shape, tasks);
  const maxConcurrency = cap ? Number(cap) : undefined;
  const once: () => Promise<unknown> =
    subject === "runner" ? () => runBench(bench, maxConcurrency) : subject === "loop" ? () => handLoop(bench) : () => pGraphRun(bench);
  let gc = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc += e.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  for (let i = 0; i < Number(warmup); i++) await once();
  const result: ChildResult = { subject, shape, tasks, reps: Number(reps), cpuMs: [], wallMs: [], gcMs: [], maxRssMb: 0 };
  for (let r = 0; r < Number(rounds); r++) {
    gc = 0;
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (let i = 0; i < result.reps; i++) await once();
    const used = process.cpuUsage(cpu);
    result.wallMs.push(Number(process.hrtime.bigint() - wall) / 1e6 / result.reps);
    result.cpuMs.push((used.user + used.system) / 1000 / result.reps);
    // GC entries are delivered asynchronously: let them arrive before reading the total.
    await new Promise((resolve) => setImmediate(resolve));
    result.gcMs.push(gc / result.reps);
  }
  observer.disconnect();
  result.maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
