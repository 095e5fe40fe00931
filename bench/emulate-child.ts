/**
 * Section 6's subjects, each alone in its own process: the emulator (`emulate()` on a prepared
 * target) or the same deployed ASL run bare in aws-local-stepfunctions with every Task answered at
 * once. Alone, so the bare run never pays for hooks the emulator turned on.
 *
 * `node --import tsx bench/emulate-child.ts MODE ASSEMBLY FLOW WARMUP ROUNDS` (MODE prepare: synthesize and
 * bundle FLOW once in this fresh process; ASSEMBLY, WARMUP and ROUNDS are ignored)
 * prints one JSON line: CPU and wall ms of each timed run.
 */
import { fileURLToPath } from "node:url";
import { emulate, prepareEmulation } from "../lib/emulate/index";
import { bareRunner } from "./bare-asl";

const ENTRY = fileURLToPath(new URL("./fixtures/emulate-flow.ts", import.meta.url));
async function main(): Promise<void> {
  const [mode, assembly, flow, warmup, rounds] = process.argv.slice(2) as [string, string, string, string, string];
  if (mode === "prepare") {
    // Synthesize and bundle in a fresh process, as `flowhooks emulate` does on every start.
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await prepareEmulation({ entry: ENTRY, flow });
    const used = process.cpuUsage(cpu);
    process.stdout.write(`${JSON.stringify({ mode, flow, cpuMs: [(used.user + used.system) / 1000], wallMs: [Number(process.hrtime.bigint() - wall) / 1e6] })}\n`);
    return;
  }
  const target = await prepareEmulation({ entry: ENTRY, flow, assembly });
  const once =
    mode === "bare"
      ? bareRunner(target.prepared.definition, target.prepared.taskStates)
      : async () => {
          const result = await emulate({ target, fastRetries: true, write: () => {} });
          if (result.status !== "SUCCEEDED") throw new Error(`the emulated ${flow} ended ${result.status}`);
        };
  for (let i = 0; i < Number(warmup); i++) await once();
  const cpuMs: number[] = [];
  const wallMs: number[] = [];
  for (let i = 0; i < Number(rounds); i++) {
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await once();
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
    wallMs.push(Number(process.hrtime.bigint() - wall) / 1e6);
  }
  process.stdout.write(`${JSON.stringify({ mode, flow, cpuMs, wallMs })}\n`);
}

await main();
