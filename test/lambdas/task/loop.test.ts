/**
 * The task Lambda's side of a deployed loop: an iteration that ends Looped throws flowhooks.Looped
 * (the task state's Catch re-enters the state with it), the next invocation runs the next iteration
 * from that Looped, and the history budget and the error's size bound the loop with Failed.
 */
import { describe, expect, it } from "vitest";
import { Flow, getRunContext, signals, task, virtualClock } from "../../../lib/index";
import { createTaskHandler, LOOPED_ERROR, type TaskStateChangeDetail } from "../../../lambdas/task/index";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:loops:run-1";

/** What the compiled task state sends; `caught` is the error its Looped Catch kept. */
function payload(taskName: string, loop: { budget?: number; caught?: { Error: string; Cause: string } }, retryCount = 0) {
  return {
    task: taskName,
    parameters: {},
    upstream: {},
    context: { Execution: { Id: EXECUTION }, State: { EnteredTime: NOW.toISOString(), RetryCount: retryCount } },
    loop,
  };
}

/** The error output Step Functions' Catch gives for an error a Node.js function threw. */
function caught(error: unknown): { Error: string; Cause: string } {
  const e = error as Error;
  return { Error: e.name, Cause: JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? "").split("\n") }) };
}

function handlerFor(flow: Flow, taskName: string) {
  const events: TaskStateChangeDetail[] = [];
  const handler = createTaskHandler(flow, { clock: virtualClock(NOW), env: { FLOWHOOKS_TASK: taskName }, emit: async (d) => void events.push(d) });
  return { handler, events };
}

/** Invokes until the function returns, feeding each thrown flowhooks.Looped back as Step Functions does. */
async function iterate(handler: (e: unknown) => Promise<unknown>, taskName: string, budget?: number) {
  const thrown: Error[] = [];
  let loop: { budget?: number; caught?: { Error: string; Cause: string } } = budget === undefined ? {} : { budget };
  for (;;) {
    try {
      return { output: await handler(payload(taskName, loop)), thrown };
    } catch (error) {
      expect((error as Error).name).toBe(LOOPED_ERROR);
      thrown.push(error as Error);
      loop = { ...loop, caught: caught(error) };
    }
  }
}

describe("a deployed loop in the task Lambda", () => {
  it("ends each iteration with flowhooks.Looped and runs the next from it, loop count and result carried", async () => {
    const pages = task({ name: "pages" }, () => {
      const loop = getRunContext()!.loop!;
      const rows = (loop.result as number[] | undefined) ?? [];
      if (loop.count < 3) throw new signals.LOOP(`page ${loop.count}`, { result: [...rows, loop.count] });
      return [...rows, loop.count];
    });
    const { handler, events } = handlerFor(new Flow({ name: "loops", tasks: [pages] }), "pages");
    const { output, thrown } = await iterate(handler, "pages", 20_000);
    expect(thrown).toHaveLength(2);
    expect(output).toMatchObject({ state: { type: "Success", result: [1, 2, 3] } });
    expect(events.map((e) => `${e.loopCount ?? 1}.${e.attempt} ${e.oldState.type} -> ${e.newState.type}`)).toEqual([
      "1.1 Pending -> Running",
      "1.1 Running -> Looped",
      "2.1 Looped -> Running",
      "2.1 Running -> Looped",
      "3.1 Looped -> Running",
      "3.1 Running -> Success",
    ]);
  });

  it("ends Failed through the chain, naming the fix, when the next iteration could pass the history budget", async () => {
    const forever = task({ name: "forever" }, () => {
      throw new signals.LOOP("again");
    });
    const { handler, events } = handlerFor(new Flow({ name: "loops", tasks: [forever] }), "forever");
    // 7 events per iteration: the third would need 21 of 20.
    const { output, thrown } = await iterate(handler, "forever", 20);
    expect(thrown).toHaveLength(1);
    expect(output).toMatchObject({ state: { type: "Failed" }, failed: true });
    expect((output as { state: { message: string } }).state.message).toBe(
      "Task `forever` looped 2 times (signals.LOOP), about 14 of the 20 history events its loop may use; another iteration could pass Step Functions' limit of 25,000 events in one execution's history. " +
        "Do more work per iteration so the loop ends sooner, or continue in a new execution (start the flow again with the loop's result as a parameter).",
    );
    expect(events.slice(-2).map((e) => `${e.oldState.type} -> ${e.newState.type}`)).toEqual(["Running -> Looped", "Looped -> Failed"]);
  });

  it("ends Failed naming the fix when the loop's result cannot travel in the error (no results store)", async () => {
    const big = task({ name: "big" }, () => {
      throw new signals.LOOP("big", { result: "x".repeat(20_000) });
    });
    const { handler } = handlerFor(new Flow({ name: "loops", tasks: [big] }), "big");
    const out = (await handler(payload("big", { budget: 20_000 }))) as { state: { type: string; message: string } };
    expect(out.state.type).toBe("Failed");
    expect(out.state.message).toMatch(/^Task `big` ended loop iteration 1 with a result of about \d+ characters; a deployed loop carries at most 16384 .*Give the task function a results store/);
  });

  it("ignores a loop record another task left in the execution JSON: its first iteration starts from Pending", async () => {
    const a = task({ name: "a" }, () => {
      throw new signals.LOOP("a loops", { result: 1 });
    });
    const b = task({ name: "b" }, () => getRunContext()!.loop!.count);
    const flow = new Flow({ name: "loops", tasks: [a, b] });
    let left: { Error: string; Cause: string } | undefined;
    try {
      await handlerFor(flow, "a").handler(payload("a", { budget: 20_000 }));
    } catch (error) {
      left = caught(error);
    }
    const { handler, events } = handlerFor(flow, "b");
    const out = await handler(payload("b", { budget: 20_000, caught: left! }));
    expect(out).toMatchObject({ state: { type: "Success", result: 1 } });
    expect(events[0]!.oldState.type).toBe("Pending");
  });
});
