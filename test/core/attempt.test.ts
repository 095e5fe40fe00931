import { describe, expect, it } from "vitest";
import { Flow, Pending, Retrying, signals, task, virtualClock, type State, type StateHandler, type TransitionEvent } from "../../lib/index";
import { runTaskAttempt } from "../../lib/core/runner";

describe("the attempt (lib/core/attempt.ts)", () => {
  it("a chain of tasks whose state handlers and bodies are synchronous runs without yielding to a queued microtask", async () => {
    let microtaskRan = false;
    const seen: boolean[] = [];
    const note: StateHandler = () => undefined;
    const first = task({ name: "first", stateHandlers: [note] }, () => {
      queueMicrotask(() => (microtaskRan = true));
      return 1;
    });
    const next = task({ name: "next", stateHandlers: [note] }, (x: number) => {
      seen.push(microtaskRan);
      return x + 1;
    });
    const flow = new Flow({ name: "sync-chain" }, () => {
      let r = first();
      for (let i = 0; i < 5; i++) r = next.copy({ name: `next${i}` })(r);
    });
    const state = await flow.run({ clock: virtualClock() });
    expect(state.isSuccessful()).toBe(true);
    // Every downstream task ran before the microtask queued by the first task's body.
    expect(seen).toEqual([false, false, false, false, false]);
  });

  it("the task Lambda's attempts (runTaskAttempt) and flow.run() take a task through the same transitions", async () => {
    const line = (e: TransitionEvent) => `${e.attempt}: ${e.oldState.name} -> ${e.newState.name}`;
    const retryOnce: StateHandler = (_t, _old, next: State) => {
      if (next.isFailed() && !(next instanceof Retrying) && next.message?.includes("boom")) throw new signals.RETRY("handler asks again");
      return undefined;
    };
    const make = () => {
      let calls = 0;
      return task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 1, stateHandlers: [retryOnce] }, () => {
        if (++calls < 3) throw new Error("boom");
        return calls;
      });
    };
    const local: string[] = [];
    const flaky = make();
    await new Flow({ name: "same", tasks: [flaky] }).run({ clock: virtualClock(), onTransition: (e) => e.kind === "task" && local.push(line(e)) });

    const lambda: string[] = [];
    const again = make();
    const node = new Flow({ name: "same", tasks: [again] }).graph().nodes[0]!;
    const clock = virtualClock();
    let state: State = new Pending();
    for (let attempt = 1; attempt <= 3; attempt++) {
      state = await runTaskAttempt({ node, attempt, initialState: state, upstreamStates: new Map(), parameters: {}, clock, onTransition: (e) => lambda.push(line(e)) });
      if (!(state instanceof Retrying)) break;
    }
    expect(state.isSuccessful()).toBe(true);
    expect(lambda).toEqual(local);
    expect(local).toEqual([
      "1: Pending -> Running",
      "1: Running -> Retrying",
      "2: Retrying -> Running",
      "2: Running -> Retrying",
      "3: Retrying -> Running",
      "3: Running -> Success",
    ]);
  });
});
