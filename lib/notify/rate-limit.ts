/**
 * A per-destination rate limit shared by every handler invocation (the state lives in the claims
 * table, or in memory locally): a generic cell rate algorithm that hands out slots in order. A
 * caller told to wait owns the slot it was given (it does not queue again), so under load every
 * request waits its turn once instead of competing on each redelivery and burning receive counts.
 */
import { updateDocument, type DocumentStore } from "./documents";

export interface RateLimit {
  /** Requests per second the destination accepts (Slack: about 1 message per second per channel). */
  perSecond: number;
  /** Requests that may go at once before the rate applies. */
  burst: number;
}

/** Slack's documented pace for posting to one channel or webhook. */
export const SLACK_RATE_LIMIT: RateLimit = { perSecond: 1, burst: 1 };

interface Cell {
  /** Theoretical arrival time (ms since the epoch) of the next request at the steady rate. */
  tat: number;
}

export class RateLimiter {
  constructor(
    private readonly store: DocumentStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Takes the next slot for one request to `destination`: 0 means go now, else the ms until this caller's slot. */
  async reserve(destination: string, limit: RateLimit): Promise<number> {
    const intervalMs = 1000 / limit.perSecond;
    const toleranceMs = (Math.max(1, limit.burst) - 1) * intervalMs;
    return updateDocument<Cell, number>(this.store, `rate|${destination}`, (cell) => {
      const now = this.now().getTime();
      const tat = Math.max(cell?.tat ?? now, now);
      return { value: { tat: tat + intervalMs }, result: Math.max(0, Math.ceil(tat - toleranceMs - now)) };
    });
  }

  /** The destination answered 429: no new slot starts before `untilMs`. */
  async holdOff(destination: string, limit: RateLimit, untilMs: number): Promise<void> {
    const toleranceMs = (Math.max(1, limit.burst) - 1) * (1000 / limit.perSecond);
    await updateDocument<Cell>(this.store, `rate|${destination}`, (cell) => {
      const tat = Math.max(cell?.tat ?? 0, untilMs + toleranceMs);
      return tat === cell?.tat ? { result: undefined } : { value: { tat }, result: undefined };
    });
  }
}
