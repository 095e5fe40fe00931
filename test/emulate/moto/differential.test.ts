/**
 * Differential tests: every example and the fixture flows, run three ways (flow.run(), the default
 * engine, the moto engine), make the same per-task transitions, end the same, and send the same
 * alerts. moto's interpreter (LocalStack's) was written by no one here: a mistake shared by the
 * emulator and the handler would show as a difference.
 */
import { join } from "node:path";
import { Duration } from "aws-cdk-lib";
import { afterAll, expect, it } from "vitest";
import { emulate, type EmulationTarget } from "../../../lib/emulate/index";
import { MotoEngine, MotoUnsupportedError } from "../../../lib/emulate/moto/engine";
import { describeMoto } from "../../helpers/moto";
import { compareEngines } from "../../helpers/fidelity";
import { fixtureTarget, sharedTarget, withMapMode } from "../helpers";

const example = (name: string) => sharedTarget(join(import.meta.dirname, "../../../examples", `${name}.ts`));

interface Case {
  name: string;
  target: () => Promise<EmulationTarget>;
  parameters?: Record<string, unknown>;
  /** flow.run() cannot take part (a Lambda stopped at its timeout has no local counterpart). @default true */
  local?: boolean;
  /**
   * The task counts its attempts in a module variable, so only the first emulation in a process runs
   * it in a cold container (containers stay warm, as they may in Lambda): the moto engine runs first
   * and is compared with flow.run(); the default engine is compared with it cold in examples-2.test.ts.
   * @default false
   */
  moduleState?: boolean;
}

// Mapped tasks are compiled inline (FlowStateMachine's `mapMode: "inline"`): moto 5.2.1 cannot parse a Distributed Map (tested below).
const cases: Case[] = [
  ...["01-flow-state-handler", "02-task-state-handler", "03-post-to-slack", "04-retry-alert", "05-special-failure", "08-on-failure"].map((name) => ({
    name: `example ${name}`,
    target: () => example(name),
  })),
  ...["06-multiple-handlers", "07-callback-factory"].map((name) => ({ name: `example ${name}`, target: () => example(name), moduleState: true })),
  { name: "example 09-mapping (inline map)", target: async () => withMapMode(await example("09-mapping"), "inline") },
  { name: "retries with backoff, then success", target: () => fixtureTarget("retry-then-success") },
  { name: "retries exhausted: Failed, its downstream TriggerFailed", target: () => fixtureTarget("retries-exhausted") },
  { name: "RETRY signals (a task and a mapped child)", target: async () => withMapMode(await fixtureTarget("retry-signal"), "inline") },
  { name: "triggers and skips in a diamond", target: () => fixtureTarget("diamond"), parameters: { n: 3 } },
  { name: "an inline map with a retried child", target: async () => withMapMode(await fixtureTarget("mapped"), "inline") },
  { name: "an inline map whose child fails for good", target: async () => withMapMode(await fixtureTarget("mapped"), "inline"), parameters: { failAt: 1 } },
  { name: "a 3-iteration loop (signals.LOOP)", target: () => fixtureTarget("loop") },
  { name: "a loop whose second iteration is retried", target: () => fixtureTarget("loop-retry") },
  { name: "an inline map whose children loop", target: async () => withMapMode(await fixtureTarget("loop-mapped"), "inline") },
  {
    name: "a task Lambda stopped at its timeout",
    target: () => fixtureTarget("lambda-timeout", { stackProps: { taskDefaults: { timeout: Duration.seconds(1) } } }),
    local: false,
  },
];

describeMoto("the moto engine against flow.run() and the default engine", () => {
  const engine = new MotoEngine();
  afterAll(() => engine.close());

  for (const c of cases) {
    it(`${c.name}: same per-task transitions, flow ending and alerts`, async () => {
      const report = await compareEngines(await c.target(), engine, {
        parameters: c.parameters,
        local: c.local ?? true,
        otherFirst: c.moduleState,
        compareDefault: !c.moduleState,
      });
      expect(report.diff).toBeUndefined();
      expect(report.moto.transitions.length).toBeGreaterThan(1);
    }, 120_000);
  }

  it("delivers the flow's own ending report (its events:putEvents state, on the flow's bus) to the handler, as the default engine does", async () => {
    const target = await fixtureTarget("retries-exhausted", { stackProps: { alerts: {} } });
    const reports = async (which?: MotoEngine) => {
      const lines: string[] = [];
      const result = await emulate({ target, engine: which, fastRetries: true, write: () => undefined, onEvent: (e) => void (e.type === "log" && lines.push(e.message)) });
      expect(result.statesEntered).toContain("flowhooks.ReportFailed");
      // The handler saw the report after the status change had recorded the ending.
      return lines.filter((l) => l.startsWith("Ending already recorded")).length;
    };
    expect(await reports(engine)).toBe(1);
    expect(await reports()).toBe(1);
  }, 120_000);

  it("refuses a DISTRIBUTED Map as not supported by the moto engine, naming why, instead of answering", async () => {
    const target = withMapMode(await fixtureTarget("mapped"), "distributed");
    const run = emulate({ target, engine, fastRetries: true, write: () => undefined });
    await expect(run).rejects.toThrow(MotoUnsupportedError);
    await expect(run).rejects.toThrow(/not supported by the moto engine: .*DISTRIBUTED Map/);
  }, 120_000);

  it("refuses a flow split into child state machines as not supported by the moto engine, never reporting its wrong failure", async () => {
    const target = await fixtureTarget("split-chain", { stackProps: { maxDefinitionChars: 6000, alerts: {} } });
    const run = emulate({ target, engine, fastRetries: true, write: () => undefined });
    await expect(run).rejects.toThrow(/not supported by the moto engine: a flow split into child state machines/);
  }, 120_000);
});
