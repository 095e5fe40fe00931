/** Mapped tasks compiled to an inline Map and run by aws-local-stepfunctions with the real task Lambda code. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, flatten, getRunContext, parameter, task, unmapped } from "../../lib/index";
import type { StateJSON } from "../../lib/core/states";
import { mapStateNames } from "../../lib/compile/index";
import { runLocally } from "./local-run";
import { createTaskHandler, HISTORY_EVENTS_PER_INLINE_CHILD, inlineMaxItems } from "../../lambdas/task/index";
import { StateMachine } from "aws-local-stepfunctions";
import { prepareDefinition } from "../../lib/emulate/definition";
import { virtualClock } from "../../lib/core/clock";

type Out = { state: StateJSON & { result?: unknown }; failed: boolean; mapIndex?: number };

/** The output a task's function returned (a mapped task's: its collect step's, or its prepare step's verdict). */
function outputOf(run: Awaited<ReturnType<typeof runLocally>>, name: string): Out {
  const names = mapStateNames(name);
  if (run.returned.has(names.collect)) return run.returned.get(names.collect);
  const out = run.returned.get(name);
  return out && "verdict" in out ? out.verdict : out;
}

const transitions = (run: Awaited<ReturnType<typeof runLocally>>, name: string, mapIndex?: number) =>
  run.events.filter((e) => e.task === name && e.mapIndex === mapIndex).map((e) => `${e.oldState.type}→${e.newState.type}`);

