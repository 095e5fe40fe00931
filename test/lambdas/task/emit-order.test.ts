import { expect, it } from "vitest";
import { Flow, task, virtualClock } from "../../../lib/index";
import { createTaskHandler, type TaskStateChangeDetail } from "../../../lambdas/task/index";

it("sends a task's transition events one after another, in transition order, even when deliveries take different times", async () => {
  const flaky = task({ name: "flaky", maxRetries: 1, retryDelaySeconds: 5 }, () => {
    throw new Error("boom");
  });
  const flow = new Flow({ name: "f", tasks: [flaky] });
  const arrived: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const handler = createTaskHandler(flow, {
    clock: virtualClock(),
    env: { FLOWHOOKS_TASK: "flaky" },
    // The first delivery is the slowest: sent concurrently, it would arrive last.
    emit: async (detail: TaskStateChangeDetail) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, detail.newState.type === "Running" ? 30 : 1));
      arrived.push(`${detail.oldState.type}->${detail.newState.type}`);
      inFlight--;
    },
  });
  const execution = "arn:aws:states:us-east-1:123456789012:execution:f:run-1";
  await expect(
    handler({
      task: "flaky",
      parameters: {},
      upstream: {},
      context: {
        Execution: { Id: execution, Input: {}, Name: "run-1", StartTime: "2026-01-01T00:00:00Z" },
        State: { Name: "flaky", EnteredTime: "2026-01-01T00:00:00Z", RetryCount: 0 },
        StateMachine: { Id: "arn:aws:states:us-east-1:123456789012:stateMachine:f", Name: "f" },
      },
    }),
  ).rejects.toMatchObject({ name: "flowhooks.Retrying" });
  expect(arrived).toEqual(["Pending->Running", "Running->Failed", "Failed->Retrying"]);
  expect(maxInFlight).toBe(1);
});
