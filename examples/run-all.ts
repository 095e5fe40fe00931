// `npm start`: runs every example of the seed guide locally, then emulated as deployed
// (synthesized with the CDK, bundled with esbuild, run by aws-local-stepfunctions with the
// bundled task Lambdas and the handler Lambda in-process). `npm start -- --local` skips emulation;
// an example that exports `localOnly = true` is run locally only. Tasks that wait for approval are
// approved (`--approve all`), as `flow.run({ approve })` does in each example's `main`.
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { emulateCommand } from "../lib/emulate/index";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();
const localOnly = process.argv.includes("--local");
const emulated: string[] = [];

for (const file of files) {
  console.log(`\n=== examples/${file}: local run (flow.run()) ===\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { main: () => Promise<void>; localOnly?: boolean };
  await mod.main();
  if (mod.localOnly !== true) emulated.push(file);
}

if (!localOnly) {
  for (const file of emulated) {
    console.log(`\n=== examples/${file}: emulated as deployed (flowhooks emulate --fast-retries --approve all) ===\n`);
    await emulateCommand({ file: relative(process.cwd(), join(here, file)), fastRetries: true, approve: "all" });
  }
  for (const file of files.filter((f) => !emulated.includes(f))) {
    console.log(`\n=== examples/${file}: not emulated: it exports localOnly ===`);
  }
}
