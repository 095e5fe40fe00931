/**
 * A `Retrying` with its own message or result (RETRY("…"), or a state handler's) reaches the next
 * attempt, which Step Functions' Retry invokes with the same payload, through the result store.
 */
import { describe, expect, it } from "vitest";
import { Flow, Retrying, getRunContext, signals, task, type State } from "../../../lib/index";
import { virtualClock, type Clock } from "../../../lib/core/clock";
import { registerSecretValue } from "../../../lib/core/mask";
import type { ResultStore } from "../../../lib/core/results";
import { runTask, TaskRetryingError, type TaskStateChangeDetail } from "../../../lambdas/task/index";

import { memoryStore } from "../../helpers/memory-store";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";


/** Invokes task `name` of `flow` as the state machine does, attempt `retryCount + 1`, with one clock and store for all calls. */
function invoker(flow: Flow, name: string, store: ResultStore | undefined) {
  const events: TaskStateChangeDetail[] = [];
  const logs: Record<string, unknown>[] = [];
  const clock = virtualClock(NOW);
  const invoke = async (retryCount: number, extra: Record<string, unknown> = {}) => {
    const from = events.length;
    const outcome = await runTask(
      { task: name, parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: retryCount } }, ...extra },
      { flow, taskName: name, clock, results: store, emit: async (d) => void events.push(d), log: (line) => void logs.push(line) },
    ).catch((error: unknown) => error);
    return { outcome, events: events.slice(from) };
  };
  return { invoke, logs };
}

const transitions = (events: TaskStateChangeDetail[]) => events.map((e) => `${e.oldState.type}(${e.oldState.message}) -> ${e.newState.type}(${e.newState.message})`);

