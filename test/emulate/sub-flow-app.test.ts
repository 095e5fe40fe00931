/** `flowhooks emulate` in a CDK app whose FlowStateMachine runs another one's flow (`flowRuns`). */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulate, prepareAppEmulation, synthesizeApp } from "../../lib/emulate/index";
import { transitionsOf } from "./helpers";

const appDir = join(import.meta.dirname, "..", "fixtures", "sub-flow-app");

describe("flowhooks emulate of an app's flow with flowRuns", () => {
  it("runs the sub-flow's own state machine from the app's assembly, and the parent's task ends Success", async () => {
    const assembly = await synthesizeApp({ cwd: appDir });
    const target = await prepareAppEmulation({ cwd: appDir, app: assembly, construct: "NightlyStack/Nightly" });
    expect(target.flow.name).toBe("fixture-nightly");
    expect(target.subFlows?.size).toBe(1);
    const result = await emulate({ target, fastRetries: true, write: () => undefined });
    expect(result.status).toBe("SUCCEEDED");
    expect(transitionsOf(result, "task", "run-fixture-etl")).toEqual(["Pending -> Running", "Running -> Success"]);
    expect(result.invocations.map((i) => i.task)).toEqual(expect.arrayContaining(["extract", "report"]));
  }, 180_000);
});
