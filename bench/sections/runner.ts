/**
 * Sections 1 and 2: the local runner's overhead against a bare loop doing the same work, the
 * handler chain's cost per transition, and the memory a 10,000-task run keeps.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PGraph } from "p-graph";
import { virtualClock } from "../../lib/core/clock";
import { Flow } from "../../lib/core/flow";
import { isThenable, runStateHandlers, type StateHandler } from "../../lib/core/handlers";
import { Mapped, Pending, Running, Success, type State } from "../../lib/core/states";
import { task, type Task, type TaskRef } from "../../lib/core/task";
import { compare, retainedBytes } from "../measure";
import type { ChildResult, Subject } from "../runner-child";

/** `map`: a task returning a list of n items and one task mapped over it (`inc.map(list())`): n children. */
export type Shape = "chain" | "fan-out" | "map";

/** What a typical pair of state handlers costs: one sync, one async (as notifiers are). */
export function benchHandlers(): { handlers: StateHandler<Task<any, any>>[]; counts: { transitions: number; failures: number } } {
  const counts = { transitions: 0, failures: 0 };
  const countTransitions: StateHandler = () => {
    counts.transitions++;
  };
  const noteFailures: StateHandler = async (_obj, _old, next) => {
    if (next.isFailed()) counts.failures++;
  };
  return { handlers: [countTransitions, noteFailures], counts };
}

export interface BenchFlow {
  flow: Flow;
  /** Tasks in the order a bare loop must run them, with the index of the task whose result each takes (-1: none). */
  steps: { task: Task<[number], number>; fn: (x: number) => number; from: number }[];
  handlers: StateHandler<Task<any, any>>[];
  counts: { transitions: number; failures: number };
  /** The `map` shape: the list task, the mapped task and its body, and the items (steps is empty). */
  map?: { list: Task<[], number[]>; inc: Task<[number], number>; fn: (x: number) => number; items: number[] };
}

/** A flow of `n` distinct tasks, each with the same two state handlers: a chain, or one root feeding n-1 tasks. */
export function benchFlow(shape: Shape, n: number): BenchFlow {
  const { handlers, counts } = benchHandlers();
  if (shape === "map") {
    const items = Array.from({ length: n }, (_, i) => i);
    const fn = (x: number) => x + 1;
    const list = task({ name: "list", stateHandlers: handlers }, () => items) as Task<[], number[]>;
    const inc = task({ name: "inc", stateHandlers: handlers }, fn) as Task<[number], number>;
    const flow = new Flow({ name: `bench-map-${n}` }, () => {
      inc.map(list());
    });
    return { flow, steps: [], handlers, counts, map: { list, inc, fn, items } };
  }
  const steps: BenchFlow["steps"] = [];
  for (let i = 0; i < n; i++) {
    const fn = (x: number) => x + 1;
    const t = task({ name: `t${i}`, stateHandlers: handlers }, fn) as Task<[number], number>;
    steps.push({ task: t, fn, from: i === 0 ? -1 : shape === "chain" ? i - 1 : 0 });
  }
  const flow = new Flow({ name: `bench-${shape}-${n}` }, () => {
    const refs: TaskRef<number>[] = [];
    for (const step of steps) refs.push(step.task(step.from < 0 ? 0 : refs[step.from]!));
  });
  return { flow, steps, handlers, counts };
}

const PENDING = new Pending();
const RUNNING = new Running("Starting task run.");

/** The same work as the runner, written by hand: per task, handlers on Running, the body, handlers on Success. */
export async function bareLoop(bench: BenchFlow): Promise<number[]> {
  const results: number[] = [];
  const [h1, h2] = bench.handlers as [StateHandler, StateHandler];
  for (const step of bench.steps) {
    await h1(step.task, PENDING, RUNNING);
    await h2(step.task, PENDING, RUNNING);
    const value = await step.fn(step.from < 0 ? 0 : results[step.from]!);
    const success = new Success("Task run succeeded.", { result: value });
    await h1(step.task, RUNNING, success);
    await h2(step.task, RUNNING, success);
    results.push(value);
  }
  return results;
}

/**
 * The bare loop's work with every task started at once (as the runner starts ready tasks), each
 * after the task it reads from: isolates what concurrency itself costs.
 */
