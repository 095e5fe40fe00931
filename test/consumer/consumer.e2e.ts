/**
 * The package as users get it: `npm pack`, installed into fresh apps of both shapes, each driven by
 * its own tools. This is the one test that installs from the npm registry (as users do); it runs
 * as its own step (`npm run test:consumer`), one install per app.
 *
 * - "cdk-init": `cdk init app --language typescript --generate-only`, unmodified (CommonJS, its own
 *   TypeScript, jest with @swc/jest, `npx tsc && npx tsx` as the app command), plus the user's files.
 * - "esm": a hand-made ESM app (`"type": "module"`, NodeNext, vitest) on aws-cdk-lib 2.269.0, the
 *   lowest version the peer range admits (the cdk-init app gets the newest); also type-checked with
 *   `moduleResolution: bundler`. It runs on Node.js 22.12.0, the oldest `engines` admits (its own
 *   `node@22.12.0` devDependency, first on PATH for its npm scripts and npx), while the others run
 *   on the repository's Node 24.
 * - "init": what `flowhooks init --package ./<tarball>` scaffolds (the README's install steps), untouched.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeSlack } from "../helpers/fake-slack";

const repo = join(import.meta.dirname, "..", "..");
const apps = join(import.meta.dirname, "apps");
const work = mkdtempSync(join(tmpdir(), "flowhooks-consumer-"));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Children run on this process's Node (24) and see none of the repository's node_modules/.bin.
const nodeDir = join(work, "node-bin");
mkdirSync(nodeDir);
symlinkSync(process.execPath, join(nodeDir, "node"));
const PATH = [nodeDir, ...(process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules"))].join(delimiter);
// The machine's environment (certificates, proxies, HOME) without what `npm run` and vitest add.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|NODE$|NODE_OPTIONS$|VITEST|TSX_)/i.test(k)),
);
Object.assign(env, {
  PATH,
  NO_COLOR: "1",
  CDK_DISABLE_VERSION_CHECK: "true",
  CDK_DISABLE_CLI_TELEMETRY: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
});
delete env.FORCE_COLOR;

function run(cwd: string, command: string, args: string[], timeoutMs = 300_000, extraEnv: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(cwd: string, command: string, args: string[], timeoutMs?: number, extraEnv?: Record<string, string>): Promise<Result> {
  const result = await run(cwd, command, args, timeoutMs, extraEnv);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.code} in ${cwd}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  }
  return result;
}

/** The Node an app's own tools run on: its `node` devDependency when it has one (the ESM app's 22.12.0). */
function appNode(dir: string): string {
  const own = join(dir, "node_modules", ".bin", "node");
  return existsSync(own) ? own : "node";
}

function place(from: string, to: string, edit: (text: string) => string = (t) => t): void {
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, edit(readFileSync(from, "utf8")));
}

let tarball = "";
const cjsApp = join(work, "cdk-init-app");
const esmApp = join(work, "esm-app");
const initApp = join(work, "init-app");

beforeAll(async () => {
  // The package exactly as `npm publish` would upload it (prepack builds dist/).
  const packed = await ok(repo, "npm", ["pack", "--json", "--pack-destination", work]);
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string }[];
  tarball = join(work, filename);

  mkdirSync(cjsApp);
  await ok(cjsApp, join(repo, "node_modules", ".bin", "cdk"), ["init", "app", "--language", "typescript", "--generate-only"]);
  place(join(apps, "shared", "orders.ts"), join(cjsApp, "flows", "orders.ts"));
  place(join(apps, "shared", "release.ts"), join(cjsApp, "flows", "release.ts"));
  place(join(apps, "shared", "orders.test.ts"), join(cjsApp, "test", "orders.test.ts"));
  place(join(apps, "cjs", "orders-stack.ts"), join(cjsApp, "lib", "orders-stack.ts"));
  const appFile = readdirSync(join(cjsApp, "bin")).find((f) => f.endsWith(".ts"))!;
  place(join(apps, "cjs", "app.ts"), join(cjsApp, "bin", appFile));

  mkdirSync(esmApp);
  const esmRelative = (t: string) => t.replace(/from "(\.\.\/[^"]+)"/g, (_m, p: string) => `from "${p}.js"`);
  for (const f of ["package.json", "tsconfig.json", "tsconfig.bundler.json", "cdk.json"]) {
    place(join(apps, "esm", f), join(esmApp, f), (t) => t.replace("FLOWHOOKS_TARBALL", `file:${tarball}`));
  }
  place(join(apps, "shared", "orders.ts"), join(esmApp, "flows", "orders.ts"));
  place(join(apps, "shared", "release.ts"), join(esmApp, "flows", "release.ts"));
  place(join(apps, "shared", "orders.test.ts"), join(esmApp, "test", "orders.test.ts"), (t) => `import { expect, test } from "vitest";\n${esmRelative(t)}`);
  place(join(apps, "esm", "orders-stack.ts"), join(esmApp, "lib", "orders-stack.ts"));
  place(join(apps, "esm", "app.ts"), join(esmApp, "bin", "app.ts"));

  // The repository's CLI (its sources) scaffolds the third app, pointing it at the tarball.
  // As the README says to: the tarball's path, relative to where init runs.
  await ok(work, join(repo, "node_modules", ".bin", "node"), [join(repo, "bin", "flowhooks.js"), "init", initApp, "--package", `./${filename}`]);

  // One install per app, all at once.
  await Promise.all([
    ok(cjsApp, "npm", ["install", tarball], 840_000),
    ok(esmApp, "npm", ["install"], 840_000),
    ok(initApp, "npm", ["install"], 840_000),
  ]);
}, 900_000);

