/**
 * Run reports of the examples, opened in a real headless Chromium: what a person sees, and that the
 * page asks the network for nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { runCommand } from "../../lib/cli/run";
import { virtualClock } from "../../lib/core/clock";
import { emulateCommand } from "../../lib/emulate/command";
import { CHROMIUM_INSTALL, chromiumAvailable, launchChromium } from "../../lib/run-report/browser";
import { FAMILY_STYLE } from "../../lib/run-report/html";
import { describeWithTool } from "../helpers/external-tool";

const root = join(import.meta.dirname, "../..");
const quiet = { write: () => true };

describeWithTool("chromium", chromiumAvailable(), CHROMIUM_INSTALL)("run reports in a real browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "report-browser-"));
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  /** Per open page: console errors, and every request other than the report file itself. */
  const problems = new Map<Page, string[]>();

  beforeAll(async () => {
    await runCommand({ file: join(root, "examples/06-multiple-handlers.ts"), report: join(dir, "06.html"), clock: virtualClock(), out: quiet });
    await runCommand({ file: join(root, "examples/08-on-failure.ts"), report: join(dir, "08.html"), clock: virtualClock(), out: quiet });
    await runCommand({ file: join(root, "examples/09-mapping.ts"), report: join(dir, "09.html"), clock: virtualClock(), out: quiet });
    await emulateCommand({ file: join(root, "examples/08-on-failure.ts"), fastRetries: true, report: join(dir, "08-emulated.html"), out: quiet });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string): Promise<Page> {
    const page = await browser.context.newPage();
    const url = pathToFileURL(join(dir, name)).href;
    const seen: string[] = [];
    problems.set(page, seen);
    page.on("console", (m) => m.type() === "error" && seen.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => seen.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => seen.push(`failed request: ${r.url()}`));
    page.on("request", (r) => r.url() !== url && seen.push(`request: ${r.url()}`));
    await page.goto(url);
    return page;
  }

  it("loads every example's report with no console error and no request beyond the file", async () => {
    for (const name of ["06.html", "08.html", "09.html", "08-emulated.html"]) {
      const page = await open(name);
      await page.waitForLoadState("load");
      expect(problems.get(page), name).toEqual([]);
      await page.close();
    }
  });

  it("shows every task of the mapping example in the DAG and the timeline, maps with their children counted", async () => {
    const page = await open("09.html");
    const rows = await page.locator("#gantt .name").evaluateAll((els) => els.map((e) => e.getAttribute("data-task")));
    expect(rows).toEqual(["listPages", "download", "parse", "summarize"]);
    const nodes = await page.locator("#graph g.node text").evaluateAll((els) => els.map((e) => e.textContent));
    for (const task of ["listPages", "download [map]", "parse [map]", "summarize"]) expect(nodes).toContain(task);
    await expect(page.locator('#gantt .name[data-task="download"]').innerText()).resolves.toMatch(/3 children: 3 succeeded \/ 0 failed \/ 1 retried/);
    await page.close();
  });

  it("shows the failed task in the failed colour and labelled Failed, in the DAG and the timeline", async () => {
    const page = await open("08.html");
    const chip = page.locator('#gantt .name[data-task="divide"] .chip');
    await expect(chip.innerText()).resolves.toContain("Failed");
    const bg = await chip.evaluate((e) => e.ownerDocument.defaultView!.getComputedStyle(e).backgroundColor);
    expect(bg).toBe(rgb(FAMILY_STYLE.failed.bg));
    const node = page.locator("#graph g.node", { hasText: "divide" });
    await expect(node.locator("path").getAttribute("fill")).resolves.toBe(FAMILY_STYLE.failed.bg);
    await expect(node.evaluate((e) => e.textContent)).resolves.toContain("✖ Failed");
    // Its details open on click and say why, as the timeline does.
    await page.locator('details[data-task="divide"] summary').click();
    await expect(page.locator('details[data-task="divide"] table').innerText()).resolves.toContain("division by zero");
    await page.close();
  });

  it("draws a retried task's attempts as separate bars with the wait between them", async () => {
    const page = await open("06.html");
    const track = page.locator('#gantt .track[data-task="flaky"]');
    const attempts = await track.locator('[data-kind="attempt"]').evaluateAll((els) => els.map((e) => ({ n: e.getAttribute("data-attempt"), box: e.getBoundingClientRect().toJSON() })));
    expect(attempts.map((a) => a.n)).toEqual(["1", "2"]);
    for (const a of attempts) expect(a.box.width).toBeGreaterThan(0);
    expect(attempts[1]!.box.x).toBeGreaterThan(attempts[0]!.box.x + attempts[0]!.box.width);
    await expect(track.locator('[data-kind="wait"]').count()).resolves.toBe(1);
    await page.close();
  });

  it("lists the alerts an emulated run sent: channel, time and subject", async () => {
    const page = await open("08-emulated.html");
    const rows = await page.locator("#alerts tr.alert").evaluateAll((els) => els.map((e) => [...e.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    expect(rows.map((r) => [r[1], r[2]])).toEqual([
      ["console", "task divide"],
      ["console", "flow on-failure-demo"],
    ]);
    for (const r of rows) expect(r[0]).toMatch(/^\d{4}-\d\d-\d\dT/);
    await page.close();
  });

  it("keeps every state label's text at WCAG AA contrast (4.5:1) against its background", async () => {
    const page = await open("09.html");
    const pairs = await page.locator(".legend .chip").evaluateAll((els) => els.map((e) => [e.ownerDocument.defaultView!.getComputedStyle(e).color, e.ownerDocument.defaultView!.getComputedStyle(e).backgroundColor]));
    expect(pairs.length).toBeGreaterThanOrEqual(7);
    for (const [fg, bg] of pairs) expect(contrast(fg!, bg!), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
    await page.close();
  });
});

function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** WCAG 2 contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = c.match(/\d+/g)!.map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}
