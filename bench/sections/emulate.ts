/**
 * Section 6: a flow through `flowhooks emulate`'s engine (bundled task Lambdas in-process, events
 * routed to the handler Lambda's code) against the same deployed ASL run bare in
 * aws-local-stepfunctions with no-op tasks: what the emulator's fidelity costs per run. Each side
 * runs in its own process (bench/emulate-child.ts); CPU time per run, median with min–max.
 *
 * The two sides run as PAIRS pairs of processes, one side then the other, the order swapped every
 * pair, and each side's median is taken over all its runs: on a shared machine the same process
 * measured minutes apart moves by up to 2x (the bare 25-task run: 1.3–30.7 ms in one child), so one
 * child per side made the ratio a coin toss between 3x and 6.5x. Each pair's own ratio is reported too.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Pending } from "../pending";
import { fmt, type Row } from "../table";
import type { SectionOutput } from "./index";
import { spread, type Spread } from "./runner";

const EMULATE_INDEX = fileURLToPath(new URL("../../lib/emulate/index.ts", import.meta.url));
const ENTRY = fileURLToPath(new URL("../fixtures/emulate-flow.ts", import.meta.url));
const CHILD = fileURLToPath(new URL("../emulate-child.ts", import.meta.url));

interface EmulateModule {
  prepareEmulation(options: { entry: string; flow?: string }): Promise<{ synthesized: { outdir: string } }>;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function child(mode: "emulate" | "bare" | "prepare", assembly: string, flow: string, warmup: number, rounds: number): Promise<{ cpuMs: number[]; wallMs: number[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", CHILD, mode, assembly, flow, String(warmup), String(rounds)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`emulate bench child ${mode} ${flow} exited ${code}: ${err.trim()}`));
      resolve(JSON.parse(out.trim().split("\n").pop()!) as { cpuMs: number[]; wallMs: number[] });
    });
  });
}

/** Warm-up runs of each side before the timed ones. */
const WARMUP = 3;
/** Process pairs per size (BENCH_EMULATE_PAIRS to change). */
const PAIRS = Math.max(1, Number(process.env.BENCH_EMULATE_PAIRS ?? 3));

const range = (s: Spread) => `${s.min.toFixed(1)}–${s.max.toFixed(1)}`;

/** `sizes`: chain lengths, each with the 5x goal; 100 (or the largest) also times a fresh synthesis. */
export async function emulationSection(sizes: number[], rounds = 5): Promise<SectionOutput> {
  if (!existsSync(EMULATE_INDEX)) throw new Pending("lib/emulate (the emulator behind `flowhooks emulate`) does not exist yet");
  const { prepareEmulation } = (await import(EMULATE_INDEX)) as EmulateModule;
  const rows: Row[] = [];
  const data: unknown[] = [];
  const goalSize = sizes.includes(100) ? 100 : Math.max(...sizes);
  for (const n of sizes) {
    const flow = `bench-emulate-${n}`;
    let start = process.hrtime.bigint();
    const target = await prepareEmulation({ entry: ENTRY, flow });
    const prepareMs = ms(start);
    const r = n >= 500 ? Math.min(rounds, 5) : rounds;
    // The same warm-up on both sides, in every process.
    const emuRuns: number[] = [];
    const bareRuns: number[] = [];
    const emuWall: number[] = [];
    const bareWall: number[] = [];
    const pairRatios: number[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const sides = pair % 2 === 0 ? (["emulate", "bare"] as const) : (["bare", "emulate"] as const);
      const got: Partial<Record<"emulate" | "bare", { cpuMs: number[]; wallMs: number[] }>> = {};
      for (const side of sides) got[side] = await child(side, target.synthesized.outdir, flow, WARMUP, side === "bare" ? Math.max(r, 5) : r);
      emuRuns.push(...got.emulate!.cpuMs);
      bareRuns.push(...got.bare!.cpuMs);
      emuWall.push(...got.emulate!.wallMs);
      bareWall.push(...got.bare!.wallMs);
      pairRatios.push(spread(got.emulate!.cpuMs).median / spread(got.bare!.cpuMs).median);
    }
    const emu = { cpuMs: emuRuns, wallMs: emuWall };
    const bare = { cpuMs: bareRuns, wallMs: bareWall };
    const e = spread(emu.cpuMs);
    const b = spread(bare.cpuMs);
    // The emulator's own CPU per task: what it adds to the bare run (aws-local-stepfunctions itself
    // grows faster than linearly with a chain's length: it copies the growing execution JSON each step).
    const perTask = (e.median - b.median) / n;
    data.push({ tasks: n, prepareMs, pairs: PAIRS, pairRatios, emulateCpuMs: e, bareCpuMs: b, emulateWallMs: spread(emu.wallMs), bareWallMs: spread(bare.wallMs), emulateRuns: emu.cpuMs, bareRuns: bare.cpuMs });
    rows.push({
      section: "6-emulate",
      figure: `${n}-task chain through the emulator, CPU, median of ${PAIRS}×${r} runs (${PAIRS} process pairs, order alternating) after ${WARMUP} warm-ups each`,
      value: `${fmt.ms(e.median)} (${range(e)}); own ${perTask.toFixed(2)} ms/task`,
      baseline: `${fmt.ms(b.median)} (${range(b)}) same ASL, no-op tasks`,
      ratio: `${fmt.x(e.median / b.median)} (pairs ${Math.min(...pairRatios).toFixed(2)}–${Math.max(...pairRatios).toFixed(2)}x)`,
      // Issue 25: within 5x of the bare run at every size.
      goal: "≤ 5x",
      verdict: e.median / b.median <= 5 ? "ok" : "MISSED",
    });
    if (n === goalSize) {
      const fresh = await child("prepare", "-", flow, 0, 1);
      data.push({ tasks: n, prepareFreshCpuMs: fresh.cpuMs[0], prepareFreshWallMs: fresh.wallMs[0] });
      rows.push({
        section: "6-emulate",
        figure: `${n}-task chain: synthesize + bundle for the emulator, in a fresh process (as \`flowhooks emulate\` starts)`,
        value: `${fmt.ms(fresh.cpuMs[0]!)} CPU`,
        baseline: `${fmt.ms(prepareMs)} wall in a warm process`,
        ratio: "",
        goal: "",
        verdict: "",
      });
    }
  }
  return { rows, data };
}