describe.each([
  ["cdk-init (CommonJS, jest, its own TypeScript)", () => cjsApp],
  ["ESM (NodeNext, vitest, aws-cdk-lib 2.269.0)", () => esmApp],
])("flowhooks installed into an app: %s", (_shape, dir) => {
  it("`npx cdk synth` (with the app's tsc step) synthesizes the flow's state machine offline", async () => {
    const { stdout } = await ok(dir(), "npx", ["cdk", "synth", "--no-notices", "--quiet"]);
    expect(stdout).not.toMatch(/error/i);
    const template = JSON.parse(readFileSync(join(dir(), "cdk.out", "OrdersStack.template.json"), "utf8")) as { Resources: Record<string, { Type: string }> };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === "AWS::StepFunctions::StateMachine")).toHaveLength(1);
    expect(types.filter((t) => t === "AWS::Lambda::Function").length).toBeGreaterThanOrEqual(2);
  });

  it("the app's own test runner runs the user's state-handler test", async () => {
    const { stdout, stderr } = await ok(dir(), "npm", ["test"]);
    expect(`${stdout}\n${stderr}`).toMatch(/3 passed|Tests:\s+\d+ passed/);
  });

  it("plain node loads both entry points through require and import", async () => {
    const script = "const f = require('flowhooks'); const c = require('flowhooks/cdk'); console.log(typeof f.Flow, typeof f.Failed, typeof c.FlowStateMachine)";
    expect((await ok(dir(), appNode(dir()), ["-e", script])).stdout.trim()).toBe("function function function");
    const esm = "const f = await import('flowhooks'); const c = await import('flowhooks/cdk'); console.log(typeof f.Flow, typeof c.FlowStateMachine)";
    expect((await ok(dir(), appNode(dir()), ["--input-type=module", "-e", esm])).stdout.trim()).toBe("function function");
  });

  it("`npx flowhooks run` runs the TypeScript flow file with live progress", async () => {
    const { stdout } = await ok(dir(), "npx", ["flowhooks", "run", "flows/orders.ts"]);
    expect(stdout).toContain("Retrying");
    expect(stdout).toContain("withTax: Mapped 2 children");
    expect(stdout).toContain('Success("All reference tasks succeeded.")');
  });

  it("`npx flowhooks graph --format svg` draws it with no system Graphviz", async () => {
    const { stdout } = await ok(dir(), "npx", ["flowhooks", "graph", "flows/orders.ts", "--format", "svg"]);
    expect(stdout).toContain("<svg");
    expect(stdout).toContain(">fetchOrders</text>");
  });

  it("`npx flowhooks emulate FILE` runs the synthesized state machine", async () => {
    const { stdout } = await ok(dir(), "npx", ["flowhooks", "emulate", "flows/orders.ts", "--fast-retries"]);
    expect(stdout).toContain("SUCCEEDED");
    // The mapped task ran as a Step Functions Map, its children through the packaged task code.
    expect(stdout).toContain('Pending → Mapped("Mapped 2 children.")');
  });

  it("`npx flowhooks emulate FILE --approve all` runs control flow as deployed: a loop, a branch, a sub-flow's execution and an approval", async () => {
    const { stdout } = await ok(dir(), "npx", ["flowhooks", "emulate", "flows/release.ts", "--approve", "all"]);
    expect(stdout).toContain("Execution SUCCEEDED");
    expect(stdout).toContain('Running → Looped("page 1")');
    expect(stdout).toContain('Pending → Skipped("Case `isBig` did not return false');
    expect(stdout).toContain('Pending → Paused("Waiting for approval.")');
    expect(stdout).toContain('Running → Success("All reference tasks succeeded.")');
  });

  it("`npx flowhooks emulate` with no FILE synthesizes the app itself and runs its construct", async () => {
    const { stdout } = await ok(dir(), "npx", ["flowhooks", "emulate", "--fast-retries"]);
    expect(stdout).toContain("SUCCEEDED");
  });
});

