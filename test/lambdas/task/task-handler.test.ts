import { describe, expect, it } from "vitest";
import { Flow, Failed, Skipped, Success, signals, task, triggers, virtualClock, parameter, type State } from "../../../lib/index";
import { createTaskHandler, RETRYING_ERROR, type TaskOutput, type TaskStateChangeDetail } from "../../../lambdas/task/index";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";

/** The payload a compiled task state sends: `{ task, parameters, upstream, context: $$ }`. */
function payload(taskName: string, upstream: Record<string, TaskOutput> = {}, retryCount = 0, input: unknown = {}) {
  return {
    task: taskName,
    parameters: input,
    upstream,
    context: {
      Execution: { Id: EXECUTION, Input: input, Name: "run-1", StartTime: NOW.toISOString() },
      State: { Name: taskName, EnteredTime: NOW.toISOString(), RetryCount: retryCount },
      StateMachine: { Id: "arn:aws:states:us-east-1:123456789012:stateMachine:orders", Name: "orders" },
    },
  };
}

function output(state: State): TaskOutput {
  return { state: state.toJSON(), failed: state.isFailed(), skipped: state.isSkipped(), failedLabel: "" };
}

function handlerFor(flow: Flow, taskName: string) {
  const events: TaskStateChangeDetail[] = [];
  const handler = createTaskHandler(flow, {
    clock: virtualClock(NOW),
    env: { FLOWHOOKS_TASK: taskName },
    emit: async (detail) => {
      events.push(detail);
    },
  });
  return { handler, events };
}

