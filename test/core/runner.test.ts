import { describe, expect, it } from "vitest";
import {
  Failed,
  Flow,
  Retrying,
  Skipped,
  State,
  Success,
  TimedOut,
  TriggerFailed,
  callbackFactory,
  signals,
  task,
  triggers,
  virtualClock,
  type StateHandler,
} from "../../lib/index";
import { recorder } from "../helpers/trace";

function boom(): never {
  throw new Error("boom");
}

describe("task transitions", () => {
  it("a successful task goes Pending -> Running -> Success with the return value", async () => {
    const rec = recorder();
    const t = task({ stateHandlers: [rec.handler] }, function load() {
      return 42;
    });
    const flowState = await new Flow({ name: "f", tasks: [t] }).run();
    expect(rec.calls).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    expect(flowState.result.get(t)?.result).toBe(42);
  });

  it("a failing task ends Failed with the error as result", async () => {
    const rec = recorder();
    const t = task({ stateHandlers: [rec.handler] }, boom);
    const final = (await new Flow({ name: "f", tasks: [t] }).run()).result.get(t)!;
    expect(rec.calls).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Failed("Error during execution of task: Error: boom")',
    ]);
    expect(final).toBeInstanceOf(Failed);
    expect((final.result as Error).message).toBe("boom");
  });

  it("retry then success: Failed -> Retrying with runCount and startTime, then Running -> Success", async () => {
    const clock = virtualClock(new Date("2026-01-01T00:00:00Z"));
    const rec = recorder();
    let calls = 0;
    const t = task({ maxRetries: 2, retryDelaySeconds: 10, stateHandlers: [rec.handler] }, function flaky() {
      if (++calls === 1) throw new Error("first");
      return "ok";
    });
    const state = await new Flow({ name: "f", tasks: [t] }).run({ clock });
    expect(rec.calls).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> Failed("Error during execution of task: Error: first")',
      'Failed("Error during execution of task: Error: first") -> Retrying("Retrying Task (after attempt 1 of 3)")',
      'Retrying("Retrying Task (after attempt 1 of 3)") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Success("Task run succeeded.")',
    ]);
    const retrying = rec.states[2] as Retrying;
    expect(retrying.runCount).toBe(1);
    expect(retrying.startTime.toISOString()).toBe("2026-01-01T00:00:10.000Z");
    expect(clock.sleeps).toEqual([10_000]);
    expect(state.result.get(t)).toBeInstanceOf(Success);
  });

  it("retries exhausted: backoff delays grow, capped by maxDelaySeconds, and the last failure is final", async () => {
    const clock = virtualClock();
    const rec = recorder();
    const t = task({ maxRetries: 3, retryDelaySeconds: 2, backoffRate: 3, maxDelaySeconds: 10, stateHandlers: [rec.handler] }, boom);
    const state = await new Flow({ name: "f", tasks: [t] }).run({ clock });
    expect(rec.states.map((s) => s.name)).toEqual([
      "Running", "Failed", "Retrying",
      "Running", "Failed", "Retrying",
      "Running", "Failed", "Retrying",
      "Running", "Failed",
    ]);
    expect(rec.states.filter((s): s is Retrying => s instanceof Retrying).map((s) => s.runCount)).toEqual([1, 2, 3]);
    expect(clock.sleeps).toEqual([2000, 6000, 10_000]);
    expect(String(rec.states[8])).toBe('Retrying("Retrying Task (after attempt 3 of 4)")');
    expect(state).toBeInstanceOf(Failed);
  });

  it("FULL jitter draws the delay from the injected random source", async () => {
    const clock = virtualClock();
    const t = task({ maxRetries: 1, retryDelaySeconds: 10, jitter: "FULL" }, boom);
    await new Flow({ name: "f", tasks: [t] }).run({ clock, random: () => 0.25 });
    expect(clock.sleeps).toEqual([2500]);
  });

  it("a failed upstream makes an all_successful task TriggerFailed without running or retrying it", async () => {
    const rec = recorder();
    let ran = false;
    const a = task(boom);
    const b = task({ maxRetries: 2, stateHandlers: [rec.handler] }, function b(_x: unknown) {
      ran = true;
    });
    const flow = new Flow({ name: "f" }, () => {
      b(a());
    });
    const state = await flow.run({ clock: virtualClock() });
    expect(rec.calls).toEqual([
      'Pending() -> TriggerFailed("Trigger was "all_successful" but some of the upstream tasks failed.")',
    ]);
    expect(ran).toBe(false);
    expect(state.result.get(b)).toBeInstanceOf(TriggerFailed);
    expect(String(state)).toBe('Failed("Some reference tasks failed.")');
  });

  it("each trigger has Prefect's own message", async () => {
    const ok = task(function ok() {});
    const cases = [
      [triggers.allFailed, 'Trigger was "all_failed" but some of the upstream tasks succeeded.'],
      [triggers.anyFailed, 'Trigger was "any_failed" but none of the upstream tasks failed.'],
    ] as const;
    for (const [trigger, message] of cases) {
      const t = task({ trigger }, function t() {});
      const state = await new Flow({ name: "f" }, () => {
        t().after(ok());
      }).run();
      expect(state.result.get(t)?.message).toBe(message);
    }
  });

  it("an anyFailed clean-up task runs after a failure, and alwaysRun runs whatever happened", async () => {
    const failing = task(boom);
    const cleanup = task({ trigger: triggers.anyFailed }, function cleanup() {
      return "cleaned";
    });
    const always = task({ trigger: triggers.alwaysRun }, function always() {
      return "done";
    });
    const state = await new Flow({ name: "f", referenceTasks: [] }, () => {
      const f = failing();
      cleanup().after(f);
      always().after(f);
    }).run();
    expect(state.result.get(cleanup)?.result).toBe("cleaned");
    expect(state.result.get(always)?.result).toBe("done");
  });

  it("SKIP ends the task Skipped and its downstream tasks are Skipped without running", async () => {
    const rec = recorder((o) => String(o));
    let downstreamRan = false;
    const a = task({ stateHandlers: [rec.handler] }, function a() {
      throw new signals.SKIP("nothing to do");
    });
    const b = task({ stateHandlers: [rec.handler] }, function b(_: unknown) {
      downstreamRan = true;
    });
    const state = await new Flow({ name: "f" }, () => {
      b(a());
    }).run();
    expect(rec.calls).toEqual([
      '<Task: a>: Pending() -> Running("Starting task run.")',
      '<Task: a>: Running("Starting task run.") -> Skipped("nothing to do")',
      "<Task: b>: Pending() -> Skipped(\"Upstream task was skipped; if this was not the intended behavior, consider changing `skipOnUpstreamSkip: false` for this task.\")",
    ]);
    expect(downstreamRan).toBe(false);
    expect(state.result.get(a)).toBeInstanceOf(Skipped);
    expect(String(state)).toBe('Success("All reference tasks succeeded.")');
  });

  it("a task that exceeds timeoutSeconds ends TimedOut and retries like a failure", async () => {
    const rec = recorder();
    const t = task({ timeoutSeconds: 5, maxRetries: 1, stateHandlers: [rec.handler] }, function hang() {
      return new Promise(() => undefined);
    });
    const state = await new Flow({ name: "f", tasks: [t] }).run({ clock: virtualClock() });
    expect(rec.calls).toEqual([
      'Pending() -> Running("Starting task run.")',
      'Running("Starting task run.") -> TimedOut("Task timed out during execution.")',
      'TimedOut("Task timed out during execution.") -> Retrying("Retrying Task (after attempt 1 of 2)")',
      'Retrying("Retrying Task (after attempt 1 of 2)") -> Running("Starting task run.")',
      'Running("Starting task run.") -> TimedOut("Task timed out during execution.")',
    ]);
    expect(state.result.get(t)).toBeInstanceOf(TimedOut);
  });

  it("RETRY retries while retries remain, then ends Failed", async () => {
    const rec = recorder();
    const t = task({ maxRetries: 1, stateHandlers: [rec.handler] }, function again() {
      throw new signals.RETRY("not yet");
    });
    await new Flow({ name: "f", tasks: [t] }).run({ clock: virtualClock() });
    expect(rec.calls.slice(1)).toEqual([
      'Running("Starting task run.") -> Retrying("not yet")',
      'Retrying("not yet") -> Running("Starting task run.")',
      'Running("Starting task run.") -> Failed("not yet")',
    ]);
  });

  it("SUCCESS and FAIL signals end the task in their states", async () => {
    const s = task(function s() {
      throw new signals.SUCCESS("done early");
    });
    const f = task(function f() {
      throw new signals.FAIL("nope");
    });
    const state = await new Flow({ name: "x", tasks: [s, f] }).run();
    expect(String(state.result.get(s))).toBe('Success("done early")');
    expect(String(state.result.get(f))).toBe('Failed("nope")');
  });
});

