import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { virtualClock } from "../../lib/core/clock";
import { emulate } from "../../lib/emulate/index";
import { checkFidelity } from "../helpers/fidelity";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { fixtureTarget, transitionsOf } from "./helpers";

describe("emulating retries from the synthesized template", () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(() => slack.close());

  it("retries a failed attempt through the state's Retry field and succeeds, as flow.run() does", async () => {
    const report = await checkFidelity(await fixtureTarget("retry-then-success"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    // Two invocations of the same Task state: the retry ran in Step Functions, not inside the Lambda.
    expect(result.invocations.map((i) => `${i.task}#${i.invocation}:${i.outcome}`)).toEqual(["flaky#1:error", "flaky#2:returned", "after#1:returned"]);
    expect(result.invocations[0]!.errorType).toBe("flowhooks.Retrying");
    expect(result.statesEntered).toEqual(["flowhooks.Start", "flaky", "after", "flowhooks.Decide", "flowhooks.FlowSucceeded"]);
    expect(transitionsOf(result, "task", "flaky")).toEqual(["Pending -> Running", "Running -> Failed", "Failed -> Retrying", "Retrying -> Running", "Running -> Success"]);
    expect(result.transitions.filter((t) => t.name === "flaky").map((t) => t.attempt)).toEqual([1, 1, 1, 2, 2]);
    expect(result.output).toMatchObject({ L1: { after: { state: { result: "ok on attempt 2, then after" } } } });
  });

  it("delivers the task Lambdas' events through the real SDK client over HTTP (eventDelivery: \"http\") as in-process", async () => {
    const target = await fixtureTarget("retry-then-success");
    const overHttp = await emulate({ target, fastRetries: true, write: () => undefined, eventDelivery: "http" });
    const inProcess = await emulate({ target, fastRetries: true, write: () => undefined });
    const summary = (r: typeof overHttp) => r.transitions.map((t) => `${t.kind} ${t.name} ${t.attempt ?? ""} ${t.oldState.name} -> ${t.newState.name}`);
    expect(overHttp.status).toBe("SUCCEEDED");
    expect(summary(overHttp)).toEqual(summary(inProcess));
    expect(transitionsOf(overHttp, "task", "flaky")).toEqual(["Pending -> Running", "Running -> Failed", "Failed -> Retrying", "Retrying -> Running", "Running -> Success"]);
  });

  it("shortens retry waits with fastRetries and reports by how much", async () => {
    const started = Date.now();
    const result = await emulate({ target: await fixtureTarget("retry-then-success"), fastRetries: true, write: () => undefined });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.retryWaits).toEqual({ deployedMs: 10_000, emulatedMs: 0, shortened: true });
  });

  it("alerts each retry and the final failure to a Slack webhook on 127.0.0.1 when retries run out", async () => {
    const result = await emulate({ target: await fixtureTarget("retries-exhausted"), fastRetries: true, slackWebhookUrl: slack.url, clock: virtualClock(new Date()) });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("flowhooks.FlowFailed");
    // The alerts came from the handler code `cdk deploy` ships, given the emulator's parts through its hook.
    expect(result.handlerCode).toBe("bundled");
    expect(result.statesEntered).toEqual(["flowhooks.Start", "broken", "report", "flowhooks.Decide", "flowhooks.FailureCause", "flowhooks.FlowFailed"]);
    expect(result.invocations.filter((i) => i.task === "broken")).toHaveLength(3);
    expect(transitionsOf(result, "task", "report")).toEqual(["Pending -> TriggerFailed"]);
    const sent = result.alerts.map((a) => `${a.channel} ${a.alert.kind} ${a.alert.task ?? a.alert.flow} ${a.alert.newState.name}${a.alert.attempt ? ` #${a.alert.attempt}` : ""}`);
    // Exactly one alert per retry, one for the task's failure and one for the flow's: no Failed alert for an attempt that was retried.
    expect(sent).toEqual([
      "slack task broken Retrying #1",
      "slack task broken Retrying #2",
      "slack task broken Failed #3",
      "slack flow retries-exhausted Failed",
    ]);
    // One execution is one conversation: the task alerts within the window as one digest, then the ending.
    expect(slack.accepted()).toHaveLength(2);
    const [digest, ending] = slack.accepted().map((p) => JSON.stringify(p));
    expect(digest).toContain("the database is down");
    // Retry lines carry the attempt and the next attempt's time, as Slack shows them deployed.
    expect(digest).toMatch(/\*broken\* Retrying, attempt 1 of 3, next attempt \d{4}-\d\d-\d\dT[\d:]+Z/);
    expect(digest).toContain("*broken* Failed, attempt 3 of 3");
    expect(ending).toContain("Flow retries-exhausted failed");
    expect(digest + ending).not.toContain(slack.token);
  });

  it("alerts each Retrying once, with no reconstructed copy from the history, when a retried attempt's events come a second after the state was entered", async () => {
    // The task payloads carry $$.State.EnteredTime, the same time the history records as TaskStateEntered,
    // so the failed ending's recovery of lost alerts finds each alert already sent (ordinary task and mapped child alike).
    const result = await emulate({ target: await fixtureTarget("slow-retries"), fastRetries: true, clock: virtualClock(new Date()), write: () => undefined });
    expect(result.status).toBe("FAILED");
    const sent = result.alerts.map((a) => `${a.alert.kind} ${a.alert.task ?? a.alert.flow} ${a.alert.newState.name}${a.alert.attempt ? ` #${a.alert.attempt}` : ""}${a.alert.observedAfterTheFact ? " (reconstructed)" : ""}`);
    expect(sent.sort()).toEqual(["flow slow-retries Failed", "task chunk[1] Failed #2", "task chunk[1] Retrying #1", "task lagging Failed #2", "task lagging Retrying #1"]);
    // The first attempt was retried by Step Functions (its Lambda threw flowhooks.Retrying); the second returned the Failed state.
    expect(result.invocations.filter((i) => i.task === "lagging").map((i) => i.outcome)).toEqual(["error", "returned"]);
  });
});

describe("emulating RETRY signals", () => {
  it("hands the Retrying a RETRY(\"…\") asked for to the next attempt, as flow.run() does (a task, and a mapped task's child)", async () => {
    const report = await checkFidelity(await fixtureTarget("retry-signal"));
    expect(report.diff).toBeUndefined();
    const { result } = report;
    expect(result.status).toBe("SUCCEEDED");
    expect(transitionsOf(result, "task", "wait")).toEqual(["Pending -> Running", "Running -> Retrying", "Retrying -> Running", "Running -> Success"]);
    // The state handler saw the signal as the old state's result on the second attempt, locally and emulated.
    expect(report.emulated.get("task wait")).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Retrying("export not ready on attempt 1")',
      'Retrying("export not ready on attempt 1") -> Running("Starting after RETRY.")',
      'Running("Starting after RETRY.") -> Success("Task run succeeded.")',
    ]);
    expect(report.emulated.get("task fetch[1]")).toContain('Retrying("item 1 is being written") -> Running("Starting after RETRY.")');
    expect(result.invocations.filter((i) => i.task === "wait").map((i) => i.outcome)).toEqual(["error", "returned"]);
  });
});
