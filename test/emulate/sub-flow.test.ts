/**
 * `flowhooks emulate` of a flow with a flowRun task: the sub-flow's own synthesized state machine runs
 * as an execution of its own (startExecution.sync:2), and the parent's task makes the transitions
 * flow.run() makes; `flowhooks history` reads the sub-flow's execution on the parent's task.
 */
import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { virtualClock } from "../../lib/core/clock";
import { executionTimeline } from "../../lib/aws/history";
import { LocalEngine } from "../../lib/emulate/local-engine";
import { checkFidelity } from "../helpers/fidelity";
import { fixtureTarget, transitionsOf } from "./helpers";

describe("emulating a flowRun", () => {
  it("runs the sub-flow's state machine and ends the parent's task in the sub-flow's final state, as flow.run() does", async () => {
    const target = await fixtureTarget("sub-flow");
    expect(target.subFlows?.size).toBe(1);
    const report = await checkFidelity(target);
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(transitionsOf(result, "task", "run-etl")).toEqual(["Pending -> Running", "Running -> Success"]);
    // The sub-flow's tasks ran in their own functions, in an execution of their own.
    expect(result.invocations.map((i) => i.task)).toEqual(expect.arrayContaining(["run-etl", "extract", "count", "report"]));
    expect(result.statesEntered).toEqual(expect.arrayContaining(["run-etl", "run-etl.Run", "run-etl.Collect", "report"]));
    expect(result.statesEntered).not.toContain("extract");
    expect(result.output).toMatchObject({ L1: { report: { state: { result: expect.stringContaining('"count":{"type":"Success"') } } } });
  });

  it("a sub-flow that fails fails the parent's task, retried like any failure, with flow.run()'s transitions, and the history names each sub-flow execution", async () => {
    const target = await fixtureTarget("sub-flow-fails");
    const report = await checkFidelity(target);
    expect(report.diff).toBeUndefined();
    const engine = new LocalEngine();
    const result = await emulate({ target, engine, fastRetries: true, write: () => undefined });
    expect(result.status).toBe("FAILED");
    expect(transitionsOf(result, "task", "run-warehouse")).toEqual(["Pending -> Running", "Running -> Failed", "Failed -> Retrying", "Retrying -> Running", "Running -> Failed"]);
    const failed = result.transitions.filter((t) => t.name === "run-warehouse" && t.newState.name === "Failed");
    expect(failed.map((t) => t.newState.message)).toEqual(["Some reference tasks failed.", "Some reference tasks failed."]);
    // flowhooks history: the parent's task ending carries the sub-flow execution's ARN.
    const timeline = executionTimeline(await engine.history(), { flowName: "loader" });
    const endings = timeline.filter((t) => t.task === "run-warehouse" && t.subFlowExecutionArn);
    expect(endings.length).toBeGreaterThan(0);
    expect(endings[0]!.subFlowExecutionArn).toMatch(/:execution:[^:]+:[0-9a-f-]{36}$/);
    expect(timeline.some((t) => t.object.endsWith(".Run"))).toBe(false);
    // The CLI lists them under the timeline.
    const { historyCommand } = await import("../../bin/commands/history");
    let text = "";
    const events = await engine.history();
    await historyCommand({ executionArn: "arn:aws:states:us-east-1:123456789012:execution:loader:run-1", sfn: { send: async () => ({ events }) }, out: { write: (t: string) => (text += t) } });
    expect(text).toMatch(/Sub-flow executions:\n  run-warehouse #\d Failed: arn:aws:states:[^\n]+:execution:/);
  });

  it("alerts the parent's flowRun task's Retrying and Failed once each (none reconstructed from the history), and waits no real time between attempts", async () => {
    const started = Date.now();
    const result = await emulate({ target: await fixtureTarget("sub-flow-fails"), fastRetries: true, clock: virtualClock(new Date()), write: () => undefined });
    expect(result.status).toBe("FAILED");
    expect(Date.now() - started).toBeLessThan(30_000);
    const sent = result.alerts.map((a) => `${a.alert.kind} ${a.alert.task ?? a.alert.flow} ${a.alert.newState.name}${a.alert.attempt ? ` #${a.alert.attempt}` : ""}${a.alert.observedAfterTheFact ? " (reconstructed)" : ""}`);
    expect(sent).toEqual(["task run-warehouse Retrying #1", "task run-warehouse Failed #2", "flow loader Failed"]);
  });
});
