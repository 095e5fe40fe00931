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

/**
 * jest waits for the event loop to empty ("Jest did not exit one second after the test run"), where
 * vitest tears its workers down regardless. So the Slack sample runs here as jest would leave it:
 * its vitest import dropped (as the doc says for jest), minimal globals in its place, and no
 * process.exit: the process must end by itself.
 */
it("the Slack sample leaves nothing open: run without a test runner, its process exits by itself", () => {
  const code = readFileSync(join(app, "test", "slack-alerts.test.ts"), "utf8").replace(/^import .* from "vitest";\n/m, "");
  mkdirSync(join(app, "plain"), { recursive: true });
  writeFileSync(join(app, "plain", "slack-alerts.ts"), code);
  writeFileSync(
    join(app, "plain", "globals.ts"),
    [
      "const g = globalThis as Record<string, unknown>;",
      "const steps: Record<string, (() => unknown)[]> = { before: [], tests: [], after: [] };",
      "g.beforeAll = (f: () => unknown) => steps.before!.push(f);",
      "g.afterAll = (f: () => unknown) => steps.after!.push(f);",
      "g.test = (_name: string, f: () => unknown) => steps.tests!.push(f);",
      "const fail = (m: string) => { throw new Error(m); };",
      "g.expect = (v: any) => ({ toBe: (x: unknown) => v === x || fail(`${v} !== ${x}`), toHaveLength: (n: number) => v.length === n || fail(`length ${v.length} !== ${n}`), toContain: (x: string) => String(v).includes(x) || fail(`no ${x}`) });",
      "export async function runAll(): Promise<void> { for (const f of [...steps.before!, ...steps.tests!, ...steps.after!]) await f(); console.log(\"PLAIN DONE\"); }",
    ].join("\n"),
  );
  writeFileSync(join(app, "plain", "main.ts"), 'import { runAll } from "./globals";\nawait import("./slack-alerts");\nawait runAll();\n');
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "ESNext", moduleResolution: "Bundler", paths: { flowhooks: [join(root, "lib", "index.ts")] } } }));
  const run = spawnSync(join(root, "node_modules", ".bin", "tsx"), [join(app, "plain", "main.ts")], {
    cwd: app,
    encoding: "utf8",
    env: { ...process.env, FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "" },
    timeout: 30_000,
  });
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.error, output).toBeUndefined(); // the timeout would set it: something kept the process alive
  expect(run.status, output).toBe(0);
  expect(output).toContain("PLAIN DONE");
}, 60_000);
