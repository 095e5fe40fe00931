/**
 * Sending one thing (an alert, the dead-letter notice) to each destination at most once, through
 * claims in the claims table: the one place that decides when a send may be repeated.
 *
 * Invariant, after any single crash or failed call: a destination's claim is released only when
 * its send failed plainly (nothing arrived), so only those are sent again; a send that went out,
 * or may have (no answer), is never repeated, and the write recording it is retried until the
 * invocation's deadline. Transitions of one destination's claim: none → in progress (claim) →
 * done (sent, or maybe sent) | none (release after a plain failure). The one doubling window: the
 * container dies between a destination accepting the send and the write recording it, and the
 * claim's lease runs out before a retry (it is longer than the queue's visibility timeout).
 */
import type { Clock } from "../../lib/core/clock";
import { isAmbiguousDelivery } from "../../lib/notify/alert";
import { ClaimLostError, type TransitionKey, type TransitionStore } from "../../lib/aws/dedupe";
import type { Logger } from "../../lib/aws/logger";

/** The longest wait between two tries of a write that records progress. */
const KEEP_MAX_BACKOFF_MS = 2_000;

export interface KeepOptions {
  clock: Clock;
  /** Epoch ms (on `clock`) after which the write is given up and its error thrown. */
  until: number;
  log: Logger;
}

/**
 * A store write that must not be given up (it records that something was sent or handled): retried
 * with backoff until `until`; a claim another invocation took over is left to it.
 */
export async function keepTrying(write: () => Promise<void>, { clock, until, log }: KeepOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (error instanceof ClaimLostError) {
        log.warn(error.message);
        return;
      }
      const waitMs = Math.min(KEEP_MAX_BACKOFF_MS, 100 * 2 ** attempt);
      if (clock.now().getTime() + waitMs > until) throw error;
      log.warn("Could not record progress in the claim table; trying again.", { attempt, error });
      await clock.sleep(waitMs);
    }
  }
}

/** What `settleWithin` returns when the work did not settle in time. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * The work's result, or `TIMED_OUT` once `budgetMs` passed on `clock`: what bounds state-handler
 * chains and channel sends by the invocation's remaining time. The work itself is left running
 * (nothing can cancel it), but the invocation no longer waits for it.
 */
export async function settleWithin<T>(work: Promise<T>, budgetMs: number, clock: Clock): Promise<T | typeof TIMED_OUT> {
  const stop = new AbortController();
  try {
    return await Promise.race([work, clock.sleep(budgetMs, stop.signal).then((): typeof TIMED_OUT => TIMED_OUT)]);
  } finally {
    stop.abort();
  }
}

export interface DeliverOptions<D extends { name: string }> {
  store: TransitionStore;
  /** The thing's own key; each destination's claim is `…#sent:<name>` under it. */
  key: TransitionKey;
  destinations: readonly D[];
  send: (destination: D) => Promise<void>;
  /** Records a send (see `keepTrying`). */
  keep: (write: () => Promise<void>) => Promise<void>;
  log: Logger;
  /** Log fields on each line, e.g. `{ state: "Failed" }`. @default {} */
  fields?: Record<string, unknown>;
  /** What is sent, for log lines ("Alert", "Notice"). */
  what: string;
}

/** The claim that records `key` was sent to `destination`. */
export function sentKey(key: TransitionKey, destination: string): TransitionKey {
  return { ...key, transition: `${key.transition}#sent:${destination}` };
}

/** Sends to each destination that has not had it; throws (after trying every one) when any failed plainly. */
export async function deliverOnce<D extends { name: string }>(o: DeliverOptions<D>): Promise<void> {
  const failures: unknown[] = [];
  for (const destination of o.destinations) {
    const claim = sentKey(o.key, destination.name);
    if (!(await o.store.claim(claim))) continue;
    const fields = { ...o.fields, channel: destination.name };
    try {
      await o.send(destination);
      o.log.info(`${o.what} sent to ${destination.name}.`, fields);
    } catch (error) {
      if (!isAmbiguousDelivery(error)) {
        await o.store.release(claim);
        o.log.error(`${o.what} to ${destination.name} failed; it will be retried.`, { ...fields, error });
        failures.push(error);
        continue;
      }
      // It may have arrived: sending it again could double it, so it is recorded as sent.
      o.log.error(`${o.what} to ${destination.name} may or may not have arrived; it is not sent again, so it is never doubled.`, { ...fields, error });
    }
    // Sent (or maybe sent): the claim is never released now, only completed (retried until it is).
    await o.keep(() => o.store.complete(claim));
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${o.what}s to ${failures.length} destinations failed.`);
}
