/**
 * `flowhooks init`: the files it writes, and that the scaffolded app works — type-checks, its test
 * passes, `cdk synth` and `flowhooks emulate` run — against this repository's sources. The app's
 * `flowhooks` import is pointed at the sources with a tsconfig `paths` entry (and a vitest alias)
 * added here, and its node_modules is this repository's; installing the packed package into it is
 * the consumer end-to-end test's job.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../lib/cli/errors";
import { appPackageName, initApp } from "../../lib/cli/init";
import { emulate, prepareAppEmulation } from "../../lib/emulate/index";
import { repoRoot } from "./run-cli";

const ownPackage = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("flowhooks init", () => {
  it("writes the cdk-init layout: an ESM TypeScript app with the example flow, its stack, a test and a package.json", () => {
    const { dir, files, name } = initApp({ dir: join(mkdtempSync(join(tmpdir(), "flowhooks-init-")), "My Orders App") });
    expect(name).toBe("my-orders-app");
    expect(files).toEqual([".gitignore", "README.md", "bin/app.ts", "cdk.json", "flows/orders.ts", "lib/orders-stack.ts", "package.json", "test/orders.test.ts", "tsconfig.json"]);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ name: "my-orders-app", type: "module", scripts: { test: "tsc && vitest run" } });
    expect(pkg.dependencies).toEqual({ "aws-cdk-lib": expect.any(String), constructs: expect.any(String), flowhooks: `^${ownPackage.version}` });
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(["@types/node", "aws-cdk", "tsx", "typescript", "vitest"]);
    const cdkJson = JSON.parse(readFileSync(join(dir, "cdk.json"), "utf8"));
    expect(cdkJson).toMatchObject({ app: "npx tsx bin/app.ts", notices: false, "cli-telemetry": false });
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toContain("cdk.out/");
    expect(readFileSync(join(dir, "README.md"), "utf8")).toMatch(/^# my-orders-app\n/);
    expect(readFileSync(join(dir, "lib/orders-stack.ts"), "utf8")).toContain("new FlowStateMachine(this, \"Orders\"");
  });

  it("takes the flowhooks dependency from --package (a tarball for the consumer test)", () => {
    const where = mkdtempSync(join(tmpdir(), "flowhooks-init-"));
    writeFileSync(join(where, "flowhooks-0.1.0.tgz"), "");
    const { dir } = initApp({ dir: join(where, "app"), packageSpec: `file:${join(where, "flowhooks-0.1.0.tgz")}` });
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies.flowhooks).toBe(`file:${join(where, "flowhooks-0.1.0.tgz")}`);
    const ranged = initApp({ dir: join(where, "ranged"), packageSpec: "^0.1.0" });
    expect(JSON.parse(readFileSync(join(ranged.dir, "package.json"), "utf8")).dependencies.flowhooks).toBe("^0.1.0");
  });

  it("resolves a relative --package path against the folder init runs in, as the README's `npm pack` steps give it", () => {
    const where = mkdtempSync(join(tmpdir(), "flowhooks-init-"));
    writeFileSync(join(where, "flowhooks-0.1.0.tgz"), "");
    for (const [i, spec] of ["./flowhooks-0.1.0.tgz", "flowhooks-0.1.0.tgz", "file:flowhooks-0.1.0.tgz"].entries()) {
      const { dir } = initApp({ cwd: where, dir: `app-${i}`, packageSpec: spec });
      // npm reads file: relative to the new app's package.json, so the spec is made absolute.
      expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies.flowhooks, spec).toBe(`file:${join(where, "flowhooks-0.1.0.tgz")}`);
    }
    expect(() => initApp({ cwd: where, dir: "missing", packageSpec: "../nowhere/flowhooks-0.1.0.tgz" })).toThrow(
      `--package ../nowhere/flowhooks-0.1.0.tgz: ${join(where, "..", "nowhere", "flowhooks-0.1.0.tgz")} does not exist; pass the tarball \`npm pack\` wrote`,
    );
    expect(existsSync(join(where, "missing"))).toBe(false);
  });

  it("sets in cdk.json every feature flag `cdk init` sets (the installed aws-cdk CLI's recommended flags)", () => {
    const { dir } = initApp({ dir: join(mkdtempSync(join(tmpdir(), "flowhooks-init-")), "app") });
    const recommended = JSON.parse(readFileSync(join(repoRoot, "node_modules/aws-cdk/lib/init-templates/.recommended-feature-flags.json"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    const context = JSON.parse(readFileSync(join(dir, "cdk.json"), "utf8")).context as Record<string, unknown>;
    expect(Object.fromEntries(Object.keys(recommended).map((k) => [k, context[k]]))).toEqual(recommended);
  });

  it("refuses a folder that is not empty, naming the fix, and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-init-"));
    writeFileSync(join(dir, "notes.txt"), "mine");
    expect(() => initApp({ dir })).toThrow(UsageError);
    expect(() => initApp({ dir })).toThrow(/is not empty \(notes\.txt\); .* pass a new or empty folder: flowhooks init my-app/);
    expect(existsSync(join(dir, "package.json"))).toBe(false);
    // An empty folder (or one with only .git) is fine.
    const empty = mkdtempSync(join(tmpdir(), "flowhooks-init-"));
    mkdirSync(join(empty, ".git"));
    expect(initApp({ dir: empty }).files).toContain("flows/orders.ts");
  });

  it("names the app after its folder, as npm allows", () => {
    expect(appPackageName("/x/My App!")).toBe("my-app");
    expect(appPackageName("/x/___")).toBe("flowhooks-app");
  });
});

describe("the scaffolded app, against this repository's sources", () => {
  let app: string;

  beforeAll(() => {
    app = initApp({ dir: join(mkdtempSync(join(tmpdir(), "flowhooks-init-")), "app") }).dir;
    symlinkSync(join(repoRoot, "node_modules"), join(app, "node_modules"), "dir");
    const alias = { flowhooks: join(repoRoot, "lib/index.ts"), "flowhooks/cdk": join(repoRoot, "lib/cdk/index.ts") };
    const tsconfig = JSON.parse(readFileSync(join(app, "tsconfig.json"), "utf8"));
    tsconfig.compilerOptions.paths = Object.fromEntries(Object.entries(alias).map(([k, v]) => [k, [v]]));
    // The sources' ambient declaration for asl-validator (the built package carries its own types).
    tsconfig.include = ["**/*.ts", join(repoRoot, "lib/compile/asl-validator.d.ts")];
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    writeFileSync(
      join(app, "vitest.config.ts"),
      `export default { resolve: { alias: [{ find: /^flowhooks\\/cdk$/, replacement: ${JSON.stringify(alias["flowhooks/cdk"])} }, { find: /^flowhooks$/, replacement: ${JSON.stringify(alias.flowhooks)} }] } };\n`,
    );
  });

  it("type-checks (flow, stack, app and test) with the app's own tsconfig", async () => {
    const { code, output } = await run(join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], app);
    expect(output).toBe("");
    expect(code).toBe(0);
  });

  it("passes its own test of the state handler and the flow (vitest, virtualClock)", async () => {
    const { code, output } = await run(join(repoRoot, "node_modules/.bin/vitest"), ["run"], app);
    expect(output).toMatch(/Tests\s+4 passed/);
    expect(code).toBe(0);
  });

  it("synthesizes with its cdk.json app command, and `flowhooks emulate` runs its one FlowStateMachine", async () => {
    const target = await prepareAppEmulation({ cwd: app });
    expect(target.construct.path).toBe("OrdersStack/Orders");
    const result = await emulate({ target, parameters: { flakyAttempts: 1 }, fastRetries: true, write: () => undefined });
    expect(result.status).toBe("SUCCEEDED");
    expect(result.flowState?.isSuccessful()).toBe(true);
    expect(result.invocations.filter((i) => i.task === "fetchOrders").map((i) => i.outcome)).toEqual(["error", "returned"]);
  });
});
