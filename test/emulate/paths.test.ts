import { readdirSync } from "node:fs";
import { Duration } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { checkFidelity } from "../helpers/fidelity";
import { fixtureTarget, transitionsOf } from "./helpers";

describe("emulating paths through the synthesized template", () => {
  it("runs a parallel diamond's branches in a Parallel state, fails the join's trigger and still runs the always-run task", async () => {
    const report = await checkFidelity(await fixtureTarget("diamond"), { parameters: { n: 3 } });
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.statesEntered.slice(0, 5)).toEqual(["flowhooks.Start", "source", "flowhooks.Level1", expect.any(String), expect.any(String)]);
    expect(new Set(result.statesEntered.slice(3, 5))).toEqual(new Set(["left", "right"]));
    expect(result.statesEntered.slice(5)).toEqual(["join", "cleanup", "flowhooks.Decide", "flowhooks.FlowSucceeded"]);
    expect(transitionsOf(result, "task", "right")).toEqual(["Pending -> Running", "Running -> Failed"]);
    expect(transitionsOf(result, "task", "join")).toEqual(["Pending -> TriggerFailed"]);
    expect(transitionsOf(result, "task", "cleanup")).toEqual(["Pending -> Running", "Running -> Success"]);
    // cleanup is the only reference task, and it succeeded.
    expect(result.status).toBe("SUCCEEDED");
  });

  it("gives each task Lambda its own copy of its input, as JSON: a task changing an upstream result changes nothing a later task reads", async () => {
    const result = await emulate({ target: await fixtureTarget("mutating-input"), write: () => undefined });
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.stringify(result.output)).toContain('"count":{"state":{"type":"Success","message":"Task run succeeded.","result":1}');
  });

  it("gives each task Lambda its own module state (the flow's module, per container) while the flowhooks runtime is one chunk beside it", async () => {
    const target = await fixtureTarget("module-state");
    const fn = [...target.synthesized.functions.values()].find((f) => f.environment.FLOWHOOKS_TASK === "first")!;
    expect(readdirSync(fn.assetDir!).filter((f) => /^runtime-\w+\.mjs$/.test(f))).toHaveLength(1);
    // Run twice in one process: warm containers keep their module, as warm Lambda containers do.
    for (const run of [1, 2]) {
      const result = await emulate({ target, write: () => undefined });
      expect(result.status).toBe("SUCCEEDED");
      const results = Object.fromEntries(["first", "second", "third"].map((t) => [t, JSON.stringify(result.output).match(new RegExp(`"${t}":\\{"state":\\{"type":"Success","message":"Task run succeeded.","result":(\\d+)`))?.[1]]));
      expect(results, `run ${run}`).toEqual({ first: String(run), second: String(run), third: String(run) });
    }
  });

  it("takes the success path when no branch fails", async () => {
    const result = await emulate({ target: await fixtureTarget("diamond"), parameters: { n: 1 }, write: () => undefined });
    expect(transitionsOf(result, "task", "join")).toEqual(["Pending -> Running", "Running -> Success"]);
    expect(result.output).toMatchObject({ L2: { join: { state: { type: "Success", result: 4 } } } });
  });

  it("records a task Lambda killed at its timeout through the Catch path; the handler Lambda reconstructs TimedOut and alerts it", async () => {
    const target = await fixtureTarget("lambda-timeout", { stackProps: { taskDefaults: { timeout: Duration.seconds(1) } } });
    const lines: string[] = [];
    const result = await emulate({ target, write: (l) => lines.push(l) });
    expect(result.invocations.map((i) => `${i.task}:${i.outcome}:${i.errorType ?? ""}`)).toEqual(["stuck:timed-out:Sandbox.Timedout", "after:returned:"]);
    expect(result.statesEntered).toEqual(["flowhooks.Start", "stuck", "stuck.Infra", "after", "flowhooks.Decide", "flowhooks.FailureCause", "flowhooks.FlowFailed"]);
    // The task Lambda reported Running; nothing of ours reported the end: the handler did, after the fact.
    expect(transitionsOf(result, "task", "stuck")).toEqual(["Pending -> Running", "Running -> TimedOut"]);
    expect(transitionsOf(result, "task", "after")).toEqual(["Pending -> TriggerFailed"]);
    const timedOut = result.alerts.find((a) => a.alert.task === "stuck");
    expect(timedOut?.alert.newState.name).toBe("TimedOut");
    expect(timedOut?.alert.observedAfterTheFact).toBe(true);
    expect(lines.join("\n")).toContain("Sandbox.Timedout");
    expect(result.status).toBe("FAILED");
  });
});
