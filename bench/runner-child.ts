/**
 * One subject of section 1, alone in its own process (spawned by `isolatedRuns` in
 * sections/runner.ts), so no subject pays for another's hooks, heap or JIT state: the runner's
 * AsyncLocalStorage turns on promise hooks for every promise in the process, and a baseline
 * measured after it in the same process would pay them too.
 *
 * `node --import tsx bench/runner-child.ts SUBJECT SHAPE N WARMUP ROUNDS REPS [MAX_CONCURRENCY]`
 * prints one JSON line: CPU and wall ms per run for each round (a round repeats the workload
 * REPS times; no forced GC anywhere, so each side pays its own GC) and peak RSS. (GC time is not
 * reported apart: V8's GC timings are wall time, which on a loaded machine counts waiting for a core.)
 */
import { benchFlow, floorLoop, handLoop, pGraphRun, runBench, type Shape } from "./sections/runner";

/** `loop`: the hand-written loop awaiting every call; `floor`: awaiting only thenables (the 5x goal's floor). */
export type Subject = "runner" | "loop" | "floor" | "p-graph";

export interface ChildResult {
  subject: Subject;
  shape: Shape;
  tasks: number;
  reps: number;
  /** CPU ms (user + system, all threads) per run, one figure per round. */
  cpuMs: number[];
  wallMs: number[];
  /** Peak resident set size of the process, MB. */
  maxRssMb: number;
}

async function main(): Promise<void> {
  const [subject, shape, n, warmup, rounds, reps, cap] = process.argv.slice(2) as [Subject, Shape, string, string, string, string, string?];
  const tasks = Number(n);
  const bench = benchFlow(shape, tasks);
  const maxConcurrency = cap ? Number(cap) : undefined;
  const once: () => Promise<unknown> =
    subject === "runner"
      ? () => runBench(bench, maxConcurrency)
      : subject === "loop"
        ? () => handLoop(bench)
        : subject === "floor"
          ? () => floorLoop(bench)
          : () => pGraphRun(bench);
  for (let i = 0; i < Number(warmup); i++) await once();
  const result: ChildResult = { subject, shape, tasks, reps: Number(reps), cpuMs: [], wallMs: [], maxRssMb: 0 };
  for (let r = 0; r < Number(rounds); r++) {
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (let i = 0; i < result.reps; i++) await once();
    const used = process.cpuUsage(cpu);
    result.wallMs.push(Number(process.hrtime.bigint() - wall) / 1e6 / result.reps);
    result.cpuMs.push((used.user + used.system) / 1000 / result.reps);
  }
  result.maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
