/**
 * One run of every example on the default engine and on the moto engine, wall time per execution
 * (synthesis excluded: both read the shared assembly; moto's server started before, reset and the
 * state machines created per execution as the engine does). For BENCHMARKS.md:
 * `npx tsx test/emulate/moto/measure-engines.ts` (needs moto).
 */
import { join } from "node:path";
import { emulate, type EmulationTarget } from "../../../lib/emulate/index";
import { MotoEngine } from "../../../lib/emulate/moto/engine";
import { sharedTarget, withMapMode } from "../helpers";

const examples = ["01-flow-state-handler", "02-task-state-handler", "03-post-to-slack", "04-retry-alert", "05-special-failure", "06-multiple-handlers", "07-callback-factory", "08-on-failure", "09-mapping"];

async function main(): Promise<void> {
  const engine = new MotoEngine();
  const rows: string[] = [];
  try {
    // Not recorded: moto's server start, and each engine's first run (module loading, cold containers).
    const started = performance.now();
    const first = await sharedTarget(join(import.meta.dirname, "../../../examples", `${examples[0]}.ts`));
    await emulate({ target: first, engine, fastRetries: true, write: () => undefined });
    console.log(`moto server start + first execution: ${(performance.now() - started).toFixed(0)} ms`);
    await emulate({ target: first, fastRetries: true, write: () => undefined });
    for (const name of examples) {
      const loaded = await sharedTarget(join(import.meta.dirname, "../../../examples", `${name}.ts`));
      // moto 5.2.1 cannot parse a Distributed Map: the mapped example runs inline on both engines.
      const target: EmulationTarget = name === "09-mapping" ? withMapMode(loaded, "inline") : loaded;
      const time = async (which?: MotoEngine) => {
        const started = performance.now();
        await emulate({ target, engine: which, fastRetries: true, write: () => undefined });
        return performance.now() - started;
      };
      const moto = await time(engine);
      const byDefault = await time();
      rows.push(`| ${name}${name === "09-mapping" ? " (inline map)" : ""} | ${byDefault.toFixed(0)} ms | ${moto.toFixed(0)} ms |`);
      console.log(rows.at(-1));
    }
  } finally {
    await engine.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
