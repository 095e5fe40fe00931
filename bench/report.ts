/**
 * Run report size and render time (BENCHMARKS.md, "Run reports"): a 10,000-task flow and a
 * 10,000-child map run locally (some tasks failing, some retried), their reports written, then
 * opened in headless Chromium. Not part of `npm run bench` (it needs chromium):
 *
 *   npx tsx bench/report.ts
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { TimelineTransition } from "../lib/cli/timeline";
import { virtualClock } from "../lib/core/clock";
import { Flow } from "../lib/core/flow";
import { task } from "../lib/core/task";
import { launchChromium } from "../lib/run-report/browser";
import { writeRunReport } from "../lib/run-report/index";

const N = 10_000;
const ROUNDS = 5;

/** Every 100th task fails on its first attempt and is retried; every 1,000th fails for good. */
function body(i: number, attempt: number): number {
  if (i % 1000 === 7) throw new Error(`item ${i} is bad`);
  if (i % 100 === 3 && attempt === 1) throw new Error(`item ${i} busy`);
  return i;
}

function wideFlow(): Flow {
  const attempts = new Map<number, number>();
  return new Flow({ name: `report-${N}-tasks` }, () => {
    for (let i = 0; i < N; i++) {
      task({ name: `t${i}`, maxRetries: 1, retryDelaySeconds: 1 }, () => {
        const a = (attempts.get(i) ?? 0) + 1;
        attempts.set(i, a);
        return body(i, a);
      })();
    }
  });
}

function mapFlow(): Flow {
  const attempts = new Map<number, number>();
  const list = task({ name: "list" }, () => Array.from({ length: N }, (_, i) => i));
  const work = task({ name: "work", maxRetries: 1, retryDelaySeconds: 1 }, (i: number) => {
    const a = (attempts.get(i) ?? 0) + 1;
    attempts.set(i, a);
    return body(i, a);
  });
  return new Flow({ name: `report-${N}-child-map` }, () => {
    work.map(list());
  });
}

async function report(flow: Flow, path: string): Promise<{ writeMs: number; bytes: number }> {
  const transitions: TimelineTransition[] = [];
  await flow.run({ clock: virtualClock(), onTransition: (e) => transitions.push({ kind: e.kind, name: e.name, attempt: e.attempt, mapIndex: e.mapIndex, oldState: e.oldState, newState: e.newState, at: e.at }) });
  const t = performance.now();
  await writeRunReport({ path, source: "run", flow: flow.name, flowObject: flow, transitions });
  return { writeMs: performance.now() - t, bytes: statSync(path).size };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-bench-report-"));
  const browser = await launchChromium();
  try {
    for (const [label, flow] of [[`${N} tasks`, wideFlow()], [`${N}-child map`, mapFlow()]] as const) {
      const path = join(dir, "run.html");
      const { writeMs, bytes } = await report(flow, path);
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const page = await browser.context.newPage();
        const t = performance.now();
        await page.goto(pathToFileURL(path).href, { waitUntil: "load" });
        // Two frames: the layout is done and painted.
        await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
        times.push(performance.now() - t);
        await page.close();
      }
      console.log(`${label}: report ${(bytes / 1024).toFixed(0)} KiB, written in ${writeMs.toFixed(0)} ms; load + first paint in Chromium, median of ${ROUNDS}: ${median(times).toFixed(0)} ms (max ${Math.max(...times).toFixed(0)} ms)`);
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
