/**
 * Control flow in lib/core (API.md "Control flow"): caseOf / merge / ifElse, signals.LOOP,
 * triggers.manualOnly with flow.run({ approve }), and flowRun — transitions and handler calls.
 */
import { describe, expect, it } from "vitest";
import {
  Cancelled,
  Failed,
  Flow,
  FlowDefinitionError,
  Looped,
  Paused,
  Resume,
  Skipped,
  State,
  Success,
  TimedOut,
  caseOf,
  flowRun,
  getRunContext,
  ifElse,
  merge,
  parameter,
  runTaskAttempt,
  signals,
  task,
  triggers,
  virtualClock,
} from "../../lib/index";
import { recorder } from "../helpers/trace";
import { withRunContext } from "../../lib/core/context";

const byName = (state: State & { result: Map<any, State> }) => new Map([...state.result].map(([t, s]) => [t.name, s]));

describe("caseOf", () => {
  it("runs the block's tasks when the condition's result equals the value, and skips them (Pending -> Skipped) otherwise", async () => {
    const rec = recorder((t) => (t as { name: string }).name);
    const check = task(function check(n: number) {
      return n > 2;
    });
    const big = task({ stateHandlers: [rec.handler] }, function big() {
      return "big";
    });
    const small = task({ stateHandlers: [rec.handler] }, function small() {
      return "small";
    });
    const after = task({ stateHandlers: [rec.handler] }, function after(x: string) {
      return x;
    });
    const flow = new Flow({ name: "cases" }, () => {
      const c = check(parameter("n", 5));
      caseOf(c, true, () => after(big()));
      caseOf(c, false, () => small());
    });
    const states = byName(await flow.run({ parameters: { n: 1 } }));
    expect(states.get("big")).toBeInstanceOf(Skipped);
    expect(states.get("after")).toBeInstanceOf(Skipped);
    expect(states.get("small")).toBeInstanceOf(Success);
    expect(rec.calls).toEqual([
      'big: Pending() -> Skipped("Case `check` did not return true; the task is in a branch not taken.")',
      'small: Pending() -> Running("Starting task run.")',
      'small: Running("Starting task run.") -> Success("Task run succeeded.")',
      'after: Pending() -> Skipped("Upstream task was skipped; if this was not the intended behavior, consider changing `skipOnUpstreamSkip: false` for this task.")',
    ]);
  });

  it("compares JSON values deeply", async () => {
    const cond = task(function cond() {
      return { kind: "a", n: [1, 2] };
    });
    const hit = task(function hit() {
      return 1;
    });
    const flow = new Flow({ name: "deep" }, () => {
      caseOf(cond(), { kind: "a", n: [1, 2] }, () => hit());
    });
    expect(byName(await flow.run()).get("hit")).toBeInstanceOf(Success);
  });

  it("a failed condition fails the block's tasks through their trigger instead of skipping them", async () => {
    const cond = task(function cond(): boolean {
      throw new Error("no");
    });
    const hit = task(function hit() {
      return 1;
    });
    const flow = new Flow({ name: "failcond" }, () => {
      caseOf(cond(), true, () => hit());
    });
    expect(byName(await flow.run()).get("hit")?.name).toBe("TriggerFailed");
  });

  it("is refused outside a builder and on a value that is not a task's result, naming the fix", () => {
    const t = task(function t() {
      return true;
    });
    expect(() => caseOf(undefined as never, true, () => undefined)).toThrow(/outside a flow builder; call it inside new Flow/);
    expect(() => new Flow({ name: "bad" }, () => caseOf(true as never, true, () => undefined))).toThrow(
      /caseOf\(\.\.\.\) was given a value that is not a task's result; pass the result of calling a task/,
    );
    expect(() => new Flow({ name: "bad2" }, () => caseOf(t as never, true, () => undefined))).toThrow(FlowDefinitionError);
  });
});

