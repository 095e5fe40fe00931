/** Time, injectable so tests never wait for real retry delays or timeouts. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or at once when `signal` aborts (a cancelled timer keeps nothing alive). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, Math.max(0, ms));
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    }),
};

/** A clock whose `sleep` returns at once (after pending I/O callbacks) and moves `now` forward. */
export interface VirtualClock extends Clock {
  /** Every sleep requested so far, in ms, in order. */
  readonly sleeps: number[];
}

/**
 * A virtual clock for tests and dry runs: `sleep(ms)` advances time by `ms` without waiting.
 * Work that settles within microtasks beats a virtual timeout; work that waits on real timers loses it.
 */
export function virtualClock(start: Date = new Date("2026-01-01T00:00:00.000Z")): VirtualClock {
  let now = start.getTime();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(now),
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise((resolve) =>
        setImmediate(() => {
          now += Math.max(0, ms);
          resolve();
        }),
      );
    },
  };
}
