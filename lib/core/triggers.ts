/**
 * Triggers decide, from its upstream tasks' final states, whether a task runs. Messages are
 * Prefect 1.x's, verbatim. A trigger is data (a name) so it can travel to the task Lambda.
 */
import type { State } from "./states";

export type TriggerName =
  | "all_successful"
  | "all_failed"
  | "any_successful"
  | "any_failed"
  | "all_finished"
  | "always_run"
  | "manual_only";

export interface Trigger {
  readonly name: TriggerName;
  /** True when the task may run, given its upstream tasks' final states. */
  readonly check: (upstream: readonly State[]) => boolean;
  /** The `TriggerFailed` message when `check` is false. */
  readonly failureMessage: string;
}

function trigger(name: TriggerName, check: Trigger["check"], failureMessage: string): Trigger {
  return Object.freeze({ name, check, failureMessage });
}

/** Runs when every upstream task succeeded (Skipped counts as success). The default. */
export const allSuccessful = trigger(
  "all_successful",
  (states) => states.every((s) => s.isSuccessful()),
  'Trigger was "all_successful" but some of the upstream tasks failed.',
);

/** Runs when every upstream task failed. */
export const allFailed = trigger(
  "all_failed",
  (states) => states.every((s) => s.isFailed()),
  'Trigger was "all_failed" but some of the upstream tasks succeeded.',
);

/** Runs when at least one upstream task succeeded (or there is none). */
export const anySuccessful = trigger(
  "any_successful",
  (states) => states.length === 0 || states.some((s) => s.isSuccessful()),
  'Trigger was "any_successful" but none of the upstream tasks succeeded.',
);

/** Runs when at least one upstream task failed (or there is none). */
export const anyFailed = trigger(
  "any_failed",
  (states) => states.length === 0 || states.some((s) => s.isFailed()),
  'Trigger was "any_failed" but none of the upstream tasks failed.',
);

/** Runs once every upstream task finished, whatever its state. */
export const allFinished = trigger(
  "all_finished",
  (states) => states.every((s) => s.isFinished()),
  'Trigger was "all_finished" but some of the upstream tasks were not finished.',
);

/** Alias of `allFinished`: runs whatever happened upstream (clean-up tasks). */
export const alwaysRun = trigger("always_run", allFinished.check, allFinished.failureMessage);

/**
 * Waits for a person: the task goes `Pending → Paused("Waiting for approval.")` and runs only once
 * approved (`flow.run({ approve })`, `flowhooks run --approve`). As in Prefect 1.x's `manual_only`,
 * the upstream states do not decide anything: the approval does.
 */
export const manualOnly = trigger("manual_only", () => true, 'Trigger was "manual_only" and the task was not approved.');

export const triggers = { allSuccessful, allFailed, anySuccessful, anyFailed, allFinished, alwaysRun, manualOnly } as const;

const BY_NAME: Record<TriggerName, Trigger> = {
  all_successful: allSuccessful,
  all_failed: allFailed,
  any_successful: anySuccessful,
  any_failed: anyFailed,
  all_finished: allFinished,
  always_run: alwaysRun,
  manual_only: manualOnly,
};

export function triggerByName(name: string): Trigger {
  const found = BY_NAME[name as TriggerName];
  if (!found) {
    throw new TypeError(`Unknown trigger "${name}"; use one of ${Object.keys(BY_NAME).join(", ")}.`);
  }
  return found;
}

export function isTrigger(value: unknown): value is Trigger {
  return Object.values(BY_NAME).includes(value as Trigger);
}

/** True when `trigger` is `manualOnly`, from any copy of flowhooks (flows loaded through `require` bring their own). */
export function isManualOnly(trigger: Trigger | undefined): boolean {
  return trigger?.name === "manual_only";
}
