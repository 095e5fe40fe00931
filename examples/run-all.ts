// `npm start`: runs every example of the seed guide locally, in order.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();

for (const file of files) {
  console.log(`\n=== examples/${file} (local run) ===\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { main: () => Promise<void> };
  await mod.main();
}
