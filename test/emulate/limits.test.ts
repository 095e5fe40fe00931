import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { fixtureTarget, transitionsOf } from "./helpers";

const quiet = { write: () => undefined };

describe("emulating at AWS's limits", () => {
  it("runs a task returning 300 KB: the result goes to the local results folder and the next task reads it back", async () => {
    const result = await emulate({ target: await fixtureTarget("large-result"), ...quiet });
    expect(result.status).toBe("SUCCEEDED");
    expect(transitionsOf(result, "task", "measure")).toEqual(["Pending -> Running", "Running -> Success"]);
    expect((result.output as any).L1.measure.state.result).toBe(300 * 1024);
    expect(result.largestStateBytes).toBeLessThan(2048);
  });

  it("runs a 400-task chain of 1 KB results with every state far below 256 KiB", async () => {
    const result = await emulate({ target: await fixtureTarget("chain-400"), ...quiet });
    expect(result.status).toBe("SUCCEEDED");
    expect(result.invocations).toHaveLength(400);
    expect(result.largestStateBytes).toBeLessThan(MAX_STATE_PAYLOAD_BYTES / 2);
  }, 180_000);

  it("fails with States.DataLimitExceeded when a level's output crosses 256 KiB, skipping every Catch and the tasks after it", async () => {
    const target = await fixtureTarget("wide-results", { stackProps: { resultThresholdBytes: 128 * 1024 } });
    const result = await emulate({ target, ...quiet });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("States.DataLimitExceeded");
    expect(result.cause).toMatch(/output of state `flowhooks\.Level0` is \d+ bytes; Step Functions accepts 262144/);
    expect(result.invocations.map((i) => i.task)).not.toContain("cleanup");
  });

  it("fails an execution whose input is over 256 KiB before any state runs", async () => {
    const result = await emulate({ target: await fixtureTarget("large-result"), parameters: { blob: "y".repeat(300 * 1024) }, ...quiet });
    expect(result).toMatchObject({ status: "FAILED", error: "States.DataLimitExceeded" });
    expect(result.cause).toMatch(/execution input is \d+ bytes/);
    expect(result.invocations).toEqual([]);
  });
});
