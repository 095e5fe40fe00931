/**
 * The one alert model every channel renders (Slack, SNS, console, …), and the channel interface.
 * Notifiers (state handlers) and the handler Lambda both build an `Alert` and hand it to channels.
 */
import { getRunContext } from "../core/context";
import type { State } from "../core/states";

/** True for an error saying a send may have arrived (by name: a bundle may carry its own copy of the class). */
export function isAmbiguousDelivery(error: unknown): boolean {
  return error instanceof Error && error.name === "AmbiguousDeliveryError";
}

export interface Alert {
  /** Whether a task or the flow changed state. */
  kind: "task" | "flow";
  /** The flow's name. */
  flow: string;
  /** The task's name (kind "task" only); a mapped task's child is named `task[i]` (lib/core/map.ts `childName`). */
  task?: string;
  /** A mapped task's child: its index among the children (0-based); absent for every other alert. */
  mapIndex?: number;
  oldState: State;
  newState: State;
  /** Local run id or Step Functions execution ARN. */
  executionId?: string;
  /** Link to the execution in the Step Functions console, where known. */
  consoleUrl?: string;
  /** The task's attempt (1-based), where known. */
  attempt?: number;
  /** How many attempts the task may make in all (maxRetries + 1), where known. */
  maxAttempts?: number;
  /** For a flow alert: the names of the tasks that ended failed, where known. */
  failedTasks?: string[];
  /** True when the transition was reconstructed after the fact (e.g. a Lambda timeout seen by the handler Lambda). */
  observedAfterTheFact?: boolean;
  /** When the transition happened. */
  at: Date;
  /** When the execution started (flow alerts from the handler Lambda), for its duration. */
  startedAt?: Date;
  /**
   * The transition's identity as the handler Lambda claims it (object, transition, attempt, run):
   * the same for a live event and its recovery from the history, so a digest records it once.
   * @default - none (a digest tells transitions apart by task, state, attempt and time)
   */
  transitionId?: string;
}

/** A destination for alerts. One file per channel under lib/notify; adding one touches no other file. */
export interface AlertChannel {
  /** A short name for logs and errors ("slack", "sns", "console"). */
  readonly name: string;
  /** Delivers the alert, or throws a `NotificationError` whose message contains no secret. */
  send(alert: Alert): Promise<void>;
  /**
   * The secret the channel reads its destination from (`secrets.get` name), when it reads one.
   * A deployment gives it to the functions (FlowStateMachine `secrets`); a local run checks it first.
   * @default - none
   */
  readonly secret?: string;
  /**
   * Where the channel delivers, when the code fixes it (a topic ARN, an event bus name or ARN): the
   * construct refuses a flow's notifier that would repeat its built-in alerts there. @default - not known
   */
  readonly destination?: string;
  /**
   * Resolves when the channel can deliver (its secret is set and valid), else rejects with an
   * error naming the fix. `flow.run()` calls it before any task runs. @default - nothing to check
   */
  preflight?(): Promise<void>;
  /**
   * Told of a flow's ending that is not alerted (not in `alertOn`, e.g. `Success` by default), so a
   * conversation already open can show how it ended (the Slack app's parent: "recovered after 2 retries").
   * @default - not told
   */
  outcome?(alert: Alert): Promise<void>;
}

/** What an alert is about, as reports and `--json` name it: `task load`, `task fetch[3]`, `flow orders`. */
export function alertSubject(alert: Alert): string {
  return alert.kind === "flow" ? `flow ${alert.flow}` : `task ${alert.task}`;
}

/**
 * Tells the run's `onAlert` listener (`flow.run({ onAlert })`) that `channel` delivered `alert`.
 * Call it only after the send succeeded; outside a run, or with no listener, it does nothing.
 */
export function reportAlertSent(channel: string, alert: Alert): void {
  const onAlert = getRunContext()?.onAlert;
  if (onAlert) onAlert({ channel, subject: alertSubject(alert), state: alert.newState, at: alert.at });
}
