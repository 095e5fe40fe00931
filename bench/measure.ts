/** Timing and memory helpers shared by the bench sections: medians of interleaved runs, forced GC. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Nanoseconds of CPU (user + system, all threads, so GC helpers count) and of wall time while `fn`
 * ran. On a shared machine CPU time is the steadier figure: waiting for a core is not our cost.
 */
export async function timeNs(fn: () => unknown): Promise<{ cpuNs: number; wallNs: number }> {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(cpu);
  return { cpuNs: (used.user + used.system) * 1000, wallNs: Number(process.hrtime.bigint() - wall) };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median CPU times (and wall times) of `subject` and `baseline`, run alternately after `warmup` rounds, so drift
 * (JIT, GC, a busy neighbour) hits both sides alike.
 */
export async function compare(
  subject: () => unknown,
  baseline: () => unknown,
  { rounds, warmup }: { rounds: number; warmup: number },
): Promise<{ subjectNs: number; baselineNs: number; ratio: number; subjectWallNs: number; baselineWallNs: number }> {
  for (let i = 0; i < warmup; i++) {
    await subject();
    await baseline();
  }
  const s: { cpuNs: number; wallNs: number }[] = [];
  const b: { cpuNs: number; wallNs: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    collectGarbage();
    s.push(await timeNs(subject));
    collectGarbage();
    b.push(await timeNs(baseline));
  }
  const subjectNs = median(s.map((t) => t.cpuNs));
  const baselineNs = median(b.map((t) => t.cpuNs));
  return {
    subjectNs,
    baselineNs,
    ratio: subjectNs / baselineNs,
    subjectWallNs: median(s.map((t) => t.wallNs)),
    baselineWallNs: median(b.map((t) => t.wallNs)),
  };
}

let gcFn: (() => void) | undefined | null = null;

/**
 * A full GC, from `global.gc` or by enabling `--expose-gc` at run time (so `npm run bench`, which
 * runs under tsx without node flags, still measures retained memory).
 */
export function collectGarbage(): boolean {
  if (gcFn === null) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === "function") gcFn = g;
    else {
      setFlagsFromString("--expose-gc");
      const fromContext = runInNewContext("typeof gc === 'function' ? gc : undefined") as (() => void) | undefined;
      gcFn = fromContext;
    }
  }
  if (!gcFn) return false;
  gcFn();
  return true;
}

/** Bytes retained by what `make` returns (kept alive until measured), after a full GC on each side. */
export async function retainedBytes<T>(make: () => Promise<T>): Promise<{ bytes: number; value: T }> {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const value = await make();
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  return { bytes: after - before, value };
}
