import { describe, expect, it } from "vitest";
import { Flow, Retrying, retryDelaySeconds, retryingState, task, virtualClock } from "../../lib/index";

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