describe("the state-handler chain", () => {
  it("calls handlers in order, each with the original old state and the previous handler's state", async () => {
    const seen: string[] = [];
    const first: StateHandler = (_o, old, next) => {
      seen.push(`first ${old} ${next}`);
      return next.isSuccessful() ? new Success("rewritten", { result: next.result }) : undefined;
    };
    const second: StateHandler = (_o, old, next) => {
      seen.push(`second ${old} ${next}`);
    };
    const t = task({ stateHandlers: [first, second] }, () => 1);
    const state = await new Flow({ name: "f", tasks: [t] }).run();
    expect(seen).toEqual([
      'first Pending() Running("Starting task run.")',
      'second Pending() Running("Starting task run.")',
      'first Running("Starting task run.") Success("Task run succeeded.")',
      'second Running("Starting task run.") Success("rewritten")',
    ]);
    expect(String(state.result.get(t))).toBe('Success("rewritten")');
  });

  it("a handler that rewrites Success into Failed makes the task fail (and retry)", async () => {
    const toFailed: StateHandler = (_o, _old, next) => (next.isSuccessful() ? new Failed("rejected by handler") : undefined);
    const t = task({ maxRetries: 1, stateHandlers: [toFailed] }, () => 1);
    const rec = recorder();
    const state = await new Flow({ name: "f", tasks: [t] }).run({ clock: virtualClock(), onTransition: (e) => rec.calls.push(String(e.newState)) });
    expect(rec.calls.filter((c) => c.startsWith("Retrying"))).toHaveLength(1);
    expect(String(state.result.get(t))).toBe('Failed("rejected by handler")');
  });

  it("a throwing handler fails the task with the exact message, skips the body and later handlers", async () => {
    let bodyRan = false;
    const later: string[] = [];
    const thrower: StateHandler = function thrower() {
      throw new Error("handler broke");
    };
    const t = task({ maxRetries: 3, stateHandlers: [thrower, () => void later.push("x")] }, function body() {
      bodyRan = true;
    });
    const events: string[] = [];
    const state = await new Flow({ name: "f", tasks: [t] }).run({ onTransition: (e) => events.push(String(e.newState)) });
    const final = state.result.get(t)!;
    expect(String(final)).toBe('Failed("Unexpected error while calling state handlers: Error: handler broke")');
    expect((final.result as Error).message).toBe("handler broke");
    expect(bodyRan).toBe(false);
    expect(later).toEqual([]);
    expect(events).toEqual(['Running("Running flow.")', String(final), 'Failed("Some reference tasks failed.")']);
  });

  it("a handler returning something other than a State or undefined fails the task with a TypeError naming it", async () => {
    const badHandler = (() => true) as unknown as StateHandler;
    Object.defineProperty(badHandler, "name", { value: "badHandler" });
    const t = task({ stateHandlers: [badHandler] }, () => 1);
    const final = (await new Flow({ name: "f", tasks: [t] }).run()).result.get(t)!;
    expect(final.message).toBe(
      "Unexpected error while calling state handlers: TypeError: State handler `badHandler` returned boolean true; a state handler must return a State or undefined.",
    );
    expect(final.result).toBeInstanceOf(TypeError);
  });

  it("a handler that throws a signal ends the chain and its state becomes the new state", async () => {
    let bodyRan = false;
    const t = task(
      {
        stateHandlers: [
          (_o, _old, next) => {
            if (next.isRunning()) throw new signals.SKIP("skipped by handler");
          },
        ],
      },
      () => {
        bodyRan = true;
      },
    );
    const final = (await new Flow({ name: "f", tasks: [t] }).run()).result.get(t)!;
    expect(String(final)).toBe('Skipped("skipped by handler")');
    expect(bodyRan).toBe(false);
  });

  it("async handlers are awaited one after another, in order", async () => {
    const log: string[] = [];
    const slow: StateHandler = async (_o, _old, next) => {
      log.push(`slow start ${next.name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`slow end ${next.name}`);
    };
    const fast: StateHandler = (_o, _old, next) => void log.push(`fast ${next.name}`);
    const t = task({ stateHandlers: [slow, fast] }, () => 1);
    await new Flow({ name: "f", tasks: [t] }).run();
    expect(log).toEqual([
      "slow start Running", "slow end Running", "fast Running",
      "slow start Success", "slow end Success", "fast Success",
    ]);
  });

  it("onFailure runs only on failed states, after the declared handlers, once per failed attempt", async () => {
    const log: string[] = [];
    const t = task(
      {
        maxRetries: 1,
        stateHandlers: [(_o, _old, next) => void log.push(`handler ${next.name}`)],
        onFailure: (obj, state) => void log.push(`onFailure ${obj} ${state.name}`),
      },
      boom,
    );
    await new Flow({ name: "f", tasks: [t] }).run({ clock: virtualClock() });
    expect(log).toEqual([
      "handler Running",
      "handler Failed",
      "onFailure <Task: boom> Failed",
      "handler Retrying",
      "handler Running",
      "handler Failed",
      "onFailure <Task: boom> Failed",
    ]);
  });

  it("a flow's onFailure is called once with the failed flow state", async () => {
    const calls: string[] = [];
    const flow = new Flow({ name: "f", tasks: [task(boom)], onFailure: (f, s) => void calls.push(`${f} ${s}`) });
    await flow.run();
    expect(calls).toEqual(['<Flow: name=f> Failed("Some reference tasks failed.")']);
  });

  it("signals carry data to newState.result (the seed guide's special failure mode)", async () => {
    const seen: unknown[] = [];
    const alertOnSpecialFailure: StateHandler = (_t, _old, next) => {
      if (next.isFailed() && (next.result as { flag?: boolean })?.flag === true) {
        seen.push((next.result as { value: number }).value);
      }
    };
    const missionCritical = task({ stateHandlers: [alertOnSpecialFailure] }, function missionCriticalTask(a: number, b: number) {
      if (a === b) {
        const sig = new signals.FAIL("a equaled b!");
        sig.flag = true;
        sig.value = a;
        throw sig;
      }
      return 1 / (b - a);
    });
    const state = await new Flow({ name: "state-inspection-handler" }, () => {
      missionCritical(1, 1);
    }).run();
    expect(seen).toEqual([1]);
    expect(String(state.result.get(missionCritical))).toBe('Failed("a equaled b!")');
  });

  it("callbackFactory behaves like the hand-written retry handler", async () => {
    const run = async (handler: StateHandler, out: string[]) => {
      const t = task({ maxRetries: 2, retryDelaySeconds: 30, stateHandlers: [handler] }, boom);
      await new Flow({ name: "f", tasks: [t] }).run({ clock: virtualClock(new Date("2026-05-01T00:00:00Z")) });
      return out;
    };
    const handWritten: string[] = [];
    const postToSlack: StateHandler = (t, _old, next) => {
      if (next.isRetrying()) handWritten.push(`Task ${t} failed and is retrying at ${(next as Retrying).startTime.toISOString()}`);
      return next;
    };
    const factory: string[] = [];
    const sendPost = (t: unknown, s: State) => void factory.push(`Task ${t} failed and is retrying at ${(s as Retrying).startTime.toISOString()}`);
    await run(postToSlack, handWritten);
    await run(callbackFactory(sendPost, (s) => s.isRetrying()), factory);
    expect(factory).toEqual(handWritten);
    expect(factory).toEqual([
      "Task <Task: boom> failed and is retrying at 2026-05-01T00:00:30.000Z",
      "Task <Task: boom> failed and is retrying at 2026-05-01T00:01:30.000Z",
    ]);
  });
});

describe("flows", () => {
  it("has exactly two flow transitions whatever the tasks do", async () => {
    const rec = recorder();
    const t = task({ maxRetries: 2 }, boom);
    await new Flow({ name: "f", tasks: [t], stateHandlers: [rec.handler] }).run({ clock: virtualClock() });
    expect(rec.calls).toEqual([
      'Scheduled() -> Running("Running flow.")',
      'Running("Running flow.") -> Failed("Some reference tasks failed.")',
    ]);
  });

  it("takes its final state from the reference tasks (default: terminal tasks)", async () => {
    const failing = task(boom);
    const ok = task(function ok() {});
    const explicit = await new Flow({ name: "f", tasks: [failing, ok], referenceTasks: [ok] }).run();
    expect(String(explicit)).toBe('Success("All reference tasks succeeded.")');
    const byDefault = await new Flow({ name: "f", tasks: [failing, ok] }).run();
    expect(String(byDefault)).toBe('Failed("Some reference tasks failed.")');
    // A failure upstream of a successful terminal task does not fail the flow.
    const recover = task({ trigger: triggers.anyFailed }, function recover() {});
    const recovered = await new Flow({ name: "f" }, () => {
      recover().after(failing());
    }).run();
    expect(String(recovered)).toBe('Success("All reference tasks succeeded.")');
  });

  it("passes upstream results as arguments and parameters from run()", async () => {
    const add = task(function add(a: number, b: number) {
      return a + b;
    });
    const double = task(function double(x: number) {
      return x * 2;
    });
    const { parameter } = await import("../../lib/index");
    const flow = new Flow({ name: "math" }, () => {
      double(add(parameter<number>("x"), 3));
    });
    const state = await flow.run({ parameters: { x: 4 } });
    expect(state.result.get(double)?.result).toBe(14);
    await expect(flow.run()).rejects.toThrow("Flow `math` needs the parameter `x`");
    await expect(flow.run({ parameters: { x: 1, y: 2 } })).rejects.toThrow("Flow `math` has no parameter `y`; its parameters are: `x`.");
  });

  it("a task called twice becomes two nodes with distinct names", async () => {
    const inc = task(function inc(x: number) {
      return x + 1;
    });
    let second: unknown;
    const flow = new Flow({ name: "f" }, () => {
      const r = inc(1);
      second = inc(r).task;
    });
    expect(flow.graph().nodes.map((n) => n.name)).toEqual(["inc", "inc-2"]);
    const state = await flow.run();
    expect(state.result.get(second as typeof inc)?.result).toBe(3);
  });

  it("runs independent tasks concurrently", async () => {
    let active = 0;
    let maxActive = 0;
    const work = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 10));
      active--;
    };
    const tasks = Array.from({ length: 5 }, (_, i) => task({ name: `t${i}` }, work));
    await new Flow({ name: "f", tasks }).run();
    expect(maxActive).toBe(5);
  });

  it("runs a 200-task diamond: fan-out to 198 tasks and fan-in, each seeing its upstream result", async () => {
    const source = task(function source() {
      return 1;
    });
    const middle = Array.from({ length: 198 }, (_, i) => task({ name: `m${i}` }, (x: number) => x + i));
    const sink = task(function sink(...xs: number[]) {
      return xs.reduce((a, b) => a + b, 0);
    });
    const flow = new Flow({ name: "diamond" }, () => {
      const s = source();
      sink(...middle.map((m) => m(s)));
    });
    expect(flow.graph().nodes).toHaveLength(200);
    const state = await flow.run();
    expect(String(state)).toBe('Success("All reference tasks succeeded.")');
    expect(state.result.size).toBe(200);
    expect(state.result.get(sink)?.result).toBe(198 + (197 * 198) / 2);
    expect([...state.result.keys()][0]).toBe(source);
    expect([...state.result.keys()][199]).toBe(sink);
  });

  it("a flow handler that throws ends the flow Failed without running tasks", async () => {
    let ran = false;
    const t = task(() => {
      ran = true;
    });
    const state = await new Flow({
      name: "f",
      tasks: [t],
      stateHandlers: [
        () => {
          throw new Error("flow handler broke");
        },
      ],
    }).run();
    expect(String(state)).toBe('Failed("Unexpected error while calling state handlers: Error: flow handler broke")');
    expect(ran).toBe(false);
  });
});
