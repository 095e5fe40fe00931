import { describe, expect, it } from "vitest";
import { Failed, Flow, Running, getRunContext, runStateHandlers, task, virtualClock, type StateHandler } from "../../lib/index";

describe("run context and handler chain in the local runner", () => {
  it("a handler reads its own task's attempt from getRunContext(), also after an await, while other tasks retry", async () => {
    const seen: string[] = [];
    const note: StateHandler = async (obj, _old, next) => {
      const before = getRunContext()?.attempt;
      await new Promise((r) => setImmediate(r));
      seen.push(`${obj.name} ${next.name} ${before}/${getRunContext()?.attempt} ${getRunContext()?.flowName}`);
    };
    let flakyCalls = 0;
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 1, stateHandlers: [note] }, async () => {
      await new Promise((r) => setImmediate(r));
      if (++flakyCalls < 3) throw new Error("again");
      return 1;
    });
    const steady = task({ name: "steady", stateHandlers: [note] }, async () => {
      await new Promise((r) => setImmediate(r));
      return 2;
    });
    const state = await new Flow({ name: "ctx", tasks: [flaky, steady] }).run({ clock: virtualClock() });
    expect(state.isSuccessful()).toBe(true);
    expect(seen.filter((s) => s.startsWith("steady"))).toEqual(["steady Running 1/1 ctx", "steady Success 1/1 ctx"]);
    expect(seen.filter((s) => s.startsWith("flaky") && s.includes("Running"))).toEqual([
      "flaky Running 1/1 ctx",
      "flaky Running 2/2 ctx",
      "flaky Running 3/3 ctx",
    ]);
    expect(getRunContext()).toBeUndefined();
  });

  it("synchronous handlers run in order and a thenable returned by one is awaited before the next runs", async () => {
    const calls: string[] = [];
    const first: StateHandler = () => void calls.push("first");
    const second: StateHandler = () =>
      ({ then: (resolve: (v: unknown) => void) => setImmediate(() => (calls.push("second settled"), resolve(undefined))) }) as unknown as Promise<undefined>;
    const third: StateHandler = () => void calls.push("third");
    const outcome = await runStateHandlers({}, [first, second, third], new Running(), new Failed("x"));
    expect(calls).toEqual(["first", "second settled", "third"]);
    expect(outcome.state.isFailed()).toBe(true);
  });

  it("a synchronous handler that throws ends the chain at once with a final Failed state", () => {
    const outcome = runStateHandlers({}, [() => { throw new Error("nope"); }], new Running(), new Failed("x"));
    expect(outcome).toMatchObject({ final: true });
    expect(String((outcome as { state: unknown }).state)).toBe('Failed("Unexpected error while calling state handlers: Error: nope")');
  });

  it("a 2,000-task chain of synchronous tasks and handlers runs without growing the stack", async () => {
    const h: StateHandler = () => undefined;
    const inc = task({ name: "inc", stateHandlers: [h] }, (x: number) => x + 1);
    const flow = new Flow({ name: "long" }, () => {
      let r = inc(0);
      for (let i = 1; i < 2000; i++) r = inc(r);
    });
    const state = await flow.run();
    expect(state.isSuccessful()).toBe(true);
    expect([...state.result.values()].at(-1)?.result).toBe(2000);
  });

  it("every task of a 3,000-task fan-out starts before any finishes when their bodies wait, and each reads its own context", async () => {
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen = new Set<string>();
    const root = task({ name: "root" }, () => 0);
    const wait = task({ name: "wait" }, async (x: number) => {
      if (++started === 3000) release();
      await gate;
      seen.add(`${getRunContext()?.flowName} ${getRunContext()?.attempt}`);
      return x + 1;
    });
    const flow = new Flow({ name: "wide" }, () => {
      const r = root();
      for (let i = 0; i < 3000; i++) wait(r);
    });
    const state = await flow.run({ clock: virtualClock() });
    expect(state.isSuccessful()).toBe(true);
    expect(started).toBe(3000);
    expect([...seen]).toEqual(["wide 1"]);
  });

  it("maxConcurrency caps the tasks running at once and runs every task, in topological order", async () => {
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const root = task({ name: "root" }, () => 0);
    const work = task({ name: "work" }, async (x: number, i: number) => {
      most = Math.max(most, ++running);
      order.push(i);
      await new Promise((r) => setImmediate(r));
      running--;
      return x + i;
    });
    const flow = new Flow({ name: "capped" }, () => {
      const r = root();
      for (let i = 0; i < 50; i++) work(r, i);
    });
    const capped = await flow.run({ clock: virtualClock(), maxConcurrency: 4 });
    expect(capped.isSuccessful()).toBe(true);
    expect(most).toBe(4);
    expect(order).toEqual([...Array(50).keys()]);
    most = 0;
    order.length = 0;
    await flow.run({ clock: virtualClock() });
    expect(most).toBe(50);
    await expect(flow.run({ maxConcurrency: 0 })).rejects.toThrow(/maxConcurrency is 0; it must be a whole number from 1/);
  });
});
