/** Node.js 24 is the default runtime of every function; Node.js 22 stays supported, and the one bundle is built for the oldest runtime that runs it. */
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { bundleTarget, DEFAULT_RUNTIME } from "../../lib/cdk/task-functions";
import { flowStack, ordersFlow } from "../helpers/cdk";

describe("function runtimes", () => {
  it("default to nodejs24.x, the runtime aws-cdk-lib's NODEJS_LATEST names today", () => {
    expect(DEFAULT_RUNTIME.name).toBe("nodejs24.x");
    expect(lambda.Runtime.NODEJS_LATEST.name).toBe(DEFAULT_RUNTIME.name);
  });

  it("build the bundle for node24 unless a function runs an older Node.js", () => {
    expect(bundleTarget(undefined, undefined)).toBe("node24");
    expect(bundleTarget({ runtime: lambda.Runtime.NODEJS_24_X }, { load: { memorySize: 512 } })).toBe("node24");
    expect(bundleTarget({ runtime: lambda.Runtime.NODEJS_22_X }, undefined)).toBe("node22");
    expect(bundleTarget(undefined, { load: { runtime: lambda.Runtime.NODEJS_22_X } })).toBe("node22");
  });

  it("accept Node.js 22 for the task functions, which then run nodejs22.x", () => {
    const { template: synthesized } = flowStack(ordersFlow(), { taskDefaults: { runtime: lambda.Runtime.NODEJS_22_X } });
    const template = synthesized();
    const runtimes = Object.values(template.findResources("AWS::Lambda::Function", { Properties: { Handler: "index.task" } })).map((r) => r.Properties.Runtime);
    expect(new Set(runtimes)).toEqual(new Set(["nodejs22.x"]));
  });
});
