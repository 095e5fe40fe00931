/**
 * The deployed path of a task alert's key: the compiled state machine's payload (resolved as Step
 * Functions resolves it) reaches the real task Lambda, whose events reach the real handler Lambda;
 * at the failed ending the handler reads the execution history to recover lost task alerts. The
 * live alert and the history both name the time the task's state was entered, so nothing is sent twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GetExecutionHistoryCommand } from "@aws-sdk/client-sfn";
import { Flow, task } from "../../../lib/index";
import { virtualClock } from "../../../lib/core/clock";
import { compileFlow } from "../../../lib/compile/index";
import { createTaskHandler } from "../../../lambdas/task/index";
import type { TaskStateChangeDetail } from "../../../lambdas/task/payload";
import { createEventsHandler } from "../../../lambdas/handler/index";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord } from "../../fixtures/index";
import { harness } from "./harness";

let h: ReturnType<typeof harness>;
afterEach(() => h?.sfnMock.restore());

const ENTERED = new Date("2019-02-26T19:42:22.123Z");
const at = (seconds: number) => new Date(ENTERED.getTime() + seconds * 1000);

/** Resolves a compiled Parameters template as Step Functions would, for the paths a first-level task state uses. */
function resolve(template: unknown, paths: Record<string, unknown>): unknown {
  if (Array.isArray(template)) return template.map((v) => resolve(v, paths));
  if (template === null || typeof template !== "object") return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith(".$")) {
      if (!(String(value) in paths)) throw new Error(`the test resolves no ${String(value)}`);
      out[key.slice(0, -2)] = paths[String(value)];
    } else out[key] = resolve(value, paths);
  }
  return out;
}

describe("a task's alerts keyed by when its state was entered, end to end", () => {
  it("alerts each Retrying once when the retried attempt's events come seconds after the state was entered, and the failed ending reads the history", async () => {
    h = harness({ flowStateHandlers: [] });
    // The harness's flow and task names (`orders`, `load`), with a body that always fails and a 10 s retry.
    const load = task({ name: "load", maxRetries: 2, retryDelaySeconds: 10 }, async () => {
      throw new Error("database unavailable");
    });
    const flow = new Flow({ name: "orders", tasks: [load] });
    const handler = createEventsHandler(flow, h.deps);
    const { definition } = compileFlow(flow, { taskFunctionArn: (n) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}` });
    const template = (definition.States.load!.Parameters as { Payload: unknown }).Payload;

    // Attempts 1 and 2 fail and are retried by Step Functions (10 s later); attempt 3 fails for good.
    const events: TaskStateChangeDetail[] = [];
    const history: Record<string, unknown>[] = [
      { id: 1, type: "ExecutionStarted", timestamp: at(-1) },
      { id: 2, previousEventId: 1, type: "TaskStateEntered", timestamp: ENTERED, stateEnteredEventDetails: { name: "load" } },
    ];
    const push = (event: Record<string, unknown>) => history.push({ id: history.length + 1, previousEventId: history.length, ...event });
    for (const retryCount of [0, 1, 2]) {
      const started = at(retryCount * 10 + 0.5);
      const fn = createTaskHandler(flow, { env: { FLOWHOOKS_TASK: "load" }, clock: virtualClock(started), emit: async (d) => void events.push(d) });
      const payload = resolve(template, {
        "$$.Execution.Id": EXECUTION_ARN,
        "$$.State.EnteredTime": ENTERED.toISOString(),
        "$$.State.RetryCount": retryCount,
        "$.parameters": {},
        "$.flowhooksLoop": { budget: 24_000 },
      });
      push({ type: "TaskScheduled", timestamp: started });
      push({ type: "TaskStarted", timestamp: started });
      try {
        const output = await fn(payload);
        push({ type: "TaskSucceeded", timestamp: at(retryCount * 10 + 1), taskSucceededEventDetails: { output: JSON.stringify({ Payload: output }) } });
      } catch (error) {
        const e = error as Error;
        expect(e.name).toBe("flowhooks.Retrying");
        push({ type: "TaskFailed", timestamp: at(retryCount * 10 + 1), taskFailedEventDetails: { error: e.name, cause: JSON.stringify({ errorType: e.name, errorMessage: e.message }) } });
      }
    }
    push({ type: "TaskStateExited", timestamp: at(22) });
    push({ type: "ExecutionFailed", timestamp: at(23), executionFailedEventDetails: { error: "flowhooks.FlowFailed" } });
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: history as never });

    for (const detail of events) await handler(sqsEvent(sqsRecord(eventBridgeEvent("task-retrying", { ...detail }))));
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));

    const sent = h.channel.sent.filter((a) => a.task === "load").map((a) => `${a.newState.name} #${a.attempt}${a.observedAfterTheFact ? " (reconstructed)" : ""}`);
    expect(sent).toEqual(["Retrying #1", "Retrying #2", "Failed #3"]);
    // Each event carried the state's entry time, as the compiled payload passed it.
    expect(new Set(events.map((d) => d.stateEnteredTime))).toEqual(new Set([ENTERED.toISOString()]));
  });
});