describe("merge and ifElse", () => {
  const isBig = task(function isBig(n: number) {
    return n > 2;
  });
  const big = task(function big() {
    return "big";
  });
  const small = task(function small() {
    return "small";
  });

  it("ifElse takes the branch the condition chose, and the merge passes its result downstream", async () => {
    const rec = recorder((t) => (t as { name: string }).name);
    const out = task({ stateHandlers: [rec.handler] }, function out(x: string) {
      return `got ${x}`;
    });
    const flow = new Flow({ name: "ifelse" }, () => {
      out(ifElse(isBig(parameter("n")), () => big(), () => small()));
    });
    const low = byName(await flow.run({ parameters: { n: 1 } }));
    expect(low.get("big")).toBeInstanceOf(Skipped);
    expect(low.get("merge")?.result).toBe("small");
    expect(low.get("out")?.result).toBe("got small");
    const high = byName(await flow.run({ parameters: { n: 9 } }));
    expect(high.get("small")).toBeInstanceOf(Skipped);
    expect(high.get("out")?.result).toBe("got big");
  });

  it("a merge whose upstream tasks were all Skipped is Skipped, and so is what follows it", async () => {
    const rec = recorder((t) => (t as { name: string }).name);
    const never = task(function never() {
      return "never";
    });
    const flow = new Flow({ name: "allskip", stateHandlers: [] }, () => {
      const c = isBig(1);
      const a = caseOf(c, true, () => big());
      const b = caseOf(c, "other", () => never());
      task({ stateHandlers: [rec.handler] }, function out(x: unknown) {
        return x;
      })(merge(a, b));
    });
    const states = byName(await flow.run());
    expect(String(states.get("merge"))).toBe('Skipped("All upstream tasks of the merge were skipped.")');
    expect(states.get("out")).toBeInstanceOf(Skipped);
  });

  it("merge takes the first not-Skipped result in argument order", async () => {
    const one = task(function one() {
      return 1;
    });
    const two = task(function two() {
      return 2;
    });
    const flow = new Flow({ name: "order" }, () => {
      merge(undefined, two(), one());
    });
    expect(byName(await flow.run()).get("merge")?.result).toBe(2);
  });

  it("merge of two results from the same caseOf branch is refused, naming the fix", () => {
    expect(
      () =>
        new Flow({ name: "same" }, () => {
          const c = isBig(3);
          caseOf(c, true, () => merge(big(), small()));
        }),
    ).toThrow(/from the same caseOf branch; pass one result per branch/);
  });
});

describe("signals.LOOP", () => {
  it("each iteration is Running -> Looped -> Running, the loop's count and result reach the next run", async () => {
    const rec = recorder();
    const seen: unknown[] = [];
    const pages = task({ stateHandlers: [rec.handler] }, function pages() {
      const loop = getRunContext()!.loop!;
      seen.push({ ...loop });
      if (loop.count < 3) throw new signals.LOOP(`page ${loop.count}`, { result: (loop.result as number | undefined ?? 0) + 10 });
      return loop.result;
    });
    const state = await new Flow({ name: "loop", tasks: [pages] }).run();
    expect(seen).toEqual([
      { count: 1, result: undefined },
      { count: 2, result: 10 },
      { count: 3, result: 20 },
    ]);
    expect(rec.calls).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Looped("page 1")',
      'Looped("page 1") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Looped("page 2")',
      'Looped("page 2") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    expect((rec.states[1] as Looped).loopCount).toBe(1);
    expect((rec.states[3] as Looped).loopCount).toBe(2);
    expect(state.result.get(pages)?.result).toBe(20);
  });

  it("retries count per iteration: each iteration gets the full retry budget", async () => {
    const clock = virtualClock();
    const attempts: string[] = [];
    const flaky = task({ maxRetries: 1, retryDelaySeconds: 5 }, function flaky() {
      const ctx = getRunContext()!;
      attempts.push(`${ctx.loop!.count}.${ctx.attempt}`);
      if (ctx.attempt === 1) throw new Error("flaky");
      if (ctx.loop!.count < 2) throw new signals.LOOP();
      return "done";
    });
    const state = await new Flow({ name: "loopretry", tasks: [flaky] }).run({ clock });
    expect(attempts).toEqual(["1.1", "1.2", "2.1", "2.2"]);
    expect(state.result.get(flaky)).toBeInstanceOf(Success);
    expect(clock.sleeps).toEqual([5000, 5000]);
  });

  it("a LOOP without a message gets Prefect's one; the task Lambda's attempt ends at Looped and the next invocation runs the next iteration from it", async () => {
    const t = task(function t() {
      const loop = getRunContext()!.loop!;
      if (loop.count < 2) throw new signals.LOOP(undefined, { result: "carried" });
      return `${loop.count}: ${String(loop.result)}`;
    });
    const flow = new Flow({ name: "lambdaloop", tasks: [t] });
    const events: string[] = [];
    // The task Lambda's invocation context (lambdas/task/attempt.ts runs each attempt in one).
    const lambda = { flowName: "lambdaloop", executionId: "arn:aws:states:us-east-1:123456789012:execution:lambdaloop:run", runtime: "lambda" as const };
    const attempt = (initialState: State, loop?: { count: number; result: unknown }) =>
      withRunContext(lambda, () => runTaskAttempt({
        node: flow.graph().nodes[0]!,
        attempt: 1,
        initialState,
        upstreamStates: new Map(),
        parameters: {},
        clock: virtualClock(),
        onTransition: (e) => events.push(`${e.oldState} -> ${e.newState}`),
        ...(loop ? { loop } : {}),
      }));
    const first = await attempt(new (await import("../../lib/index")).Pending());
    expect(first).toBeInstanceOf(Looped);
    expect((first as Looped).loopCount).toBe(1);
    const second = await attempt(first, { count: 2, result: first.result });
    expect(second.result).toBe("2: carried");
    expect(events).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Looped("Task is looping (1).")',
      'Looped("Task is looping (1).") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
  });

  it("Looped round-trips through JSON with its loop count and result", () => {
    const back = State.fromJSON(JSON.parse(JSON.stringify(new Looped("again", { result: { page: 2 }, loopCount: 4 }))));
    expect(back).toBeInstanceOf(Looped);
    expect(back.isFinished()).toBe(true);
    expect((back as Looped).loopCount).toBe(4);
    expect(back.result).toEqual({ page: 2 });
    expect(String(back)).toBe('Looped("again")');
  });
});

