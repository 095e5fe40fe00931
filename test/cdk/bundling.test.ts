import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { Template } from "aws-cdk-lib/assertions";
import { bundleFlow } from "../../lib/cdk/bundle";
import { nativePackages } from "../../lib/cdk/bundling-options";
import { flowStack } from "../helpers/cdk";
import { bundledFlow } from "./fixtures/bundled-flow";

const entry = join(import.meta.dirname, "fixtures/bundled-flow.ts");

describe("bundling the task code for real", () => {
  it("ships one esbuild bundle as one asset shared by every task function, the handler and the reconciler", () => {
    const { app, stack } = flowStack(bundledFlow, { entry, stubBundling: false, alerts: {} });
    const assembly = app.synth();
    const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    expect(functions.map((f) => f.Properties.Handler).sort()).toEqual(["index.events", "index.reconcile", "index.task", "index.task"]);
    const keys = functions.map((f) => JSON.stringify(f.Properties.Code));
    expect(new Set(keys).size).toBe(1);
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), "utf8")) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const codeAssets = Object.values(manifest.files).filter((f) => f.source.packaging === "zip");
    expect(codeAssets).toHaveLength(1);
  });

  it("produces a bundle whose `task` export runs the task as Step Functions invokes it", async () => {
    const dir = bundleFlow({ entry, flowName: "bundled", outRoot: mkdtempSync(join(tmpdir(), "fh-bundle-test-")) });
    const bundle = (await import(pathToFileURL(join(dir, "index.mjs")).href)) as { task: (e: unknown) => Promise<{ state: { type: string; result: unknown } }> };
    process.env.FLOWHOOKS_TASK = "describe";
    try {
      const out = await bundle.task({
        task: "describe",
        parameters: { n: 21 },
        upstream: { double: { state: { type: "Success", message: "Task run succeeded.", result: 42 }, failed: false, skipped: false, failedLabel: "" } },
        context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bundled:1", Input: { n: 21 } }, State: { RetryCount: 0 } },
      });
      expect(out.state).toEqual({ type: "Success", message: "Task run succeeded.", result: "value is 42" });
    } finally {
      delete process.env.FLOWHOOKS_TASK;
    }
  });

  it("produces a bundle that plain Node imports as ESM, exporting task, events, reconcile and interact, whose events handler runs and whose interact refuses an unsigned request", () => {
    // The bundle leaves @aws-sdk/* to the Lambda runtime; a node_modules beside it stands in for the runtime's copy.
    const root = mkdtempSync(join(tmpdir(), "fh-bundle-test-"));
    symlinkSync(join(import.meta.dirname, "../../node_modules"), join(root, "node_modules"), "dir");
    const dir = bundleFlow({ entry, flowName: "bundled", outRoot: root });
    // A child process: no vitest module resolution, no tsx, exactly what Lambda's Node.js 22 does with index.mjs.
    const script = `
      const bundle = await import(${JSON.stringify(pathToFileURL(join(dir, "index.mjs")).href)});
      const response = await bundle.events({ Records: [{ messageId: "m-1", body: "not json" }] });
      const interact = await bundle.interact({ body: "payload=%7B%7D", headers: {}, isBase64Encoded: false });
      process.stdout.write("RESULT " + JSON.stringify({ exports: Object.keys(bundle).sort(), types: Object.values(bundle).map((v) => typeof v), response, interact: interact.statusCode }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        FLOWHOOKS_DEDUPE_TABLE: "claims",
        AWS_REGION: "us-east-1",
        FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing",
        FLOWHOOKS_SLACK_APPROVERS: "U0APPROVER",
        FLOWHOOKS_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:bundled",
      },
      encoding: "utf8",
    });
    const result = JSON.parse(out.slice(out.indexOf("RESULT ") + 7));
    expect(result.exports).toEqual(["events", "interact", "reconcile", "task"]);
    expect(result.types).toEqual(["function", "function", "function", "function"]);
    // The Slack interactivity function refuses an unsigned request before reading any secret.
    expect(result.interact).toBe(401);
    // The malformed record is logged and dropped, not retried.
    expect(result.response).toEqual({ batchItemFailures: [] });
    expect(out).toMatch(/"level":"error","message":"Dropped a malformed record: SQS record body is not JSON/);
  });

  it("produces a bundle that imports in plain Node when the flow uses a CommonJS dependency that require()s a built-in", () => {
    const root = mkdtempSync(join(tmpdir(), "fh-bundle-test-"));
    symlinkSync(join(import.meta.dirname, "../../node_modules"), join(root, "node_modules"), "dir");
    const dir = bundleFlow({ entry: join(import.meta.dirname, "fixtures/cjs-flow.ts"), flowName: "cjs", outRoot: root });
    const script = `const bundle = await import(${JSON.stringify(pathToFileURL(join(dir, "index.mjs")).href)}); process.stdout.write(Object.keys(bundle).sort().join(","));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, env: { PATH: process.env.PATH }, encoding: "utf8" });
    expect(out).toBe("events,interact,reconcile,task");
  });

  it("names the missing export when the module does not export the flow", async () => {
    const dir = bundleFlow({ entry, flowName: "bundled", exportName: "nope", outRoot: mkdtempSync(join(tmpdir(), "fh-bundle-test-")) });
    await expect(import(pathToFileURL(join(dir, "index.mjs")).href)).rejects.toThrow(/export `nope` is not a Flow; set exportName/);
  });

  it("applies the bundling options: nodeModules installed beside the bundle at the lock file's version, source map, define, banner", () => {
    const root = mkdtempSync(join(tmpdir(), "fh-bundle-test-"));
    symlinkSync(join(import.meta.dirname, "../../node_modules"), join(root, "node_modules"), "dir");
    const dir = bundleFlow({
      entry: join(import.meta.dirname, "fixtures/node-modules-flow.ts"),
      flowName: "node-modules",
      outRoot: root,
      bundling: { nodeModules: ["commander"], sourceMap: true, minify: false, define: { BUILD_ID: JSON.stringify("b-42") }, banner: "// built by the bundling test" },
    });
    const code = readFileSync(join(dir, "index.mjs"), "utf8");
    expect(code.startsWith("// built by the bundling test\n")).toBe(true);
    expect(code).toMatch(/from "commander"/);
    expect(existsSync(join(dir, "index.mjs.map"))).toBe(true);
    const lock = JSON.parse(readFileSync(join(import.meta.dirname, "../../package-lock.json"), "utf8"));
    const installed = JSON.parse(readFileSync(join(dir, "node_modules/commander/package.json"), "utf8"));
    expect(installed.version).toBe(lock.packages["node_modules/commander"].version);
    // Plain Node, as Lambda runs it: commander comes from the asset's own node_modules.
    const script = `
      const bundle = await import(${JSON.stringify(pathToFileURL(join(dir, "index.mjs")).href)});
      const out = await bundle.task({ task: "describeBuild", parameters: {}, upstream: {}, context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:nm:1", Input: {} }, State: { RetryCount: 0 } } });
      process.stdout.write("RESULT " + JSON.stringify(out.state));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, env: { PATH: process.env.PATH, FLOWHOOKS_TASK: "describeBuild" }, encoding: "utf8" });
    expect(JSON.parse(out.slice(out.indexOf("RESULT ") + 7))).toMatchObject({ type: "Success", result: "x:b-42" });
  });

  it("refuses nodeModules the app does not depend on, saying to npm install them first", () => {
    expect(() =>
      bundleFlow({ entry, flowName: "bundled", outRoot: mkdtempSync(join(tmpdir(), "fh-bundle-test-")), bundling: { nodeModules: ["left-pad-not-a-dependency"] } }),
    ).toThrow(/lists `left-pad-not-a-dependency`, which .*package\.json does not depend on; `npm install left-pad-not-a-dependency` first/);
  });

  it("recognises installed packages that carry native code or per-platform builds", () => {
    const modules = mkdtempSync(join(tmpdir(), "fh-native-test-"));
    const pkg = (name: string, json: object, files: Record<string, string> = {}) => {
      mkdirSync(join(modules, name, "build"), { recursive: true });
      writeFileSync(join(modules, name, "package.json"), JSON.stringify({ name, version: "1.0.0", ...json }));
      for (const [file, text] of Object.entries(files)) writeFileSync(join(modules, name, file), text);
    };
    pkg("pure", {});
    pkg("addon", {}, { "build/addon.node": "" });
    pkg("gyp", { gypfile: true });
    pkg("@scope/linux-x64", { os: ["linux"], cpu: ["x64"] });
    expect(nativePackages(modules).sort()).toEqual(["@scope/linux-x64", "addon", "gyp"]);
  });
});