describe("the Retrying state between two attempts of a task function", () => {
  it("a RETRY(\"custom message\") reaches the next attempt as its oldState, with its result and start time, as flow.run() hands it on", async () => {
    const seen: { old: State; next: State }[] = [];
    const flaky = task(
      { name: "flaky", maxRetries: 2, retryDelaySeconds: 30, stateHandlers: [(_t, old, next) => void seen.push({ old, next })] },
      () => {
        if ((getRunContext()?.attempt ?? 1) === 1) throw new signals.RETRY("custom message", { retryAfter: "rate limit" });
        return "done";
      },
    );
    const { store, objects } = memoryStore();
    const { invoke } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", store);

    const first = await invoke(0);
    expect(first.outcome).toBeInstanceOf(TaskRetryingError);
    expect(transitions(first.events).at(-1)).toBe("Running(Starting task run.) -> Retrying(custom message)");
    expect([...objects.keys()].filter((k) => k.includes("retrying"))).toEqual(["orders/run-1/flaky/retrying-after-attempt-1.json"]);

    const second = await invoke(1);
    expect(second.outcome).toMatchObject({ state: { type: "Success", result: "done" }, attempt: 2 });
    expect(transitions(second.events)[0]).toBe("Retrying(custom message) -> Running(Starting task run.)");
    // The start time the first attempt scheduled (now + 30 s), not the second attempt's "now".
    expect(second.events[0]!.oldState).toMatchObject({ runCount: 1, startTime: new Date(NOW.getTime() + 30_000).toISOString() });
    const handedOn = seen.find((s) => s.next.isRunning() && s.old instanceof Retrying)!.old;
    expect(handedOn.result).toBeInstanceOf(signals.RETRY);
    expect(handedOn.result).toMatchObject({ message: "custom message", retryAfter: "rate limit" });

    // flow.run() makes the same transition.
    const local: string[] = [];
    await new Flow({ name: "orders", tasks: [flaky] }).run({ clock: virtualClock(NOW), onTransition: (e) => void (e.kind === "task" && local.push(`${String(e.oldState)} -> ${String(e.newState)}`)) });
    expect(local).toContain('Retrying("custom message") -> Running("Starting task run.")');
  });

  it("a state handler's own Retrying result survives the retry", async () => {
    const seen: State[] = [];
    const flaky = task(
      {
        name: "flaky",
        maxRetries: 1,
        stateHandlers: [
          (_t, old, next) => {
            if (next.isRunning()) seen.push(old);
            return next.isFailed() ? new Retrying("waiting for the partner API", { result: { backoff: 2 }, runCount: 1, startTime: NOW }) : undefined;
          },
        ],
      },
      () => {
        if ((getRunContext()?.attempt ?? 1) === 1) throw new Error("503");
        return "ok";
      },
    );
    const { store } = memoryStore();
    const { invoke } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", store);
    expect((await invoke(0)).outcome).toBeInstanceOf(TaskRetryingError);
    const second = await invoke(1);
    expect(transitions(second.events)[0]).toBe("Retrying(waiting for the partner API) -> Running(Starting task run.)");
    expect(seen.at(-1)).toMatchObject({ message: "waiting for the partner API", result: { backoff: 2 } });
  });

  it("stores nothing for the retry policy's own Retrying: the next attempt rebuilds it, scheduled for now", async () => {
    const flaky = task({ name: "flaky", maxRetries: 2 }, () => {
      if ((getRunContext()?.attempt ?? 1) === 1) throw new Error("boom");
      return "ok";
    });
    const { store, objects } = memoryStore();
    const { invoke, logs } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", store);
    await invoke(0);
    expect(objects.size).toBe(0);
    const second = await invoke(1);
    expect(transitions(second.events)[0]).toBe("Retrying(Retrying Task (after attempt 1 of 3)) -> Running(Starting task run.)");
    expect(second.events[0]!.oldState).toMatchObject({ runCount: 1, startTime: NOW.toISOString() });
    expect(logs).toEqual([]);
  });

  it("without a result store, the next attempt starts from the default Retrying (the documented difference)", async () => {
    const flaky = task({ name: "flaky", maxRetries: 1 }, () => {
      if ((getRunContext()?.attempt ?? 1) === 1) throw new signals.RETRY("custom message");
      return "ok";
    });
    const { invoke } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", undefined);
    await invoke(0);
    const second = await invoke(1);
    expect(transitions(second.events)[0]).toBe("Retrying(Retrying Task (after attempt 1 of 2)) -> Running(Starting task run.)");
  });

  it("masks secret values in the Retrying state it stores", async () => {
    const secret = "s3cr3t-retry-token-91b2";
    registerSecretValue(secret);
    const flaky = task({ name: "flaky", maxRetries: 1 }, () => {
      throw new signals.RETRY(`token ${secret} expired`);
    });
    const { store, objects } = memoryStore();
    const { invoke } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", store);
    await invoke(0);
    const stored = objects.get("orders/run-1/flaky/retrying-after-attempt-1.json")!;
    expect(stored).toContain("token [redacted] expired");
    expect(stored).not.toContain(secret);
  });

  it("logs a lost write at WARN and the next attempt starts from the default Retrying", async () => {
    const flaky = task({ name: "flaky", maxRetries: 1 }, () => {
      if ((getRunContext()?.attempt ?? 1) === 1) throw new signals.RETRY("custom message");
      return "ok";
    });
    const { store } = memoryStore();
    // Only the Retrying state's write is lost (a large result's write failing fails the attempt, as before).
    const broken: ResultStore = { put: async (key, body) => (key.includes("retrying") ? Promise.reject(new Error("SlowDown")) : store.put(key, body)), get: store.get };
    const { invoke, logs } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", broken);
    expect((await invoke(0)).outcome).toBeInstanceOf(TaskRetryingError);
    expect(logs).toEqual([expect.objectContaining({ level: "WARN", task: "flaky", attempt: 1, key: "orders/run-1/flaky/retrying-after-attempt-1.json", error: "Error: SlowDown" })]);
    const second = await invoke(1);
    expect(transitions(second.events)[0]).toBe("Retrying(Retrying Task (after attempt 1 of 2)) -> Running(Starting task run.)");
  });

  it("logs at WARN a store that cannot be read (not a missing key) and starts from the default Retrying", async () => {
    const flaky = task({ name: "flaky", maxRetries: 1 }, () => "ok");
    const unreadable: ResultStore = { put: async () => {}, get: async () => Promise.reject(Object.assign(new Error("Service Unavailable"), { name: "ServiceUnavailable" })) };
    const { invoke, logs } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", unreadable);
    const second = await invoke(1);
    expect(transitions(second.events)[0]).toBe("Retrying(Retrying Task (after attempt 1 of 2)) -> Running(Starting task run.)");
    expect(logs).toEqual([expect.objectContaining({ level: "WARN", attempt: 2, message: expect.stringContaining("Could not read the Retrying state") })]);
  });

  it("a mapped task's child keeps its Retrying under its own key, and its next attempt starts from it", async () => {
    const list = task({ name: "list" }, () => [1, 2, 3]);
    const work = task({ name: "work", maxRetries: 1 }, (x: number) => {
      if ((getRunContext()?.attempt ?? 1) === 1) throw new signals.RETRY(`item ${x} not ready`);
      return x * 10;
    });
    const flow = new Flow({ name: "orders" }, () => void work.map(list()));
    const { store, objects } = memoryStore();
    const { invoke } = invoker(flow, "work", store);
    const child = { mode: "child", item: { index: 1, items: [{ type: "Success", result: 2 }] } };
    expect((await invoke(0, child)).outcome).toBeInstanceOf(TaskRetryingError);
    expect([...objects.keys()].filter((k) => k.includes("retrying"))).toEqual(["orders/run-1/work/child-1/retrying-after-attempt-1.json"]);
    const second = await invoke(1, child);
    expect(second.outcome).toMatchObject({ mapIndex: 1, state: { type: "Success", result: 20 } });
    expect(transitions(second.events)[0]).toBe("Retrying(item 2 not ready) -> Running(Starting task run.)");
  });
});

