import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resultKeyPrefix } from "../../lib/core/results";
import { emulate } from "../../lib/emulate/index";
import { virtualClock } from "../../lib/core/clock";
import { checkFidelity } from "../helpers/fidelity";
import { startFakeSlack } from "../helpers/fake-slack";
import { fixtureTarget, transitionsOf, withMapMode } from "./helpers";

describe("emulating signals.LOOP from the synthesized template", () => {
  it("runs a 3-iteration loop as three entries of the task state, with flow.run()'s transitions", async () => {
    const report = await checkFidelity(await fixtureTarget("loop"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.statesEntered).toEqual(["flowhooks.Start", "pages", "pages.Loop", "pages", "pages.Loop", "pages", "total", "flowhooks.Decide", "flowhooks.FlowSucceeded"]);
    expect(result.invocations.filter((i) => i.task === "pages").map((i) => `${i.outcome}${i.errorType ? ` ${i.errorType}` : ""}`)).toEqual(["error flowhooks.Looped", "error flowhooks.Looped", "returned"]);
    expect(transitionsOf(result, "task", "pages")).toEqual(["Pending -> Running", "Running -> Looped", "Looped -> Running", "Running -> Looped", "Looped -> Running", "Running -> Success"]);
    expect(result.output).toMatchObject({ L1: { total: { state: { result: 6 } } } });
  });
});

describe("deployed loops keep flow.run()'s semantics", () => {
  it("counts retries per iteration: a retried attempt inside iteration 2 re-runs iteration 2, as flow.run() does", async () => {
    const report = await checkFidelity(await fixtureTarget("loop-retry"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(transitionsOf(result, "task", "pages")).toEqual([
      "Pending -> Running",
      "Running -> Looped",
      "Looped -> Running",
      "Running -> Failed",
      "Failed -> Retrying",
      "Retrying -> Running",
      "Running -> Looped",
      "Looped -> Running",
      "Running -> Success",
    ]);
    // Attempts restart at 1 in each iteration: Step Functions' Retry counter starts again when the Catch re-enters the state.
    expect(result.transitions.filter((t) => t.name === "pages").map((t) => `${t.loop ?? 1}.${t.attempt}`)).toEqual(["1.1", "1.1", "2.1", "2.1", "2.1", "2.2", "2.2", "3.1", "3.1"]);
    expect(result.output).toMatchObject({ L0: { pages: { state: { result: [1, 2, 3] } } } });
  });

  it("fails the task and the flow when iteration 2 fails, with flow.run()'s transitions", async () => {
    const report = await checkFidelity(await fixtureTarget("loop-fails"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("FAILED");
    expect(transitionsOf(result, "task", "pages")).toEqual(["Pending -> Running", "Running -> Looped", "Looped -> Running", "Running -> Failed"]);
    expect(transitionsOf(result, "task", "after")).toEqual(["Pending -> TriggerFailed"]);
  });

  it("carries a loop result over the results threshold through the results store, with flow.run()'s transitions", async () => {
    const report = await checkFidelity(await fixtureTarget("loop-large"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(result.output).toMatchObject({ L1: { total: { state: { result: 3 * 1002 } } } });
    // Each iteration's result went to the store (the caught error carries its reference), and the next iteration read it back.
    const stored = join(result.resultsDir, resultKeyPrefix(result.executionArn), "pages");
    expect(readdirSync(stored).filter((f) => f.startsWith("loop-")).sort()).toEqual(["loop-1.json", "loop-2.json"]);
    expect(JSON.parse(readFileSync(join(stored, "loop-2.json"), "utf8"))).toHaveLength(2);
  });
});

describe("a deployed loop is bounded by Step Functions' 25,000-event history", () => {
  it("stops a loop that never ends with Failed naming the fix, before the history limit, through the task's chain", async () => {
    const target = await fixtureTarget("loop-forever");
    const budget = JSON.parse(target.synthesized.definitionString).States["flowhooks.Start"].Parameters.flowhooksLoop.budget as number;
    // What the rest of this one-task flow may take, at most, leaves the loop nearly all of the history.
    expect(budget).toBeGreaterThan(24_900);
    expect(budget).toBeLessThan(25_000);
    const result = await emulate({ target, fastRetries: true, write: () => undefined });
    // Not States.Runtime (the history limit, which the emulator enforces too): the task ended first, so the flow failed as flows do.
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("flowhooks.FlowFailed");
    // Seven events per iteration (entered, scheduled, started, failed, exited, and the hop back: entered, exited), stopped while the next one still fits.
    const iterations = Math.floor(budget / 7);
    expect(result.invocations).toHaveLength(iterations);
    const chain = transitionsOf(result, "task", "forever");
    expect(chain.slice(-2)).toEqual(["Running -> Looped", "Looped -> Failed"]);
    const failed = result.transitions.at(-2)!.newState;
    expect(failed.message).toBe(
      `Task \`forever\` looped ${iterations} times (signals.LOOP), about ${iterations * 7} of the ${budget} history events its loop may use; another iteration could pass Step Functions' limit of 25,000 events in one execution's history. ` +
        "Do more work per iteration so the loop ends sooner, or continue in a new execution (start the flow again with the loop's result as a parameter).",
    );
  }, 120_000);
});

describe("mapped children that loop", () => {
  it("loop inside the Map's item processor, each child re-entering its own state, with flow.run()'s transitions", async () => {
    const report = await checkFidelity(await fixtureTarget("loop-mapped"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(report.emulated.get("task count[2]")).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Looped("item 2, iteration 1")',
      'Looped("item 2, iteration 1") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Looped("item 2, iteration 2")',
      'Looped("item 2, iteration 2") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    expect(result.invocations.filter((i) => i.errorType === "flowhooks.Looped")).toHaveLength(0 + 1 + 2);
  });
});

describe("alerts of a deployed loop", () => {
  it("sends no alert for Looped by default: a loop that ends Success alerts nothing", async () => {
    const slack = await startFakeSlack();
    try {
      const result = await emulate({ target: await fixtureTarget("loop"), fastRetries: true, slackWebhookUrl: slack.url, clock: virtualClock(new Date()) });
      expect(result.status).toBe("SUCCEEDED");
      expect(transitionsOf(result, "task", "pages").filter((t) => t.endsWith("-> Looped"))).toHaveLength(2);
      expect(result.alerts).toEqual([]);
    } finally {
      await slack.close();
    }
  });
});

describe("children of a Distributed Map that loop", () => {
  it("loop inside their child executions, with flow.run()'s transitions", async () => {
    const report = await checkFidelity(withMapMode(await fixtureTarget("loop-mapped"), "distributed"));
    expect(report.diff).toBeUndefined();
    expect(report.result.status).toBe("SUCCEEDED");
    expect(report.result.invocations.filter((i) => i.errorType === "flowhooks.Looped")).toHaveLength(0 + 1 + 2);
  });
});