export async function bareConcurrent(bench: BenchFlow): Promise<number[]> {
  const [h1, h2] = bench.handlers as [StateHandler, StateHandler];
  const done: Promise<number>[] = [];
  for (const step of bench.steps) {
    const upstream = step.from < 0 ? Promise.resolve(0) : done[step.from]!;
    done.push(
      upstream.then(async (input) => {
        await h1(step.task, PENDING, RUNNING);
        await h2(step.task, PENDING, RUNNING);
        const value = await step.fn(input);
        const success = new Success("Task run succeeded.", { result: value });
        await h1(step.task, RUNNING, success);
        await h2(step.task, RUNNING, success);
        return value;
      }),
    );
  }
  return Promise.all(done);
}

/** One task's work as the baselines do it: both handlers on Running, the body, both on Success. */
async function runStep(bench: BenchFlow, i: number, results: number[]): Promise<void> {
  const [h1, h2] = bench.handlers as [StateHandler, StateHandler];
  const step = bench.steps[i]!;
  await h1(step.task, PENDING, RUNNING);
  await h2(step.task, PENDING, RUNNING);
  const value = await step.fn(step.from < 0 ? 0 : results[step.from]!);
  const success = new Success("Task run succeeded.", { result: value });
  await h1(step.task, RUNNING, success);
  await h2(step.task, RUNNING, success);
  results[i] = value;
}

/**
 * The hand-written loop the runner is measured against: a chain awaits each task after the one
 * before; a fan-out runs the root, then starts every other task at once (`Promise.all`), as the
 * runner starts every ready task. Per task: both handlers on Running, the body, both on Success.
 */
export async function handLoop(bench: BenchFlow): Promise<number[]> {
  if (bench.map) return handMapLoop(bench);
  if (bench.steps.every((s, i) => s.from === i - 1)) return bareLoop(bench);
  const results: number[] = new Array(bench.steps.length);
  const one = (i: number) => runStep(bench, i, results);
  const roots: Promise<void>[] = [];
  for (let i = 0; i < bench.steps.length; i++) if (bench.steps[i]!.from < 0) roots.push(one(i));
  await Promise.all(roots);
  const rest: Promise<void>[] = [];
  for (let i = 0; i < bench.steps.length; i++) if (bench.steps[i]!.from >= 0) rest.push(one(i));
  await Promise.all(rest);
  return results;
}

/**
 * The `map` shape by hand: the list task's step, then every item's step at once (`Promise.all`, as
 * the runner starts every child), keeping each item's `Success` state (as the runner's `Mapped`
 * keeps its children's), then both handlers on the parent's `Pending → Mapped`.
 */
export async function handMapLoop(bench: BenchFlow): Promise<number[]> {
  const [h1, h2] = bench.handlers as [StateHandler, StateHandler];
  const { list, inc, fn, items } = bench.map!;
  await h1(list, PENDING, RUNNING);
  await h2(list, PENDING, RUNNING);
  const listed = items.slice();
  const listedState = new Success("Task run succeeded.", { result: listed });
  await h1(list, RUNNING, listedState);
  await h2(list, RUNNING, listedState);
  const children: State[] = new Array(listed.length);
  await Promise.all(
    listed.map(async (item, i) => {
      await h1(inc, PENDING, RUNNING);
      await h2(inc, PENDING, RUNNING);
      const value = await fn(item);
      const success = new Success("Task run succeeded.", { result: value });
      await h1(inc, RUNNING, success);
      await h2(inc, RUNNING, success);
      children[i] = success;
    }),
  );
  const mapped = new Mapped(`Mapped ${children.length} children.`, { result: children });
  await h1(inc, PENDING, mapped);
  await h2(inc, PENDING, mapped);
  return children.map((c) => c.result as number);
}

/**
 * The honest floor (issue 25): the same handler calls with the project's own state objects made per
 * task (`new Running(…)`, `new Success(…, { result })`, as the runner makes them), awaiting only
 * what returned a thenable, so a synchronous handler or body costs no microtask hop. A chain runs
 * its tasks in one loop; a fan-out runs the root, then starts every other task at once
 * (`Promise.all`); a map runs the list task, then every item at once, then the parent's `Mapped`.
 */