describe("an app made by `flowhooks init`", () => {
  it("passes its own `npm test` (tsc, then vitest) right after install", async () => {
    await ok(initApp, "npm", ["test"]);
  });

  it("synthesizes offline with `npx cdk synth`", async () => {
    await ok(initApp, "npx", ["cdk", "synth", "--no-notices", "--quiet"]);
    expect(readdirSync(join(initApp, "cdk.out")).some((f) => f.endsWith(".template.json"))).toBe(true);
  });

  it("runs and emulates its example flow", async () => {
    expect((await ok(initApp, "npx", ["flowhooks", "run", "flows/orders.ts"])).stdout).toContain("Success(");
    expect((await ok(initApp, "npx", ["flowhooks", "emulate", "--fast-retries"])).stdout).toContain("SUCCEEDED");
  });

  it("follows its README's Slack steps: the retry alert reaches a Slack stand-in locally, emulated (from the task function) and the stack gives the secret", async () => {
    const readme = readFileSync(join(initApp, "README.md"), "utf8");
    // Step 2 of the README: name the secret in cdk.json's context.
    expect(readme).toContain('"slackWebhookSecretName": "orders/slack-webhook"');
    const cdkJson = JSON.parse(readFileSync(join(initApp, "cdk.json"), "utf8")) as { context?: Record<string, unknown> };
    cdkJson.context = { ...cdkJson.context, slackWebhookSecretName: "orders/slack-webhook" };
    writeFileSync(join(initApp, "cdk.json"), `${JSON.stringify(cdkJson, null, 2)}\n`);
    // Step 3: the local value, here a Slack stand-in on 127.0.0.1.
    expect(readme).toContain("export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=");
    const slack = await startFakeSlack();
    try {
      const local = { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: slack.url };
      const titles = () => slack.accepted().map((body) => String(body.blocks?.[0]?.text?.text));
      await ok(initApp, "npx", ["flowhooks", "run", "flows/orders.ts", "--param", "flakyAttempts=1"], undefined, local);
      expect(titles()).toEqual(["Task fetchOrders failed in flow orders", expect.stringMatching(/^Task fetchOrders is retrying \(attempt 1 of 3\)/)]);
      const emulated = await ok(initApp, "npx", ["flowhooks", "emulate", "--fast-retries", "--param", "flakyAttempts=1"], undefined, local);
      expect(emulated.stdout).toContain("SUCCEEDED");
      expect(titles().slice(2)).toEqual(["Task fetchOrders failed in flow orders", expect.stringMatching(/^Task fetchOrders is retrying \(attempt 1 of 3\)/)]);
      // Deployed, the functions get the secret's ARN (never its value).
      await ok(initApp, "npx", ["cdk", "synth", "--no-notices", "--quiet"], undefined, local);
      const template = readFileSync(join(initApp, "cdk.out", "OrdersStack.template.json"), "utf8");
      expect(template).toContain("FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL");
      expect(template).not.toContain(slack.token);
    } finally {
      await slack.close();
    }
  });
});

describe("Node.js 22.12, the oldest the package supports", () => {
  it("is what the ESM app's npm scripts, npx tools and cdk app run on (every ESM-app test above ran there)", async () => {
    expect((await ok(esmApp, "npx", ["node", "--version"])).stdout.trim()).toBe("v22.12.0");
    const script = "console.log(process.version)";
    expect((await ok(esmApp, "npx", ["tsx", "-e", script])).stdout.trim()).toBe("v22.12.0");
    expect((await ok(cjsApp, "node", ["--version"])).stdout.trim()).toMatch(/^v24\./);
  });
});

describe("the ESM app type-checks under moduleResolution bundler too", () => {
  it("tsc -p tsconfig.bundler.json", async () => {
    await ok(esmApp, "npx", ["tsc", "-p", "tsconfig.bundler.json"]);
  });
});

it("the packed package ships built code, types and the CLI, not tests or benchmarks", async () => {
  const listing = await ok(work, "tar", ["-tzf", tarball]);
  const files = listing.stdout.split("\n").filter(Boolean);
  expect(files).toContain("package/dist/index.js");
  expect(files).toContain("package/dist/index.cjs");
  expect(files).toContain("package/dist/index.d.ts");
  expect(files).toContain("package/dist/index.d.cts");
  expect(files).toContain("package/bin/flowhooks.js");
  expect(files.filter((f) => /^package\/(test|bench|\.ci|lib|examples)\//.test(f))).toEqual([]);
  expect(existsSync(join(cjsApp, "node_modules", "flowhooks", "node_modules", "aws-cdk-lib"))).toBe(false);
});

afterAll(() => {
  if (!process.env.FLOWHOOKS_KEEP_CONSUMER) rmSync(work, { recursive: true, force: true });
});
