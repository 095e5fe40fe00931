/**
 * docs/use-in-your-app.md's flow and its two test files, run as a user's app runs them: written to
 * their paths in a fresh folder and run by vitest in a child process (`flowhooks` → the sources).
 * The tests in the doc must pass, and the runner must exit on its own (no socket left open).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { extractBlocks } from "./blocks";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const app = join(root, ".flowhooks", "doc-app");

it("the doc's sample tests pass against its sample flow, and the test runner exits by itself", () => {
  const blocks = extractBlocks("docs/use-in-your-app.md", readFileSync(join(root, "docs", "use-in-your-app.md"), "utf8"));
  const files = new Map(blocks.flatMap((b) => {
    const path = /^\/\/ ([\w./-]+\.ts)\b/.exec(b.code)?.[1];
    return path && (path.startsWith("flows/") || path.startsWith("test/")) ? [[path, b.code] as const] : [];
  }));
  expect([...files.keys()].sort()).toEqual(["flows/orders.ts", "test/orders.test.ts", "test/slack-alerts.test.ts"]);
  rmSync(app, { recursive: true, force: true });
  for (const [path, code] of files) {
    mkdirSync(dirname(join(app, path)), { recursive: true });
    writeFileSync(join(app, path), code);
  }
  writeFileSync(
    join(app, "vitest.config.mjs"),
    `export default { resolve: { alias: { flowhooks: ${JSON.stringify(join(root, "lib", "index.ts"))} } }, test: { include: ["test/**/*.test.ts"], teardownTimeout: 5000 } };\n`,
  );
  const run = spawnSync(join(root, "node_modules", ".bin", "vitest"), ["run", "--root", app, "--config", join(app, "vitest.config.mjs"), "--reporter", "verbose"], {
    cwd: app,
    encoding: "utf8",
    env: { ...process.env, FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "", NO_COLOR: "1", VITEST: undefined, VITEST_WORKER_ID: undefined, VITEST_POOL_ID: undefined },
    timeout: 120_000,
  });
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.error, output).toBeUndefined(); // the timeout would set it: a hang
  expect(run.status, output).toBe(0);
  expect(output).toMatch(/a retry is recorded and the flow succeeds/);
  expect(output).toMatch(/a failed task is posted to Slack/);
  expect(output).toMatch(/Tests\s+3 passed/);
}, 150_000);
