import { describe, expect, it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { LimitWatch, MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
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

describe("emulating a flow split into child state machines", () => {
  const split = () => fixtureTarget("split-chain", { stackProps: { maxDefinitionChars: 6000, alerts: {} } });

  it("runs every part as a child execution, results crossing parts, events naming the execution that was started", async () => {
    const target = await split();
    expect(target.parts?.size).toBeGreaterThanOrEqual(2);
    const result = await emulate({ target, ...quiet });
    expect(result.status).toBe("SUCCEEDED");
    expect(result.statesEntered.filter((s) => /^flowhooks\.Part\d+$/.test(s))).toEqual([...target.parts!.keys()].map((_, k) => `flowhooks.Part${k}`));
    expect(result.invocations).toHaveLength(12);
    expect((result.output as any).L11.step_11.state.result).toBe(12);
    expect(transitionsOf(result, "task", "step-11")).toEqual(["Pending -> Running", "Running -> Success"]);
    expect(transitionsOf(result, "flow", "split-chain").at(-1)).toBe("Running -> Success");
  });

  it("alerts a failure inside a child part through the flow's handler, and fails the flow", async () => {
    const result = await emulate({ target: await split(), parameters: { fail: true }, ...quiet });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("flowhooks.FlowFailed");
    expect(transitionsOf(result, "task", "step-8")).toEqual(["Pending -> Running", "Running -> Failed"]);
    expect(transitionsOf(result, "task", "step-9")).toEqual(["Pending -> TriggerFailed"]);
    expect(result.alerts.map((a) => `${a.alert.kind} ${a.alert.task ?? a.alert.flow} ${a.alert.newState.name}`)).toEqual(
      expect.arrayContaining(["task step-8 Failed", "flow split-chain Failed"]),
    );
  });

  it("fails only the child execution that crosses 256 KiB; the flow ends failed through its own decision, as the parent catches it in AWS", async () => {
    const target = await fixtureTarget("wide-results", { stackProps: { resultThresholdBytes: 128 * 1024, maxDefinitionChars: 3000 } });
    expect(target.parts?.size).toBe(2);
    const result = await emulate({ target, ...quiet });
    expect(result).toMatchObject({ status: "FAILED", error: "flowhooks.FlowFailed" });
    expect(result.cause).toMatch(/A part of the flow \(a child state machine\) failed: States\.TaskFailed/);
    expect(result.statesEntered).toContain("flowhooks.PartFailed");
    expect(result.invocations.map((i) => i.task)).not.toContain("cleanup");
  });
});

describe("counting an inline Map's history events as Step Functions writes them", () => {
  it("counts the Map state's own events and each iteration's around its states' events, and no event for a retry beyond its attempts", () => {
    const watch = new LimitWatch(() => undefined);
    const map = { name: "t.Map", type: "Map", input: {} };
    const child = { name: "t.Child", type: "Task", input: {} };
    watch.onEvent({ type: "StateEntered", state: map }); // MapStateEntered + MapStateStarted + (at the end) MapStateSucceeded
    for (const index of [0, 1]) {
      watch.onEvent({ type: "MapIterationStarted", parentState: map, index } as never);
      watch.onEvent({ type: "StateEntered", state: child });
      watch.checkLambdaRequest("t.Child", {}); // TaskScheduled, TaskStarted, TaskFailed
      if (index === 1) {
        watch.onEvent({ type: "StateFailed", state: child });
        watch.onEvent({ type: "StateRetried", state: child });
        watch.checkLambdaRequest("t.Child", {}); // TaskScheduled, TaskStarted, TaskSucceeded
      }
      watch.onEvent({ type: "StateExited", state: { ...child, output: {} } });
      watch.onEvent({ type: "MapIterationSucceeded", parentState: map, index } as never);
    }
    watch.onEvent({ type: "StateExited", state: { ...map, output: [] } }); // MapStateExited
    // Step Functions: 4 for the Map state, 7 per iteration, 3 more for the retried attempt.
    expect(watch.historyEvents).toBe(4 + 7 + 7 + 3);
  });

  it("counts nothing for a Distributed Map's child (countHistory: false), whose events are its own execution's", () => {
    const watch = new LimitWatch(() => undefined, { countHistory: false });
    watch.onEvent({ type: "StateEntered", state: { name: "t.DistChild", type: "Task", input: {} } });
    watch.checkLambdaRequest("t.DistChild", {});
    expect(watch.historyEvents).toBe(0);
  });
});
