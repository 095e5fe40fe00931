/**
 * Opens run reports in headless Chromium (Debian's `chromium`, driven by playwright-core) for the
 * browser tests, the screenshot script and the benchmark. Development only: playwright-core is a
 * devDependency, and nothing in the published CLI imports this file.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";

/** Where Debian's package puts it. @default "/usr/bin/chromium" */
export const CHROMIUM = process.env.FLOWHOOKS_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_INSTALL = "apt-get install -y --no-install-recommends chromium";

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/**
 * A headless Chromium with a fresh profile (playwright passes it as --user-data-dir) and no network
 * chatter of its own; `close()` removes the profile.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "flowhooks-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