export async function floorLoop(bench: BenchFlow): Promise<number[]> {
  const [h1, h2] = bench.handlers as [StateHandler, StateHandler];
  const one = async (t: Task<any, any>, fn: (x: any) => unknown, input: unknown): Promise<State> => {
    const running = new Running("Starting task run.");
    let r: unknown = h1(t, PENDING, running);
    if (isThenable(r)) await r;
    r = h2(t, PENDING, running);
    if (isThenable(r)) await r;
    let value = fn(input);
    if (isThenable(value)) value = await value;
    const success = new Success("Task run succeeded.", { result: value });
    r = h1(t, running, success);
    if (isThenable(r)) await r;
    r = h2(t, running, success);
    if (isThenable(r)) await r;
    return success;
  };
  if (bench.map) {
    const { list, inc, fn, items } = bench.map;
    const listed = (await one(list, () => items.slice(), undefined)).result as number[];
    const children = await Promise.all(listed.map((item) => one(inc, fn, item)));
    const mapped = new Mapped(`Mapped ${children.length} children.`, { result: children });
    let r: unknown = h1(inc, PENDING, mapped);
    if (isThenable(r)) await r;
    r = h2(inc, PENDING, mapped);
    if (isThenable(r)) await r;
    return children.map((c) => c.result as number);
  }
  const steps = bench.steps;
  const results: number[] = new Array(steps.length);
  if (steps.every((s, i) => s.from === i - 1)) {
    for (let i = 0; i < steps.length; i++) results[i] = (await one(steps[i]!.task, steps[i]!.fn, i === 0 ? 0 : results[i - 1])).result as number;
    return results;
  }
  const run = async (i: number) => {
    const step = steps[i]!;
    results[i] = (await one(step.task, step.fn, step.from < 0 ? 0 : results[step.from])).result as number;
  };
  const roots: Promise<void>[] = [];
  for (let i = 0; i < steps.length; i++) if (steps[i]!.from < 0) roots.push(run(i));
  await Promise.all(roots);
  const rest: Promise<void>[] = [];
  for (let i = 0; i < steps.length; i++) if (steps[i]!.from >= 0) rest.push(run(i));
  await Promise.all(rest);
  return results;
}

/** The same DAG and the same handler calls run by p-graph (a promise-graph runner), unlimited concurrency. */
export async function pGraphRun(bench: BenchFlow): Promise<number[]> {
  if (bench.map) throw new Error("p-graph has no mapping; the map shape compares the runner with the hand-written loop only.");
  const results: number[] = new Array(bench.steps.length);
  const nodes = new Map<string, { run: () => Promise<void> }>();
  const edges: [string, string][] = [];
  bench.steps.forEach((step, i) => {
    nodes.set(step.task.name, { run: () => runStep(bench, i, results) });
    if (step.from >= 0) edges.push([bench.steps[step.from]!.task.name, step.task.name]);
  });
  await new PGraph(nodes, edges).run();
  return results;
}

export async function runBench(bench: BenchFlow, maxConcurrency?: number): Promise<State> {
  const final = await bench.flow.run({ clock: virtualClock(), maxConcurrency });
  if (!final.isSuccessful()) throw new Error(`bench flow ${bench.flow.name} ended ${String(final)}`);
  return final;
}

const CHILD = fileURLToPath(new URL("../runner-child.ts", import.meta.url));

/** Median with its spread (min–max and interquartile range) of per-run figures. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const i = (s.length - 1) * q;
    const lo = Math.floor(i);
    return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
  };
  return { median: at(0.5), min: s[0]!, max: s[s.length - 1]!, q1: at(0.25), q3: at(0.75) };
}

export interface IsolatedOptions {
  warmup: number;
  rounds: number;
  reps: number;
  maxConcurrency?: number;
}

/** Runs one subject in a fresh Node process (see bench/runner-child.ts) and returns what it measured. */
export function isolatedRun(subject: Subject, shape: Shape, n: number, o: IsolatedOptions): Promise<ChildResult> {
  const args = ["--import", "tsx", CHILD, subject, shape, String(n), String(o.warmup), String(o.rounds), String(o.reps)];
  if (o.maxConcurrency !== undefined) args.push(String(o.maxConcurrency));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`bench child ${subject} ${shape} ${n} exited ${code}: ${err.trim()}`));
      resolve(JSON.parse(out.trim().split("\n").pop()!) as ChildResult);
    });
  });
}

export interface SubjectFigures {
  subject: Subject;
  cpuMs: Spread;
  wallMs: Spread;
  maxRssMb: number;
  /** Every round's CPU ms per run, across processes. */
  rounds: number[];
}

/**
 * Each subject in its own processes, `processes` times in turn (loop, runner, p-graph, loop, …), so
 * a neighbour's load drifting over the run hits every subject; rounds of all its processes pooled.
 */
