/**
 * What an emulation spends its CPU on (section 6), warm runs only (synthesis and warm-ups not profiled):
 * `npx tsx bench/profile-emulate.ts [TASKS] [RUNS] [OUT]` writes OUT (default /tmp/emulate.cpuprofile;
 * BENCH_NO_PROFILE=1: only the CPU per run),
 * then `npx tsx bench/profile-summary.ts OUT` (self time per function and per file).
 * TASKS is one of section 6's chains (25, 100, 500; default 100); RUNS timed runs (default 40) after 3 warm-ups.
 * BENCH_BARE=1 profiles the baseline instead (the same definition run bare, bench/bare-asl.ts), so the
 * two profiles can be compared part by part.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
const PROFILE = process.env.BENCH_NO_PROFILE !== "1";
import { fileURLToPath } from "node:url";
import { emulate, prepareEmulation } from "../lib/emulate/index";
import { bareRunner } from "./bare-asl";

const ENTRY = fileURLToPath(new URL("./fixtures/emulate-flow.ts", import.meta.url));
const tasks = Number(process.argv[2] ?? 100);
const runs = Number(process.argv[3] ?? 40);
const target = await prepareEmulation({ entry: ENTRY, flow: `bench-emulate-${tasks}` });
const BARE = process.env.BENCH_BARE === "1";
const once = BARE
  ? bareRunner(target.prepared.definition, target.prepared.taskStates)
  : async () => {
      const result = await emulate({ target, fastRetries: true, write: () => {} });
      if (result.status !== "SUCCEEDED") throw new Error(`the emulated chain ended ${result.status}`);
    };
for (let i = 0; i < 3; i++) await once();
const out = process.argv[4] ?? "/tmp/emulate.cpuprofile";
const session = new Session();
if (PROFILE) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
const cpu = process.cpuUsage();
for (let i = 0; i < runs; i++) await once();
const used = process.cpuUsage(cpu);
if (PROFILE) {
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(out, JSON.stringify(profile));
}
console.log(`${runs} ${BARE ? "bare " : ""}runs of a ${tasks}-task chain: ${((used.user + used.system) / 1000 / runs).toFixed(2)} ms CPU per run`);