describe("task Lambda", () => {
  it("runs the task with its parameters and upstream results and returns Success with the result", async () => {
    const load = task({ name: "load" }, (n: number) => n);
    const double = task({ name: "double" }, (x: number, k: number) => x * k);
    const flow = new Flow({ name: "orders" }, () => {
      double(load(parameter("n")), parameter("k"));
    });
    const { handler, events } = handlerFor(flow, "double");
    const out = await handler(payload("double", { load: output(new Success("ok", { result: 21 })) }, 0, { n: 21, k: 2 }));
    expect(out).toMatchObject({ state: { type: "Success", message: "Task run succeeded.", result: 42 }, failed: false, skipped: false });
    expect(events.map((e) => [e.oldState.type, e.newState.type])).toEqual([
      ["Pending", "Running"],
      ["Running", "Success"],
    ]);
    expect(events[0]).toMatchObject({ flow: "orders", task: "double", executionArn: EXECUTION, attempt: 1 });
  });

  it("returns the state a state handler rewrote", async () => {
    const rewrite = (_t: unknown, _old: State, next: State) => (next.isSuccessful() ? new Failed("rejected by handler") : undefined);
    const only = task({ name: "only", stateHandlers: [rewrite] }, () => 1);
    const flow = new Flow({ name: "f", tasks: [only] });
    const { handler, events } = handlerFor(flow, "only");
    const out = await handler(payload("only"));
    expect(out).toMatchObject({ state: { type: "Failed", message: "rejected by handler" }, failed: true, failedLabel: " `only`" });
    expect(events.at(-1)!.newState.type).toBe("Failed");
  });

  it("throws flowhooks.Retrying after a failed attempt with retries left, with the next attempt's startTime for attempt n", async () => {
    const flaky = task({ name: "flaky", maxRetries: 3, retryDelaySeconds: 10, backoffRate: 2 }, () => {
      throw new Error("boom");
    });
    const flow = new Flow({ name: "f", tasks: [flaky] });
    const { handler, events } = handlerFor(flow, "flaky");
    // RetryCount 1 = attempt 2: the delay after it is 10 × 2^(2-1) = 20 s.
    const error = await handler(payload("flaky", {}, 1)).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe(RETRYING_ERROR);
    const retrying = events.at(-1)!;
    expect(retrying.newState).toMatchObject({ type: "Retrying", runCount: 2, startTime: new Date(NOW.getTime() + 20_000).toISOString() });
    expect(retrying.attempt).toBe(2);
    expect(events[0]!.oldState).toMatchObject({ type: "Retrying", runCount: 1 });
  });

  it("returns Failed on the last attempt instead of throwing", async () => {
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 1 }, () => {
      throw new Error("still broken");
    });
    const flow = new Flow({ name: "f", tasks: [flaky] });
    const { handler, events } = handlerFor(flow, "flaky");
    const out = await handler(payload("flaky", {}, 2));
    expect(out).toMatchObject({ state: { type: "Failed", message: "Error during execution of task: Error: still broken" }, failed: true });
    expect(events.map((e) => e.newState.type)).not.toContain("Retrying");
  });

  it("records the attempt in the output when a later attempt ends the task (the handler checks that its retries were alerted)", async () => {
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 1 }, () => "done");
    const flow = new Flow({ name: "f", tasks: [flaky] });
    const { handler } = handlerFor(flow, "flaky");
    expect(await handler(payload("flaky", {}, 1))).toMatchObject({ state: { type: "Success" }, attempt: 2 });
    expect(await handler(payload("flaky", {}, 0))).not.toHaveProperty("attempt");
  });

  it("ends TriggerFailed without running when the trigger rejects the upstream states", async () => {
    let ran = false;
    const a = task({ name: "a" }, () => 1);
    const b = task({ name: "b" }, () => 2);
    const c = task({ name: "c" }, (_a: number, _b: number) => {
      ran = true;
    });
    const flow = new Flow({ name: "f" }, () => {
      c(a(), b());
    });
    const { handler } = handlerFor(flow, "c");
    const out = await handler(payload("c", { a: output(new Success("ok")), b: output(new Failed("no")) }));
    expect(out.state.type).toBe("TriggerFailed");
    expect(out.failed).toBe(true);
    expect(ran).toBe(false);
  });

  it("treats an upstream infrastructure failure recorded by Catch as Failed for the trigger", async () => {
    const a = task({ name: "a" }, () => 1);
    const cleanup = task({ name: "cleanup", trigger: triggers.anyFailed }, (_a: number) => "cleaned");
    const flow = new Flow({ name: "f" }, () => {
      cleanup(a());
    });
    const { handler } = handlerFor(flow, "cleanup");
    const infra: TaskOutput = { infrastructure: { Error: "Sandbox.Timedout", Cause: "Task timed out after 3.00 seconds" }, failed: true, skipped: false, failedLabel: " `a`" };
    const out = await handler(payload("cleanup", { a: infra }));
    expect(out.state).toMatchObject({ type: "Success", result: "cleaned" });
  });

  it("skips a task whose upstream task was skipped", async () => {
    const a = task({ name: "a" }, (): number => {
      throw new signals.SKIP("nothing to do");
    });
    const b = task({ name: "b" }, (_a: number) => 1);
    const flow = new Flow({ name: "f" }, () => {
      b(a());
    });
    const { handler } = handlerFor(flow, "b");
    const out = await handler(payload("b", { a: output(new Skipped("nothing to do")) }));
    expect(out).toMatchObject({ state: { type: "Skipped" }, skipped: true, failed: false });
  });

  it("fails a task whose result is too large for the execution JSON, naming the fix", async () => {
    const big = task({ name: "big" }, () => "x".repeat(300 * 1024));
    const flow = new Flow({ name: "f", tasks: [big] });
    const { handler } = handlerFor(flow, "big");
    const out = await handler(payload("big"));
    expect(out.state.type).toBe("Failed");
    expect(out.state.message).toMatch(/return a reference such as its key/);
  });

  it("rejects a malformed payload with an error that says what is wrong", async () => {
    const only = task({ name: "only" }, () => 1);
    const { handler } = handlerFor(new Flow({ name: "f", tasks: [only] }), "only");
    await expect(handler({ task: "only", upstream: {} })).rejects.toThrow(/context/);
    await expect(handler(payload("other"))).rejects.toThrow(/runs task `only`.*sent task `other`/);
  });

  it("names FLOWHOOKS_TASK when it is not set", async () => {
    const only = task({ name: "only" }, () => 1);
    const handler = createTaskHandler(new Flow({ name: "f", tasks: [only] }), { env: {} });
    await expect(handler(payload("only"))).rejects.toThrow(/FLOWHOOKS_TASK/);
  });
});

describe("task Lambda parameters", () => {
  it("fails the task, naming the parameter, when the execution input lacks a required parameter", async () => {
    let ran = false;
    const load = task({ name: "load" }, (id: string) => {
      ran = true;
      return id;
    });
    const flow = new Flow({ name: "orders" }, () => {
      load(parameter("orderId"));
    });
    const { handler } = handlerFor(flow, "load");
    const out = await handler(payload("load", {}, 0, {}));
    expect(out.state).toMatchObject({ type: "Failed", message: expect.stringMatching(/needs the parameter `orderId`/) });
    expect(ran).toBe(false);
  });
});