describe("a mapped task compiled to an inline Map, run with the real task Lambda code", () => {
  it("gives the reducer the children's results in item order, each child a full task run with its mapIndex", async () => {
    const seen: number[] = [];
    const list = task({ name: "list" }, () => [1, 2, 3]);
    const slow = task({ name: "double" }, async (x: number) => {
      seen.push(getRunContext()!.mapIndex!);
      await new Promise((r) => setTimeout(r, (4 - x) * 5));
      return x * 2;
    });
    const sum = task({ name: "sum" }, (xs: number[]) => xs);
    const run = await runLocally(new Flow({ name: "m" }, () => void sum(slow.map(list()))));
    expect(run.error).toBeUndefined();
    expect(outputOf(run, "sum").state.result).toEqual([2, 4, 6]);
    expect(seen.sort()).toEqual([0, 1, 2]);
    const parent = outputOf(run, "double");
    expect(parent.state.type).toBe("Mapped");
    expect(parent.state.message).toBe("Mapped 3 children.");
    expect(transitions(run, "double")).toEqual(["Pending→Mapped"]);
    for (const i of [0, 1, 2]) expect(transitions(run, "double", i)).toEqual(["Pending→Running", "Running→Success"]);
    expect(run.invocations.filter((n) => n.startsWith("double"))).toEqual(
      expect.arrayContaining(["double", "double.Child[0]", "double.Child[1]", "double.Child[2]", "double.Collect"]),
    );
  });

  it("passes unmapped values whole and maps over flatten(...) and parameters", async () => {
    const pages = task({ name: "pages" }, () => [[1, 2], [3]]);
    const scale = task({ name: "scale" }, (x: number, k: number, offset: number) => x * k + offset);
    const collect = task({ name: "collect" }, (xs: number[]) => xs);
    const flow = new Flow({ name: "m" }, () => void collect(scale.map(flatten(pages()), unmapped(parameter("k", 10)), unmapped(1))));
    const run = await runLocally(flow, { k: 100 });
    expect(run.error).toBeUndefined();
    expect(outputOf(run, "collect").state.result).toEqual([101, 201, 301]);
  });

  it("maps over a mapped result: child i feeds child i", async () => {
    const list = task({ name: "list" }, () => ["a", "b"]);
    const upper = task({ name: "upper" }, (s: string) => s.toUpperCase());
    const exclaim = task({ name: "exclaim" }, (s: string) => `${s}!`);
    const join_ = task({ name: "join" }, (xs: string[]) => xs.join(" "));
    const run = await runLocally(new Flow({ name: "m" }, () => void join_(exclaim.map(upper.map(list())))));
    expect(run.error).toBeUndefined();
    expect(outputOf(run, "join").state.result).toBe("A! B!");
  });

  it("reads children's stored results back for the reducer and the next map", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fh-map-results-"));
    const list = task({ name: "list" }, () => [1, 2]);
    const big = task({ name: "big" }, (n: number) => "x".repeat(2000) + n);
    const tail = task({ name: "tail" }, (s: string) => s.slice(-1));
    const lengths = task({ name: "lengths" }, (xs: string[]) => xs.map((s) => s.length));
    const joined = task({ name: "joined" }, (xs: string[]) => xs.join(""));
    const run = await runLocally(
      new Flow({ name: "m" }, () => {
        const b = big.map(list());
        lengths(b);
        joined(tail.map(b));
      }),
      {},
      { resultsDir: dir },
    );
    expect(run.error).toBeUndefined();
    expect(JSON.stringify(outputOf(run, "big"))).toContain("$flowhooksResultRef");
    expect(outputOf(run, "lengths").state.result).toEqual([2001, 2001]);
    expect(outputOf(run, "joined").state.result).toBe("12");
  });

  it("one failing child makes the reducer TriggerFailed and the flow Failed", async () => {
    const list = task({ name: "list" }, () => [1, 2, 3]);
    const check = task({ name: "check" }, (x: number) => {
      if (x === 2) throw new Error("two is bad");
      return x;
    });
    const sum = task({ name: "sum" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
    const run = await runLocally(new Flow({ name: "m" }, () => void sum(check.map(list()))));
    expect(transitions(run, "check", 1)).toEqual(["Pending→Running", "Running→Failed"]);
    expect(outputOf(run, "check").state.type).toBe("Mapped");
    expect(outputOf(run, "sum").state.type).toBe("TriggerFailed");
    expect(run.error?.message).toMatch(/Some reference tasks failed: `sum`$/);
  });

  it("fails the flow when the mapped task is a reference task with a failed child", async () => {
    const list = task({ name: "list" }, () => [1, 2]);
    const check = task({ name: "check" }, (x: number) => {
      if (x === 2) throw new Error("bad");
      return x;
    });
    const run = await runLocally(new Flow({ name: "m" }, () => void check.map(list())));
    expect(outputOf(run, "check")).toMatchObject({ failed: true, state: { type: "Mapped" } });
    expect(run.error?.message).toMatch(/Some reference tasks failed: `check`$/);
  });

  it("retries each child through t.Child's Retry, counting attempts per child", async () => {
    const calls = new Map<number, number>();
    const list = task({ name: "list" }, () => [1, 2]);
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 10 }, (x: number) => {
      const n = (calls.get(x) ?? 0) + 1;
      calls.set(x, n);
      if (x === 2 && n < 3) throw new Error("not yet");
      return x;
    });
    const run = await runLocally(new Flow({ name: "m" }, () => void flaky.map(list())));
    expect(run.error).toBeUndefined();
    expect(run.invocations.filter((n) => n === "flaky.Child[1]")).toHaveLength(3);
    expect(run.events.filter((e) => e.mapIndex === 1 && e.newState.type === "Retrying").map((e) => e.attempt)).toEqual([1, 2]);
    expect(transitions(run, "flaky", 0)).toEqual(["Pending→Running", "Running→Success"]);
    expect(transitions(run, "flaky")).toEqual(["Pending→Mapped"]);
  });

  it("records a crashed child through t.ChildInfra as a failed child", async () => {
    const list = task({ name: "list" }, () => [1, 2]);
    const work = task({ name: "work" }, (x: number) => x);
    const after = task({ name: "after" }, (xs: number[]) => xs);
    const run = await runLocally(new Flow({ name: "m" }, () => void after(work.map(list()))), {}, {
      crash: { "work.Child[1]": { Error: "Sandbox.Timedout", Cause: "Task timed out after 3.00 seconds" } },
    });
    const children = outputOf(run, "work").state.result as StateJSON[];
    expect(children.map((c) => c.type)).toEqual(["Success", "TimedOut"]);
    expect(outputOf(run, "after").state.type).toBe("TriggerFailed");
  });

  it("maps over an empty list: Mapped with no children and the reducer gets []", async () => {
    const list = task({ name: "list" }, (): number[] => []);
    const work = task({ name: "work" }, (x: number) => x);
    const after = task({ name: "after" }, (xs: number[]) => xs);
    const run = await runLocally(new Flow({ name: "m" }, () => void after(work.map(list()))));
    expect(run.error).toBeUndefined();
    expect(outputOf(run, "work").state).toMatchObject({ type: "Mapped", message: "Mapped 0 children.", result: [] });
    expect(outputOf(run, "after").state.result).toEqual([]);
  });

  it("fails the parent with a message naming the task and the type when the upstream is not an array", async () => {
    const notList = task({ name: "notList" }, () => ({ a: 1 }) as unknown as number[]);
    const work = task({ name: "work" }, (x: number) => x);
    const run = await runLocally(new Flow({ name: "m" }, () => void work.map(notList())));
    const parent = outputOf(run, "work");
    expect(parent.state.type).toBe("Failed");
    expect(parent.state.message).toMatch(/Task `work` maps over the result of `notList`, which is an object, not an array/);
    expect(transitions(run, "work")).toEqual(["Pending→Failed"]);
    expect(run.invocations).not.toContain("work.Collect");
    expect(run.error?.message).toMatch(/`work`/);
  });

  it("compiles mapConcurrency to the Map's MaxConcurrency and runs at most that many children at once", async () => {
    let running = 0;
    let most = 0;
    const list = task({ name: "list" }, () => [1, 2, 3, 4, 5, 6]);
    const slow = task({ name: "slow", mapConcurrency: 2 }, async (x: number) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return x;
    });
    const run = await runLocally(new Flow({ name: "m" }, () => void slow.map(list())));
    expect(run.error).toBeUndefined();
    const level = run.compiled.definition.States["flowhooks.Level1"] as { Branches: { States: Record<string, { MaxConcurrency?: number }> }[] };
    expect(level.Branches[0]!.States[mapStateNames("slow").map]!.MaxConcurrency).toBe(2);
    expect(most).toBe(2);
  });
});

