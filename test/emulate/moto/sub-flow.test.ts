/**
 * A flowRun on moto's Step Functions (LocalStack's interpreter): moto 5.2.1 cannot run
 * `states:startExecution.sync:2` on a second state machine of one server, so the engine refuses the
 * run as unsupported, naming flowRun and the fix, instead of answering with moto's failure.
 */
import { afterAll, expect, it } from "vitest";
import { emulate } from "../../../lib/emulate/index";
import { MotoEngine, MotoUnsupportedError } from "../../../lib/emulate/moto/engine";
import { describeMoto } from "../../helpers/moto";
import { fixtureTarget } from "../helpers";

describeMoto("flowRun on the moto engine", () => {
  const engine = new MotoEngine();
  afterAll(() => engine.close());

  it("is refused as not supported by the moto engine, naming the flowRun task and the default engine", async () => {
    const run = emulate({ target: await fixtureTarget("sub-flow"), engine, fastRetries: true, write: () => undefined });
    await expect(run).rejects.toThrow(MotoUnsupportedError);
    await expect(run).rejects.toThrow(/not supported by the moto engine: a flowRun task .*Use the default engine/);
  }, 120_000);
});
