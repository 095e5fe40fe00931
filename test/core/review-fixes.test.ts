import { describe, expect, it } from "vitest";
import {
  Failed,
  Flow,
  Pending,
  Retrying,
  Success,
  TriggerFailed,
  runTaskAttempt,
  signals,
  systemClock,
  task,
  virtualClock,
  type StateHandler,
} from "../../lib/index";
import { recorder } from "../helpers/trace";

describe("retries a state handler asks for obey the retry policy", () => {
  it("a handler throwing RETRY on a task without retries ends it Failed instead of retrying forever", async () => {
    let runs = 0;
    const retryOnFailure: StateHandler = (_t, _old, next) => {
      if (next.isFailed()) throw new signals.RETRY("try again");
    };
    const t = task({ stateHandlers: [retryOnFailure] }, function flaky() {
      runs++;
      throw new Error("boom");
    });
    const state = await new Flow({ name: "f", tasks: [t] }).run({ clock: virtualClock() });
    expect(runs).toBe(1);
    expect(String(state.result.get(t))).toBe('Failed("try again")');
  });

  it("with retries left, a handler's RETRY gets the policy's run count and start time", async () => {
    const clock = virtualClock(new Date("2026-01-01T00:00:00Z"));
    let runs = 0;
    const rec = recorder();
    const retryOnFailure: StateHandler = (_t, _old, next) => {
      if (next.isFailed() && runs === 1) throw new signals.RETRY("try again");
    };
    const t = task({ maxRetries: 1, retryDelaySeconds: 30, stateHandlers: [retryOnFailure, rec.handler] }, function flaky() {
      if (++runs === 1) throw new Error("boom");
      return "ok";
    });
    const state = await new Flow({ name: "f", tasks: [t] }).run({ clock });
    expect(runs).toBe(2);
    expect(clock.sleeps).toEqual([30_000]);
    expect(state.result.get(t)).toBeInstanceOf(Success);
  });
});

it("a task whose Lambda attempt count was inflated by a transient retry still checks its trigger", async () => {
  const up = task({ name: "up" }, () => 1);
  const down = task({ name: "down", maxRetries: 1 }, function down(_x: unknown) {
    throw new Error("must not run");
  });
  const flow = new Flow({ name: "f" }, () => void down(up()));
  const node = flow.graph().byName.get("down")!;
  const rec: string[] = [];
  const state = await runTaskAttempt({
    node,
    attempt: 2, // RetryCount 1: the first invoke was throttled, not run
    initialState: new Retrying("Retrying Task (after attempt 1 of 2)", { runCount: 1 }),
    upstreamStates: new Map([["up", new Failed("up broke")]]),
    parameters: {},
    clock: virtualClock(),
    onTransition: (e) => rec.push(`${e.oldState} -> ${e.newState}`),
  });
  expect(state).toBeInstanceOf(TriggerFailed);
  expect(rec).toEqual([`${new Pending()} -> ${state}`]);
});

it("a finished task's timeout timer does not keep the process alive", async () => {
  const timers = () => (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers();
  const started = Date.now();
  const t = task({ timeoutSeconds: 600 }, async function quick() {
    return 1;
  });
  const state = await new Flow({ name: "f", tasks: [t] }).run({ clock: systemClock });
  expect(state.isSuccessful()).toBe(true);
  // No timer left behind by the runner (a 600 s one would keep `flowhooks run` alive for 10 minutes).
  expect(timers()).toBe(before);
  expect(Date.now() - started).toBeLessThan(5_000);
});
