/**
 * Regenerates the run-report screenshots in docs/images (README's first screen, docs/cli.md) and
 * docs/images/report-screenshots.json, the hashes of the reports they show: the drift test
 * (test/run-report/screenshots.test.ts) rebuilds the reports and compares hashes, not pixels.
 *
 *   npx tsx scripts/report-screenshots.ts        (needs Debian's chromium: apt-get install -y --no-install-recommends chromium)
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runCommand } from "../lib/cli/run";
import { virtualClock } from "../lib/core/clock";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The examples shown, and the image each becomes. */
export const SCREENSHOTS = [
  { example: "examples/06-multiple-handlers.ts", image: "docs/images/report-retries.png" },
  { example: "examples/09-mapping.ts", image: "docs/images/report-mapping.png" },
] as const;

export const HASHES_FILE = join(root, "docs/images/report-screenshots.json");

/** A report of `example` run locally on a virtual clock, so its content is the same every time. */
export async function exampleReportHtml(example: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-report-"));
  try {
    const path = join(dir, "run.html");
    await runCommand({ file: join(root, example), report: path, clock: virtualClock(), out: { write: () => true } });
    return readFileSync(path, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function hashHtml(html: string): string {
  return createHash("sha256").update(html).digest("hex");
}

async function main(): Promise<void> {
  const { launchChromium } = await import("../lib/run-report/browser");
  const { context, close } = await launchChromium();
  const hashes: Record<string, string> = {};
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-report-"));
  try {
    for (const { example, image } of SCREENSHOTS) {
      const html = await exampleReportHtml(example);
      hashes[example] = hashHtml(html);
      const file = join(dir, `${hashes[example]}.html`);
      writeFileSync(file, html);
      const page = await context.newPage();
      await page.goto(pathToFileURL(file).href);
      await page.screenshot({ path: join(root, image), fullPage: true });
      await page.close();
      console.log(`${image} ← ${example}`);
    }
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(HASHES_FILE, `${JSON.stringify(hashes, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
