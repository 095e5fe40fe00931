/**
 * Approvals on the second, independent interpreter (moto's Step Functions, LocalStack's): the
 * `.waitForTaskToken` state waits in moto, and the answer goes through `Approvals`
 * (lib/aws/approval-store.ts) and the real SDK client's SendTaskSuccess / SendTaskFailure against
 * moto's server, as `flowhooks resume` answers deployed. Transitions match flow.run(); moto's own
 * execution history shows the wait as Pending → Paused.
 */
import { afterAll, expect, it } from "vitest";
import { executionTimeline } from "../../../lib/aws/history";
import { MotoEngine } from "../../../lib/emulate/moto/engine";
import { checkFidelity } from "../../helpers/fidelity";
import { describeMoto } from "../../helpers/moto";
import { fixtureTarget } from "../helpers";

describeMoto("approvals on the moto engine", () => {
  const engine = new MotoEngine();
  afterAll(() => engine.close());

  it("approved through moto's SendTaskSuccess: the same transitions as flow.run(), and moto's history shows them", async () => {
    const report = await checkFidelity(await fixtureTarget("approval"), { engine, approve: () => true });
    expect(report.diff).toBeUndefined();
    const deploy = executionTimeline(await engine.history(), { flowName: "approval" }).filter((t) => t.task === "deploy");
    expect(deploy.map((t) => `${t.oldState.name} -> ${t.newState.name}`)).toEqual(["Pending -> Paused", "Paused -> Resume", "Resume -> Running", "Running -> Success"]);
  }, 120_000);

  it("rejected through moto's SendTaskFailure: Paused → Cancelled (moto 5.2.1 drops the failure's cause, so the reason reads 'no reason given'; AWS keeps it)", async () => {
    const report = await checkFidelity(await fixtureTarget("approval"), { engine, approve: () => "change freeze" });
    expect(report.emulated.get("task deploy")).toEqual(['Pending() -> Paused("Waiting for approval.")', 'Paused("Waiting for approval.") -> Cancelled("Rejected: no reason given")']);
    expect(report.local.get("task deploy")![1]).toBe('Paused("Waiting for approval.") -> Cancelled("Rejected: change freeze")');
    const deploy = executionTimeline(await engine.history(), { flowName: "approval" }).filter((t) => t.task === "deploy");
    expect(deploy.map((t) => `${t.oldState.name} -> ${t.newState.name}`)).toEqual(["Pending -> Paused", "Paused -> Cancelled"]);
  }, 120_000);
});
