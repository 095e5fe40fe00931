// `npm start`: runs every example of the seed guide locally, then emulated as deployed
// (synthesized with the CDK, bundled with esbuild, run by aws-local-stepfunctions with the
// bundled task Lambdas and the handler Lambda in-process). `npm start -- --local` skips emulation.
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { emulateCommand } from "../lib/emulate/index";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();
const localOnly = process.argv.includes("--local");

for (const file of files) {
  console.log(`\n=== examples/${file}: local run (flow.run()) ===\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { main: () => Promise<void> };
  await mod.main();
}

if (!localOnly) {
  for (const file of files) {
    console.log(`\n=== examples/${file}: emulated as deployed (flowhooks emulate --fast-retries) ===\n`);
    await emulateCommand({ file: relative(process.cwd(), join(here, file)), fastRetries: true });
  }
}
