/**
 * The retry policy, with the formula Step Functions uses for a `Retry` field, so the `startTime`
 * of a `Retrying` state is the same locally and in the cloud:
 *
 *   delay(n) = min(retryDelaySeconds × backoffRate^(n-1), maxDelaySeconds)   for failed attempt n
 *   jitter FULL: a uniformly random delay in [0, delay(n)]
 */
import { FlowDefinitionError } from "./errors";

export type JitterStrategy = "NONE" | "FULL";

export interface RetryPolicy {
  /** Retries after the first attempt (so attempts = maxRetries + 1). @default 0 */
  readonly maxRetries: number;
  /** Delay before the first retry. @default 1 (Step Functions' IntervalSeconds default) */
  readonly retryDelaySeconds: number;
  /** Multiplier applied to the delay after each retry. @default 2 (Step Functions' default) */
  readonly backoffRate: number;
  /** Upper bound of any one delay. @default - no bound */
  readonly maxDelaySeconds?: number;
  /** Randomise delays to spread retries. @default "NONE" */
  readonly jitter: JitterStrategy;
}

export interface RetryOptions {
  maxRetries?: number;
  retryDelaySeconds?: number;
  backoffRate?: number;
  maxDelaySeconds?: number;
  jitter?: JitterStrategy;
}

/** Step Functions accepts MaxAttempts up to 99999999 and IntervalSeconds/MaxDelaySeconds up to 31622400. */
const MAX_ATTEMPTS = 99_999_999;
const MAX_SECONDS = 31_622_400;

export function retryPolicy(options: RetryOptions, owner: string): RetryPolicy {
  const { maxRetries = 0, retryDelaySeconds = 1, backoffRate = 2, maxDelaySeconds, jitter = "NONE" } = options;
  const integer = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new FlowDefinitionError(
        `${owner}: \`${name}\` is ${value}; it must be a whole number from ${min} to ${max}.`,
      );
    }
  };
  integer("maxRetries", maxRetries, 0, MAX_ATTEMPTS);
  integer("retryDelaySeconds", retryDelaySeconds, maxRetries > 0 ? 1 : 0, MAX_SECONDS);
  if (typeof backoffRate !== "number" || !(backoffRate >= 1)) {
    throw new FlowDefinitionError(`${owner}: \`backoffRate\` is ${backoffRate}; it must be a number of at least 1.0.`);
  }
  if (maxDelaySeconds !== undefined) integer("maxDelaySeconds", maxDelaySeconds, 1, MAX_SECONDS);
  if (jitter !== "NONE" && jitter !== "FULL") {
    throw new FlowDefinitionError(`${owner}: \`jitter\` is ${JSON.stringify(jitter)}; use "NONE" or "FULL".`);
  }
  return { maxRetries, retryDelaySeconds, backoffRate, maxDelaySeconds, jitter };
}

/**
 * Seconds to wait after failed attempt `attempt` (1-based) before the next one.
 * `random` returns a number in [0, 1); it is only used with FULL jitter.
 */
export function retryDelaySeconds(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  let delay = policy.retryDelaySeconds * policy.backoffRate ** (attempt - 1);
  if (policy.maxDelaySeconds !== undefined) delay = Math.min(delay, policy.maxDelaySeconds);
  if (policy.jitter === "FULL") delay = random() * delay;
  return delay;
}

/** True when failed attempt `attempt` (1-based) may be followed by another. */
export function hasRetriesLeft(policy: RetryPolicy, attempt: number): boolean {
  return attempt <= policy.maxRetries;
}
