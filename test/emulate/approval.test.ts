/**
 * A `triggers.manualOnly` task emulated from its synthesized template: the `.waitForTaskToken`
 * approval state, the task function's Pending → Paused, then the answer (approved, rejected, or no
 * answer within approvalTimeoutSeconds) through the same chain, with the transitions flow.run() makes.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { Readable } from "node:stream";
import { emulateCommand } from "../../lib/emulate/command";
import { UsageError } from "../../lib/cli/errors";
import { formatEmailText } from "../../lib/notify/format";
import { executionTimeline } from "../../lib/aws/history";
import { emulate } from "../../lib/emulate/index";
import { LocalEngine } from "../../lib/emulate/local-engine";
import { checkFidelity } from "../helpers/fidelity";
import { assemblyOf, fixtureTarget, transitionsOf } from "./helpers";

describe("emulating a task that waits for approval", () => {
  it("approved: Pending → Paused in the approval state, then Paused → Resume → Running → Success, as flow.run() does", async () => {
    const report = await checkFidelity(await fixtureTarget("approval"), { approve: () => true });
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.statesEntered).toContain("deploy.Approval");
    expect(transitionsOf(result, "task", "deploy")).toEqual(["Pending -> Paused", "Paused -> Resume", "Resume -> Running", "Running -> Success"]);
    expect(report.emulated.get("task deploy")![0]).toBe('Pending() -> Paused("Waiting for approval.")');
    expect(report.emulated.get("task deploy")![1]).toBe('Paused("Waiting for approval.") -> Resume("Approval given to resume.")');
    // Paused alerts by default, from the handler Lambda, with the command that answers it.
    const pausedAlerts = result.alerts.filter((a) => a.alert.newState.name === "Paused");
    expect(pausedAlerts.map((a) => `${a.channel} ${a.alert.task}`)).toEqual(["console deploy"]);
    expect(formatEmailText(pausedAlerts[0]!.alert)).toContain(`To answer: flowhooks resume ${result.executionArn} deploy`);
  });

  it("rejected: Paused → Cancelled(\"Rejected: <reason>\"), the downstream alwaysRun task still runs, as flow.run() does", async () => {
    const report = await checkFidelity(await fixtureTarget("approval"), { approve: () => "not on a Friday" });
    expect(report.diff).toBeUndefined();
    expect(report.emulated.get("task deploy")).toEqual(['Pending() -> Paused("Waiting for approval.")', 'Paused("Waiting for approval.") -> Cancelled("Rejected: not on a Friday")']);
    expect(transitionsOf(report.result, "task", "notify")).toEqual(["Pending -> Running", "Running -> Success"]);
  });

  it("no answer within approvalTimeoutSeconds: the state's TimeoutSeconds ends the wait and the task goes Paused → TimedOut, as flow.run() does", async () => {
    const report = await checkFidelity(await fixtureTarget("approval"), { approve: () => new Promise<true>(() => undefined) });
    expect(report.diff).toBeUndefined();
    expect(report.emulated.get("task deploy")).toEqual(['Pending() -> Paused("Waiting for approval.")', 'Paused("Waiting for approval.") -> TimedOut("No approval within 2 seconds.")']);
  }, 20_000);

  it("flowhooks emulate --approve none rejects each waiting task; without --approve and without a terminal it is refused before running, naming --approve", async () => {
    const assembly = assemblyOf(await fixtureTarget("approval"));
    const file = join(import.meta.dirname, "fixtures", "approval.ts");
    const notATerminal = Object.assign(Readable.from([]), { isTTY: false });
    let text = "";
    const out = { write: (t: string) => (text += t), isTTY: false } as never;
    expect(await emulateCommand({ file, assembly, approve: "none", input: notATerminal, out })).toBe(0);
    expect(text).toContain('task deploy #1: Paused → Cancelled("Rejected: --approve none")');
    const refused = await emulateCommand({ file, assembly, input: notATerminal, out }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toBe(
      "`deploy` waits for approval (triggers.manualOnly) and stdin is not a terminal to ask on; pass --approve all (approve each) or --approve none (reject each).",
    );
  });

  it("the execution's history shows the wait as flowhooks history prints it: Pending → Paused, then Resume → Running → Success, or Paused → Cancelled", async () => {
    const target = await fixtureTarget("approval");
    for (const [approve, expected] of [
      [() => true as const, ["Pending -> Paused", "Paused -> Resume", "Resume -> Running", "Running -> Success"]],
      [() => "no", ["Pending -> Paused", "Paused -> Cancelled"]],
    ] as const) {
      const engine = new LocalEngine();
      const result = await emulate({ target, engine, approve, write: () => undefined });
      const timeline = executionTimeline(await engine.history(), { flowName: "approval" }).filter((t) => t.task === "deploy");
      expect(timeline.map((t) => `${t.oldState.name} -> ${t.newState.name}`)).toEqual(expected);
      expect(timeline.map((t) => `${t.oldState.name} -> ${t.newState.name}`)).toEqual(transitionsOf(result, "task", "deploy"));
    }
  });
});
