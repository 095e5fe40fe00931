import { describe, expect, it } from "vitest";
import { App, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { emulate } from "../../lib/emulate/index";
import { notEmulatedLine, readAssembly, type SynthesizedFunction } from "../../lib/emulate/synth";
import { FlowStateMachine } from "../../lib/cdk/index";
import { ordersFlow } from "../helpers/cdk";
import { fixtureTarget } from "./helpers";

describe("emulating task functions as configured", () => {
  it("runs a task with the environment and memory its `tasks` entry gives it, over taskDefaults", async () => {
    const target = await fixtureTarget("task-config", {
      stackProps: { taskDefaults: { environment: { TABLE: "orders", STAGE: "prod" } }, tasks: { configured: { environment: { TABLE: "orders-archive" }, memorySize: 1024 } } },
    });
    const lines: string[] = [];
    const result = await emulate({ target, write: (l) => lines.push(l) });
    expect(result.status).toBe("SUCCEEDED");
    expect(result.output).toMatchObject({ L0: { configured: { state: { type: "Success", result: { table: "orders-archive", stage: "prod", memoryMb: "1024" } } } } });
    // Nothing here that the emulator cannot reproduce, so no note about it.
    expect(lines.some((l) => l.startsWith("Not emulated"))).toBe(false);
  });

  it("says in one line that VPC placement, layers' contents and the architecture are not emulated, reading them from the template", () => {
    const app = new App();
    const stack = new Stack(app, "FlowStack");
    const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 1, natGateways: 1 });
    const layer = lambda.LayerVersion.fromLayerVersionArn(stack, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:shared:3");
    new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, tasks: { load: { vpc }, save: { layers: [layer] } } });
    const functions = [...readAssembly(app.synth().directory, stack.artifactId).functions.values()];
    expect(functions.find((f) => f.environment.FLOWHOOKS_TASK === "load")).toMatchObject({ vpc: true, layers: 0, architecture: "arm64" });
    expect(notEmulatedLine(functions, "x64")).toBe(
      "Not emulated: VPC placement (load: they reach the network from this machine); layers' contents (save: imports resolve from the bundle and this machine's node_modules); the arm64 architecture (runs on this machine's x86_64).",
    );
    expect(notEmulatedLine(functions, "arm64")).not.toMatch(/architecture/);
  });

  it("says nothing about what is not emulated when no task uses a VPC or layers", () => {
    const plain: SynthesizedFunction = { logicalId: "F", functionName: "f", arn: "arn", handler: "index.task", timeoutSeconds: 3, memorySize: 128, environment: {}, assetDir: "", architecture: "arm64" };
    expect(notEmulatedLine([plain], "x64")).toBeUndefined();
  });
});