describe("the kept Retrying state and a redrive", () => {
  it("is kept per entry of the task's state: after a redrive (a new EnteredTime, attempts from 1 again) a plain failure's next attempt does not start from the old run's Retrying", async () => {
    let mode: "signal" | "error" = "signal";
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 30 }, () => {
      if ((getRunContext()?.attempt ?? 1) === 1) {
        if (mode === "signal") throw new signals.RETRY("custom message");
        throw new Error("plain failure");
      }
      return "done";
    });
    const { store, objects } = memoryStore();
    const { invoke } = invoker(new Flow({ name: "orders", tasks: [flaky] }), "flaky", store);
    const entered = (time: string) => ({ context: { Execution: { Id: EXECUTION }, State: { RetryCount: 0, EnteredTime: time } } });

    // The first run of the state keeps its RETRY's Retrying...
    await invoke(0, entered("2026-03-01T12:00:00.000Z"));
    expect([...objects.keys()].filter((k) => k.includes("retrying"))).toEqual(["orders/run-1/flaky/entered-20260301T120000000Z/retrying-after-attempt-1.json"]);
    // ...the execution is redriven: the state is entered again, and its first attempt fails plainly.
    mode = "error";
    await invoke(0, entered("2026-03-01T13:00:00.000Z"));
    const second = await invoke(1, { context: { Execution: { Id: EXECUTION }, State: { RetryCount: 1, EnteredTime: "2026-03-01T13:00:00.000Z" } } });
    expect(transitions(second.events)[0]).toBe("Retrying(Retrying Task (after attempt 1 of 3)) -> Running(Starting task run.)");
  });
});

describe("a Retrying event's time is the clock read its start time was made from", () => {
  /** A clock that moves 7 ms on every read, so two reads never agree. */
  function tickingClock(): Clock {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    return { now: () => new Date((now += 7)), sleep: (ms) => new Promise((resolve) => setImmediate(() => resolve(void (now += Math.max(0, ms))))) };
  }

  it("the task Lambda's events carry the same: newState.startTime - at is exactly the delay", async () => {
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 3 }, () => {
      throw new Error("boom");
    });
    const flow = new Flow({ name: "ticking", tasks: [flaky] });
    const details: TaskStateChangeDetail[] = [];
    const clock = tickingClock();
    for (const retryCount of [0, 1]) {
      await runTask(
        { task: "flaky", parameters: {}, upstream: {}, context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:ticking:run-1" }, State: { RetryCount: retryCount } } },
        { flow, taskName: "flaky", clock, emit: async (d) => void details.push(d) },
      ).catch((error: unknown) => expect(error).toBeInstanceOf(TaskRetryingError));
    }
    const waits = details.filter((d) => d.newState.type === "Retrying").map((d) => Date.parse(d.newState.startTime!) - Date.parse(d.at));
    expect(waits).toEqual([3000, 6000]);
  });
});