export async function isolatedCompare(subjects: Subject[], shape: Shape, n: number, o: IsolatedOptions & { processes: number }): Promise<Record<string, SubjectFigures>> {
  const raw: Record<string, ChildResult[]> = {};
  for (let p = 0; p < o.processes; p++) {
    for (const subject of subjects) (raw[subject] ??= []).push(await isolatedRun(subject, shape, n, o));
  }
  const out: Record<string, SubjectFigures> = {};
  for (const subject of subjects) {
    const runs = raw[subject]!;
    const cpu = runs.flatMap((r) => r.cpuMs);
    out[subject] = {
      subject,
      cpuMs: spread(cpu),
      wallMs: spread(runs.flatMap((r) => r.wallMs)),
      maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
      rounds: cpu,
    };
  }
  return out;
}

export interface RunnerOverhead {
  shape: Shape;
  tasks: number;
  /** Median CPU time of a run. */
  runnerMs: number;
  bareLoopMs: number;
  ratio: number;
  runnerWallMs: number;
  bareLoopWallMs: number;
}

/** The runner against the sequential bare loop, or (`concurrent`) against `bareConcurrent`. */
export async function runnerOverhead(shape: Shape, n: number, rounds = 7, concurrent = false): Promise<RunnerOverhead> {
  const bench = benchFlow(shape, n);
  const baseline = concurrent ? bareConcurrent : bareLoop;
  const r = await compare(() => runBench(bench), () => baseline(bench), { rounds, warmup: 2 });
  return {
    shape,
    tasks: n,
    runnerMs: r.subjectNs / 1e6,
    bareLoopMs: r.baselineNs / 1e6,
    ratio: r.ratio,
    runnerWallMs: r.subjectWallNs / 1e6,
    bareLoopWallMs: r.baselineWallNs / 1e6,
  };
}

export interface HandlerChainCost {
  transitions: number;
  chainNsPerTransition: number;
  directNsPerTransition: number;
  ratio: number;
}

/** `runStateHandlers` with two handlers against awaiting the same two handlers directly. */
export async function handlerChainCost(transitions = 200_000, rounds = 7): Promise<HandlerChainCost> {
  const { handlers } = benchHandlers();
  const [h1, h2] = handlers as [StateHandler, StateHandler];
  const obj = task({ name: "chain" }, () => 1);
  const next = new Success("Task run succeeded.");
  const r = await compare(
    async () => {
      for (let i = 0; i < transitions; i++) await runStateHandlers(obj, handlers, RUNNING, next);
    },
    async () => {
      for (let i = 0; i < transitions; i++) {
        let s: State = next;
        s = (await h1(obj, RUNNING, s)) ?? s;
        s = (await h2(obj, RUNNING, s)) ?? s;
      }
    },
    { rounds, warmup: 2 },
  );
  return {
    transitions,
    chainNsPerTransition: r.subjectNs / transitions,
    directNsPerTransition: r.baselineNs / transitions,
    ratio: r.ratio,
  };
}

export interface RunMemory {
  shape: Shape;
  tasks: number;
  /** Heap kept by a finished run's result (the final states of every task). */
  runBytes: number;
  /** Heap kept by the bare loop's results, for scale. */
  bareLoopBytes: number;
  bytesPerTask: number;
}

export async function runMemory(shape: Shape, n: number): Promise<RunMemory> {
  const bench = benchFlow(shape, n);
  await runBench(bench); // warm the code paths so compiled code is not counted
  await bareLoop(bench);
  const run = await retainedBytes(() => runBench(bench));
  const bare = await retainedBytes(() => bareLoop(bench));
  // Keep both results reachable until both were measured.
  if (!run.value || !bare.value) throw new Error("unreachable");
  return { shape, tasks: n, runBytes: run.bytes, bareLoopBytes: bare.bytes, bytesPerTask: run.bytes / n };
}

export interface DefinitionCost {
  tasks: number;
  /** Making the tasks, building the flow from them and its validated graph. */
  flowMs: number;
  /** Making the same tasks only. */
  tasksOnlyMs: number;
  /** One task called `tasks` times in a builder (each call a copy with its own name). */
  repeatedCallMs: number;
}

/** What defining a big flow costs: guards against quadratic work in the builder or `flow.graph()`. */
export function definitionCost(n: number): DefinitionCost {
  const time = (fn: () => void) => {
    const start = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const tasksOnlyMs = time(() => {
    for (let i = 0; i < n; i++) task({ name: `t${i}` }, (x: number) => x + 1);
  });
  const flowMs = time(() => benchFlow("chain", n).flow.graph());
  const repeatedCallMs = time(() => {
    const inc = task({ name: "inc" }, (x: number) => x + 1);
    new Flow({ name: "repeated" }, () => {
      let r = inc(0);
      for (let i = 1; i < n; i++) r = inc(r);
    }).graph();
  });
  return { tasks: n, flowMs, tasksOnlyMs, repeatedCallMs };
}
