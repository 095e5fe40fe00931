import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { Template } from "aws-cdk-lib/assertions";
import { bundleFlow } from "../../lib/cdk/bundle";
import { flowStack } from "../helpers/cdk";
import { bundledFlow } from "./fixtures/bundled-flow";

const entry = join(import.meta.dirname, "fixtures/bundled-flow.ts");

describe("bundling the task code for real", () => {
  it("ships one esbuild bundle as one asset shared by every task function", () => {
    const { app, stack } = flowStack(bundledFlow, { entry, stubBundling: false });
    const assembly = app.synth();
    const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    const keys = Object.values(template.findResources("AWS::Lambda::Function")).map((f) => JSON.stringify(f.Properties.Code));
    expect(keys).toHaveLength(2);
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

  it("names the missing export when the module does not export the flow", async () => {
    const dir = bundleFlow({ entry, flowName: "bundled", exportName: "nope", outRoot: mkdtempSync(join(tmpdir(), "fh-bundle-test-")) });
    await expect(import(pathToFileURL(join(dir, "index.mjs")).href)).rejects.toThrow(/export `nope` is not a Flow; set exportName/);
  });
});
