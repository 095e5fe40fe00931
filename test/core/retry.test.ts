import { describe, expect, it } from "vitest";
import { Flow, Retrying, retryDelaySeconds, retryingState, signals, Success, task, virtualClock } from "../../lib/index";
import type { Clock } from "../../lib/core/clock";
import type { TransitionEvent } from "../../lib/core/transition";

describe("the retry policy uses Step Functions' Retry formula", () => {
  const policy = (o: object) => task(o, () => undefined).retry;

  it("delay(n) = IntervalSeconds × BackoffRate^(n-1), capped at MaxDelaySeconds", () => {
    const p = policy({ maxRetries: 5, retryDelaySeconds: 3, backoffRate: 2, maxDelaySeconds: 20 });
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(p, n))).toEqual([3, 6, 12, 20, 20]);
  });

  it("defaults match Step Functions (IntervalSeconds 1, BackoffRate 2, no jitter)", () => {
    const p = policy({ maxRetries: 3 });
    expect([1, 2, 3].map((n) => retryDelaySeconds(p, n))).toEqual([1, 2, 4]);
    expect(p.jitter).toBe("NONE");
  });

  it("FULL jitter picks uniformly in [0, delay]", () => {
    const p = policy({ maxRetries: 2, retryDelaySeconds: 8, jitter: "FULL" });
    expect(retryDelaySeconds(p, 2, () => 0.5)).toBe(8);
    expect(retryDelaySeconds(p, 2, () => 0)).toBe(0);
  });

  it("the Retrying state after attempt n starts delay(n) after it failed", () => {
    const t = task({ maxRetries: 4, retryDelaySeconds: 5, backoffRate: 1.5 }, () => undefined);
    const s = retryingState(t, 3, new Date("2026-01-01T00:00:00Z"));
    expect(s).toBeInstanceOf(Retrying);
    expect(s.runCount).toBe(3);
    expect(s.startTime.toISOString()).toBe("2026-01-01T00:00:11.250Z");
    expect(s.message).toBe("Retrying Task (after attempt 3 of 5)");
  });

  it("the local runner waits until each Retrying state's startTime before the next attempt", async () => {
    const clock = virtualClock(new Date("2026-01-01T00:00:00Z"));
    const starts: string[] = [];
    const t = task({ maxRetries: 2, retryDelaySeconds: 4 }, function flaky() {
      starts.push(clock.now().toISOString());
      throw new Error("x");
    });
    await new Flow({ name: "f", tasks: [t] }).run({ clock });
    expect(starts).toEqual(["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:04.000Z", "2026-01-01T00:00:12.000Z"]);
  });
});

describe("a Retrying transition's time is the clock read its start time was made from", () => {
  /** A clock that moves 7 ms on every read, so two reads never agree; sleeps move it too, without waiting. */
  function tickingClock(): Clock {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    return {
      now: () => new Date((now += 7)),
      sleep: (ms) => new Promise((resolve) => setImmediate(() => resolve(void (now += Math.max(0, ms))))),
    };
  }

  const retryWaits = (events: TransitionEvent[]) =>
    events.filter((e) => e.newState instanceof Retrying).map((e) => (e.newState as Retrying).startTime.getTime() - e.at.getTime());

  it("flow.run(): startTime - at is exactly the policy's delay, for a failure and for RETRY raised by the body", async () => {
    let calls = 0;
    const flaky = task({ name: "flaky", maxRetries: 3, retryDelaySeconds: 2, backoffRate: 1.5 }, () => {
      calls++;
      if (calls === 1) throw new Error("boom");
      if (calls === 2) throw new signals.RETRY("again");
      if (calls === 3) throw new Error("boom");
      return "done";
    });
    const events: TransitionEvent[] = [];
    const state = await new Flow({ name: "ticking", tasks: [flaky] }).run({ clock: tickingClock(), onTransition: (e) => void events.push(e) });
    expect(state.isSuccessful()).toBe(true);
    expect(retryWaits(events)).toEqual([2000, 3000, 4500]);
  });

  it("FULL jitter: startTime - at is the jittered delay, to the millisecond", async () => {
    const flaky = task({ name: "flaky", maxRetries: 1, retryDelaySeconds: 10, jitter: "FULL" }, () => {
      throw new Error("boom");
    });
    const events: TransitionEvent[] = [];
    await new Flow({ name: "ticking", tasks: [flaky] }).run({ clock: tickingClock(), random: () => 0.25, onTransition: (e) => void events.push(e) });
    expect(retryWaits(events)).toEqual([2500]);
  });

  it("RETRY raised by a state handler: the transition reports the policy's Retrying (its delay from the same read, its run count), not one started at once", async () => {
    let raised = 0;
    const flaky = task(
      {
        name: "flaky",
        maxRetries: 2,
        retryDelaySeconds: 30,
        stateHandlers: [
          (_t, _old, next) => {
            if (next instanceof Success && raised++ === 0) throw new signals.RETRY("the handler wants another go");
            return undefined;
          },
        ],
      },
      () => "done",
    );
    const events: TransitionEvent[] = [];
    const state = await new Flow({ name: "ticking", tasks: [flaky] }).run({ clock: tickingClock(), onTransition: (e) => void events.push(e) });
    expect(state.isSuccessful()).toBe(true);
    const retrying = events.filter((e) => e.newState instanceof Retrying);
    expect(retrying).toHaveLength(1);
    expect(retryWaits(events)).toEqual([30_000]);
    expect(retrying[0]!.newState).toMatchObject({ message: "the handler wants another go", runCount: 1 });
    // The next attempt started when the reported Retrying said it would.
    const secondRunning = events.filter((e) => e.newState.message === "Starting task run.")[1]!;
    expect(secondRunning.at.getTime()).toBeGreaterThanOrEqual((retrying[0]!.newState as Retrying).startTime.getTime());
  });

  it("a state handler that replaces the Retrying keeps the transition's own time (read after its chain)", async () => {
    const fixed = new Date("2030-01-01T00:00:00.000Z");
    let proposed: Date | undefined;
    const flaky = task(
      {
        name: "flaky",
        maxRetries: 1,
        stateHandlers: [(_t, _old, next) => (next instanceof Retrying ? ((proposed = next.startTime), new Retrying("mine", { startTime: fixed })) : undefined)],
      },
      () => {
        throw new Error("boom");
      },
    );
    const events: TransitionEvent[] = [];
    await new Flow({ name: "ticking", tasks: [flaky] }).run({ clock: tickingClock(), onTransition: (e) => void events.push(e) });
    const retrying = events.find((e) => e.newState instanceof Retrying)!;
    expect((retrying.newState as Retrying).startTime).toBe(fixed);
    // The engine's Retrying was made from the read 1 s (the default delay) before its start time; the event's time is a later read.
    expect(retrying.at.getTime()).toBeGreaterThan(proposed!.getTime() - 1000);
  });
});
