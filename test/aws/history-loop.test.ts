/**
 * A deployed loop in the execution history: each iteration is an entry of the task state that ended
 * in a caught `flowhooks.Looped` error; `flowhooks history` (and the handler's recovery) read them as
 * Looped transitions, never as failures.
 */
import { describe, expect, it } from "vitest";
import { executionTimeline, infrastructureTransitions } from "../../lib/aws/history";
import { LOOPED_ERROR } from "../../lib/aws/state-mapping";
import { Looped } from "../../lib/core/states";
import { HistoryRecorder } from "../../lib/emulate/envelopes";
import { renderTimeline } from "../../lib/cli/timeline";
import { TaskLoopedError } from "../../lambdas/task/attempt";

const line = (e: { object: string; attempt?: number; oldState: unknown; newState: unknown }) => `${e.object}#${e.attempt}: ${String(e.oldState)} -> ${String(e.newState)}`;

/** The Cause Step Functions records for an error a Node.js Lambda function threw. */
function lambdaCause(error: Error): string {
  return JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: (error.stack ?? "").split("\n") });
}

/** A history in which `pages` loops twice (the second iteration retried once), then succeeds. */
function loopHistory() {
  const history = new HistoryRecorder();
  let t = Date.parse("2026-01-01T00:00:00Z");
  const at = () => new Date((t += 1000));
  const loopedError = (n: number) => new TaskLoopedError({ task: "pages", state: new Looped(`page ${n}`, { loopCount: n, result: n }).toJSON(), events: 5 * n });
  history.executionStarted({}, at());
  history.attemptStarted("pages#1", "pages", true, "fn", at());
  history.attemptFailed("pages#1", LOOPED_ERROR, lambdaCause(loopedError(1)), at());
  history.attemptStarted("pages#2", "pages", true, "fn", at());
  history.attemptFailed("pages#2", "flowhooks.Retrying", lambdaCause(Object.assign(new Error(`Retrying("again"); next attempt at ${new Date(t + 2000).toISOString()}`), { name: "flowhooks.Retrying" })), at());
  history.attemptStarted("pages#2", "pages", false, "fn", at());
  history.attemptFailed("pages#2", LOOPED_ERROR, lambdaCause(loopedError(2)), at());
  history.attemptStarted("pages#3", "pages", true, "fn", at());
  history.attemptSucceeded("pages#3", { Payload: { state: { type: "Success", message: "Task run succeeded.", result: 3 } } }, at());
  history.executionEnded("SUCCEEDED", { output: {} }, at());
  return history.events;
}

describe("a deployed loop's history", () => {
  it("shows each iteration's Looped transition and the next iteration starting from it, attempts counted per iteration", () => {
    const tasks = executionTimeline(loopHistory(), { flowName: "pages-flow" }).filter((e) => e.kind === "task");
    expect(tasks.map(line)).toEqual([
      'pages#1: Pending() -> Running("Starting task run.")',
      'pages#1: Running("Starting task run.") -> Looped("page 1")',
      'pages#1: Looped("page 1") -> Running("Starting task run.")',
      'pages#1: Running("Starting task run.") -> Retrying("again")',
      'pages#2: Retrying("again") -> Running("Starting task run.")',
      'pages#2: Running("Starting task run.") -> Looped("page 2")',
      'pages#1: Looped("page 2") -> Running("Starting task run.")',
      'pages#1: Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    expect(tasks.map((e) => e.loop ?? 1)).toEqual([1, 1, 2, 2, 2, 2, 3, 3]);
    expect(renderTimeline(tasks.map((t) => ({ ...t, name: t.task! })), { utc: true })).toContain('loop 3 #1 Looped → Running("Starting task run.")');
    const looped = tasks.find((e) => e.newState.isLooped())!.newState as Looped;
    expect(looped.loopCount).toBe(1);
    expect(looped.result).toBe(1);
  });

  it("never reconstructs a loop's iteration as an infrastructure failure", () => {
    expect(infrastructureTransitions(loopHistory(), { taskNames: new Set(["pages"]) })).toEqual([]);
  });
});