describe("the history an inline map costs", () => {
  it("is HISTORY_EVENTS_PER_INLINE_CHILD events per child: iteration started and succeeded, the child state entered and exited, and a Lambda attempt", async () => {
    const list = task({ name: "list" }, () => [5]);
    const work = task({ name: "work" }, (x: number) => x);
    const flow = new Flow({ name: "m" }, () => void work.map(list()));
    const run = await runLocally(flow);
    const names = mapStateNames("work");
    const level = run.compiled.definition.States["flowhooks.Level1"] as { Branches: { States: Record<string, any> }[] };
    const { ProcessorConfig: _config, ...processor } = level.Branches[0]!.States[names.map].ItemProcessor;
    // One iteration is the ItemProcessor run as a state machine of its own; in the parent's history its
    // ExecutionStarted/ExecutionSucceeded become MapIterationStarted/MapIterationSucceeded.
    const { definition } = prepareDefinition(JSON.stringify(processor));
    const handler = createTaskHandler(flow, { env: { FLOWHOOKS_TASK: "work" }, clock: virtualClock() });
    const child = new StateMachine(definition as never).run(
      { item: run.returned.get("work").items[0], parameters: {}, upstream: {}, executionId: "arn:aws:states:us-east-1:123456789012:execution:test:run-1", flowhooksLoop: { budget: 24_000 } } as never,
      { overrides: { taskResourceLocalHandlers: { [names.child]: async (input: any) => ({ Payload: (await handler({ ...input.Payload, context: { ...input.Payload.context, State: { RetryCount: 0 } } })) as any }) } } },
    );
    const logged: string[] = [];
    for await (const event of child.eventLogs) logged.push(event.type);
    await child.result;
    expect(logged).toEqual(["ExecutionStarted", "StateEntered", "StateExited", "ExecutionSucceeded"]);
    // Step Functions adds TaskScheduled, TaskStarted and TaskSucceeded per Lambda attempt (aws-local-stepfunctions logs none).
    expect(logged.length + 3).toBe(HISTORY_EVENTS_PER_INLINE_CHILD);
    // The figures docs/limits.md and docs/mapping.md state.
    expect(inlineMaxItems(0)).toBe(1_000);
    expect(inlineMaxItems(2)).toBe(538);
    expect(inlineMaxItems(3)).toBe(437);
  });
});