describe("triggers.manualOnly", () => {
  const gated = (handlers: any[], options: { approvalTimeoutSeconds?: number } = {}) =>
    task({ trigger: triggers.manualOnly, stateHandlers: handlers, ...options }, function deploy() {
      return "deployed";
    });

  it("approved: Pending -> Paused -> Resume -> Running -> Success, and approve sees the task and the run context", async () => {
    const rec = recorder();
    const t = gated([rec.handler]);
    const asked: string[] = [];
    const state = await new Flow({ name: "gate", tasks: [t] }).run({
      approve: async (task, context) => {
        asked.push(`${task.name}@${context?.flowName}`);
        return true;
      },
    });
    expect(asked).toEqual(["deploy@gate"]);
    expect(rec.calls).toEqual([
      'Pending() -> Paused("Waiting for approval.")',
      'Paused("Waiting for approval.") -> Resume("Approval given to resume.")',
      'Resume("Approval given to resume.") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    expect(rec.states[0]).toBeInstanceOf(Paused);
    expect(rec.states[1]).toBeInstanceOf(Resume);
    expect(state.result.get(t)?.result).toBe("deployed");
  });

  it("false rejects without a reason", async () => {
    const t = gated([]);
    const state = await new Flow({ name: "gate", tasks: [t] }).run({ approve: () => false });
    expect(String(state.result.get(t))).toBe('Cancelled("Rejected: not approved")');
  });

  it("rejected with a reason: Paused -> Cancelled(\"Rejected: <reason>\") and the body never runs", async () => {
    const rec = recorder();
    const t = gated([rec.handler]);
    const state = await new Flow({ name: "gate", tasks: [t] }).run({ approve: () => "not on a Friday" });
    expect(rec.calls).toEqual(['Pending() -> Paused("Waiting for approval.")', 'Paused("Waiting for approval.") -> Cancelled("Rejected: not on a Friday")']);
    expect(state.result.get(t)).toBeInstanceOf(Cancelled);
  });

  it("no answer within approvalTimeoutSeconds: Paused -> TimedOut", async () => {
    const rec = recorder();
    const t = gated([rec.handler], { approvalTimeoutSeconds: 60 });
    const clock = virtualClock();
    const state = await new Flow({ name: "gate", tasks: [t] }).run({ clock, approve: () => new Promise<true>(() => undefined) });
    expect(rec.calls[1]).toBe('Paused("Waiting for approval.") -> TimedOut("No approval within 60 seconds.")');
    expect(state.result.get(t)).toBeInstanceOf(TimedOut);
    expect(state).toBeInstanceOf(Failed);
    expect(clock.sleeps).toEqual([60000]);
  });

  it("a run that reaches a manualOnly task without approve rejects with an error naming the option", async () => {
    const t = gated([]);
    await expect(new Flow({ name: "gate", tasks: [t] }).run()).rejects.toThrow(/waits for approval .*flow\.run\(\{ approve:/);
  });

  it("approvalTimeoutSeconds without manualOnly is refused, naming the fix", () => {
    expect(() => task({ approvalTimeoutSeconds: 5 }, function x() {})).toThrow(/add `trigger: triggers.manualOnly`/);
  });
});

describe("flowRun", () => {
  const double = task(function double(n: number) {
    return n * 2;
  });
  const child = new Flow({ name: "child" }, () => {
    double(parameter("n"));
  });

  it("runs the other flow with its parameters and ends in that flow's final state, the flow's result as its result", async () => {
    const rec = recorder();
    const sub = flowRun(child, { parameters: { n: 21 }, stateHandlers: [rec.handler] });
    const names: (string | undefined)[] = [];
    const use = task(function use(result: Map<unknown, State>) {
      names.push(getRunContext()?.flowName);
      return [...result.values()][0]!.result;
    });
    const parent = new Flow({ name: "parent" }, () => {
      use(sub());
    });
    const states = byName(await parent.run());
    expect(String(states.get("run-child"))).toBe('Success("All reference tasks succeeded.")');
    expect(states.get("use")?.result).toBe(42);
    expect(rec.calls[1]).toBe('Running("Starting task run.") -> Success("All reference tasks succeeded.")');
    expect(names).toEqual(["parent"]);
  });

  it("a failing sub-flow fails the task (and is retried like any failure)", async () => {
    const bad = new Flow({ name: "bad", tasks: [task(function fails() { throw new Error("x"); })] });
    const sub = flowRun(bad, { maxRetries: 1, retryDelaySeconds: 1 });
    const states = byName(await new Flow({ name: "p", tasks: [sub] }).run({ clock: virtualClock() }));
    expect(String(states.get("run-bad"))).toBe('Failed("Some reference tasks failed.")');
  });

  it("flowRun of a flow by its own name (a cycle) and of a flow not built yet are refused", () => {
    const other = new Flow({ name: "loop-a", tasks: [double] });
    expect(() => new Flow({ name: "loop-a", tasks: [flowRun(other)] })).toThrow(/runs itself through flowRun .*a cycle/);
    expect(() => flowRun(undefined as never)).toThrow(/a flow cannot run itself/);
  });

  it("parameters the other flow does not have are refused when the parent is built", () => {
    expect(() => new Flow({ name: "p2", tasks: [flowRun(child, { parameters: { m: 1 } })] })).toThrow(/has no parameter `m`/);
  });
});

describe("caseOf and mapping", () => {
  it("a mapped task in a branch not taken is Skipped as a whole (Pending -> Skipped), not mapped", async () => {
    const rec = recorder();
    const no = task(function no() {
      return false;
    });
    const each = task({ stateHandlers: [rec.handler] }, function each(n: number) {
      return n;
    });
    const flow = new Flow({ name: "mapcase" }, () => {
      caseOf(no(), true, () => each.map([1, 2, 3]));
    });
    const states = byName(await flow.run());
    expect(states.get("each")).toBeInstanceOf(Skipped);
    expect(rec.calls).toEqual(['Pending() -> Skipped("Case `no` did not return true; the task is in a branch not taken.")']);
  });
});

describe("control flow, further", () => {
  it("a sub-flow's own handlers see its two flow transitions, and its tasks run in its own context", async () => {
    const flowRec = recorder();
    const contexts: unknown[] = [];
    const inner = task(function inner() {
      const ctx = getRunContext()!;
      contexts.push({ flowName: ctx.flowName, parentFlows: ctx.parentFlows, under: ctx.executionId.includes("/sub") });
      return 1;
    });
    const sub = new Flow({ name: "sub", tasks: [inner], stateHandlers: [flowRec.handler] });
    await new Flow({ name: "top", tasks: [flowRun(sub)] }).run();
    expect(flowRec.calls).toEqual([
      'Scheduled() -> Running("Running flow.")',
      'Running("Running flow.") -> Success("All reference tasks succeeded.")',
    ]);
    expect(contexts).toEqual([{ flowName: "sub", parentFlows: ["top"], under: true }]);
  });

  it("approval is asked once per task run, not again for a retry", async () => {
    let asked = 0;
    let runs = 0;
    const t = task({ trigger: triggers.manualOnly, maxRetries: 1, retryDelaySeconds: 1 }, function flaky() {
      if (++runs === 1) throw new Error("first");
      return runs;
    });
    const state = await new Flow({ name: "gate-retry", tasks: [t] }).run({
      clock: virtualClock(),
      approve: () => {
        asked++;
        return true;
      },
    });
    expect(asked).toBe(1);
    expect(state.result.get(t)?.result).toBe(2);
  });

  it("a mapped child loops on its own: each child's iterations are its own", async () => {
    const counts: string[] = [];
    const each = task(function each(n: number) {
      const ctx = getRunContext()!;
      counts.push(`${ctx.mapIndex}:${ctx.loop!.count}`);
      if (ctx.loop!.count < n) throw new signals.LOOP();
      return ctx.loop!.count;
    });
    const flow = new Flow({ name: "maploop" }, () => {
      each.map([1, 2]);
    });
    const state = await flow.run();
    expect(counts.sort()).toEqual(["0:1", "1:1", "1:2"]);
    expect((state.result.get(each)!.result as State[]).map((s) => s.result)).toEqual([1, 2]);
  });

  it("Paused and Resume are Scheduled (so Pending) states and round-trip through JSON", () => {
    for (const s of [new Paused("Waiting for approval."), new Resume("Approval given to resume.")]) {
      const back = State.fromJSON(JSON.parse(JSON.stringify(s)));
      expect(back.constructor).toBe(s.constructor);
      expect(back.isPending() && back.isScheduled() && !back.isFinished()).toBe(true);
      expect(String(back)).toBe(String(s));
    }
    expect(new Paused().isPaused()).toBe(true);
  });
});
