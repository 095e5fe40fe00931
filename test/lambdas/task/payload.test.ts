import { describe, expect, it } from "vitest";
import { Failed, Flow, Success, TimedOut, task } from "../../../lib/index";
import { buildSync } from "esbuild";
import { selectFlow, taskOutputState, toTaskOutput } from "../../../lambdas/task/index";
import { taskInfrastructureState } from "../../../lib/aws/state-mapping";

describe("task outputs in the execution JSON", () => {
  it("reads a Lambda timeout caught by the state machine as TimedOut, marked as infrastructure", () => {
    const state = taskOutputState({ infrastructure: { Error: "Sandbox.Timedout", Cause: "Task timed out after 35.00 seconds" }, failed: true, skipped: false, failedLabel: " `a`" });
    expect(state).toBeInstanceOf(TimedOut);
    expect(state.message).toMatch(/Sandbox.Timedout: Task timed out after 35.00 seconds/);
    expect(state.result).toMatchObject({ infrastructure: true, error: "Sandbox.Timedout" });
  });

  it("reads any other caught error as Failed", () => {
    const state = taskOutputState({ infrastructure: { Error: "Lambda.Unknown", Cause: "out of memory" }, failed: true, skipped: false, failedLabel: "" });
    expect(state).toBeInstanceOf(Failed);
    expect(state).not.toBeInstanceOf(TimedOut);
  });

  it("reads a caught failure exactly as the handler Lambda's state mapping does (one mapping, one wording)", () => {
    const cause = JSON.stringify({ errorType: "Runtime.ExitError", errorMessage: "signal: killed", trace: [] });
    const state = taskOutputState({ infrastructure: { Error: "Runtime.ExitError", Cause: cause }, failed: true, skipped: false, failedLabel: "" });
    expect(state).toEqual(taskInfrastructureState("failed", "Runtime.ExitError", cause));
    expect(state.message).toBe("Task failed in AWS before it could report its state (Runtime.ExitError: signal: killed).");
  });

  it("the task payload module and the state mapping it uses pull in no AWS SDK", () => {
    const result = buildSync({
      entryPoints: [new URL("../../../lambdas/task/payload.ts", import.meta.url).pathname],
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      external: ["@aws-sdk/*"],
      logLevel: "silent",
    });
    const imports = Object.values(result.metafile!.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imports.filter((path) => path.startsWith("@aws-sdk/"))).toEqual([]);
    expect(Object.keys(result.metafile!.inputs)).toContain("lib/aws/state-mapping.ts");
  });

  it("round-trips a task's own state with its result", () => {
    const out = toTaskOutput("a", new Success("ok", { result: { n: 1 } }));
    expect(out).toEqual({ state: { type: "Success", message: "ok", result: { n: 1 } }, failed: false, skipped: false, failedLabel: "" });
    expect(taskOutputState(out)).toEqual(new Success("ok", { result: { n: 1 } }));
  });
});

describe("selectFlow", () => {
  const a = task({ name: "a" }, () => 1);
  const flow = new Flow({ name: "orders", tasks: [a] });

  it("finds the export that is a flow with the flow's name", () => {
    expect(selectFlow({ other: 1, flow }, "orders")).toBe(flow);
  });

  it("asks for exportName when no export or several match", () => {
    expect(() => selectFlow({}, "orders")).toThrow(/exports no flow named `orders`.*exportName/);
    const b = task({ name: "b" }, () => 1);
    expect(() => selectFlow({ one: flow, two: new Flow({ name: "orders", tasks: [b] }) }, "orders")).toThrow(/several flows named `orders`.*set exportName/);
  });
});
