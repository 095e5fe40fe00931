/**
 * A notifier is a state handler that sends alerts: filter by state → build the alert → channel.send.
 * Every notifier (Slack, SNS, console, and any channel a user writes) goes through `channelNotifier`,
 * so filtering and alert building are decided once.
 */
import { isFlow } from "../core/flow";
import { SecretNotConfiguredError } from "../core/errors";
import { PREFLIGHT, withPreflight, type PreflightCheck, type StateHandler } from "../core/handlers";
import { isTask } from "../core/task";
import { STATE_CLASSES, State } from "../core/states";
import { reportAlertSent, type AlertChannel } from "./alert";
import { alertFromTransition } from "./build";

/** A state class such as `Failed` (or a user's subclass of one). */
export type StateClassLike = abstract new (...args: any[]) => State;

export interface StateFilterOptions {
  /**
   * Report only states that are an instance of one of these classes (`[Failed]` includes `TimedOut`
   * and `TriggerFailed`). Replaces the default.
   * @default - every finished state (Success, Failed, Skipped, Cancelled, …) and Retrying
   */
  onlyStates?: readonly StateClassLike[];
  /**
   * Never report states that are an instance of one of these classes (applied after `onlyStates`).
   * @default - none
   */
  ignoreStates?: readonly StateClassLike[];
}

export interface ChannelNotifierOptions extends StateFilterOptions {
  /** The time stamped on alerts (for tests). @default () => new Date() */
  now?: () => Date;
}

/** For notifiers that read their destination from a secret (Slack's webhook, SNS's `topicArnSecret`). */
export interface SecretFallbackOptions {
  /**
   * Who handles this notifier's alerts where its secret is not configured: locally no
   * `FLOWHOOKS_SECRET_<NAME>` variable, deployed (and emulated) no `secrets` entry on the construct.
   * `consoleNotifier()` prints them (deployed: to the function's log). Decided at each alert where
   * the secret is read (`secrets.get`), so the same flow module posts to the channel wherever the
   * secret is given, locally, emulated and deployed. It receives the transitions this notifier
   * selects (its own `onlyStates` apply as well). A secret that is configured but unreadable or
   * invalid still fails, as without this option.
   * @default - none: a missing secret fails the run's check before it starts (and the alert)
   */
  whenMissing?: StateHandler;
}

function isStateClass(value: unknown): value is StateClassLike {
  return typeof value === "function" && (value === State || value.prototype instanceof State);
}

function checkClasses(value: unknown, option: string, owner: string): StateClassLike[] | undefined {
  if (value === undefined) return undefined;
  const valid = Object.keys(STATE_CLASSES).join(", ");
  if (!Array.isArray(value)) {
    throw new TypeError(`${owner}: \`${option}\` must be an array of state classes, e.g. ${option}: [Failed, Retrying] (one of ${valid}).`);
  }
  value.forEach((cls, i) => {
    if (!isStateClass(cls)) {
      const shown = typeof cls === "function" ? `the function ${cls.name || "(anonymous)"}` : JSON.stringify(cls) ?? String(cls);
      throw new TypeError(
        `${owner}: ${option}[${i}] is ${shown}, not a state class; use classes imported from "flowhooks": ${valid}.`,
      );
    }
  });
  return [...value];
}

/**
 * Refuses what is not an options object. Prefect users write `state_handlers=[slack_notifier]`;
 * here the notifier is a factory, so the handler chain would call it with a task instead of options.
 */
export function checkNotifierOptions(options: unknown, name: string): void {
  if (isTask(options) || isFlow(options)) {
    throw new TypeError(
      `${name} is a factory, not a state handler: write stateHandlers: [${name}()] or ${name}({ onlyStates: [Failed] }).`,
    );
  }
  if (options !== undefined && (options === null || typeof options !== "object" || Array.isArray(options))) {
    throw new TypeError(`${name}(options) takes an options object such as { onlyStates: [Failed, Retrying] }.`);
  }
}

/** Validates the filter options now and returns the predicate a notifier applies to each new state. */
export function stateFilter(options: StateFilterOptions, owner: string): (state: State) => boolean {
  const only = checkClasses(options.onlyStates, "onlyStates", owner);
  const ignore = checkClasses(options.ignoreStates, "ignoreStates", owner) ?? [];
  return (state) => {
    const wanted = only ? only.some((cls) => state instanceof cls) : state.isFinished() || state.isRetrying();
    return wanted && !ignore.some((cls) => state instanceof cls);
  };
}

/**
 * A state handler that sends an alert through `channel` for each state the filter lets through.
 * A failed delivery throws, so the task or flow fails as with any throwing state handler.
 */
export function channelNotifier(
  channel: AlertChannel,
  options: ChannelNotifierOptions & SecretFallbackOptions = {},
  name = `${channel.name}Notifier`,
): StateHandler {
  if (!channel || typeof channel.send !== "function") {
    throw new TypeError(`channelNotifier(channel): channel must be an AlertChannel ({ name, send(alert) }).`);
  }
  const { whenMissing } = options;
  if (whenMissing !== undefined) checkFallback(whenMissing, channel, name);
  const wanted = stateFilter(options, name);
  const now = options.now ?? (() => new Date());
  const handler: StateHandler = async (obj, oldState, newState) => {
    if (!wanted(newState)) return undefined;
    const alert = alertFromTransition(obj, oldState, newState, { at: now() });
    try {
      await channel.send(alert);
    } catch (error) {
      // Only "no such secret here" falls back; a configured secret that fails still fails the alert.
      if (whenMissing !== undefined && error instanceof SecretNotConfiguredError) return whenMissing(obj, oldState, newState);
      throw error;
    }
    // Only once the channel accepted it: a report lists what went out, not what was tried.
    reportAlertSent(channel.name, alert);
    return undefined;
  };
  // The handler chain names a failing handler by its function name.
  Object.defineProperty(handler, "name", { value: name });
  const info: NotifierInfo = {
    name,
    channel: channel.name,
    secret: channel.secret,
    wants: wanted,
    ...(channel.destination !== undefined ? { destination: channel.destination } : {}),
    ...(whenMissing ? { fallback: fallbackName(whenMissing) } : {}),
  };
  Object.defineProperty(handler, NOTIFIER, { value: info });
  const check = preflightOf(channel, name, whenMissing);
  if (check) withPreflight(handler, check);
  return handler;
}

function checkFallback(whenMissing: unknown, channel: AlertChannel, name: string): void {
  if (typeof whenMissing !== "function") {
    throw new TypeError(`${name}: \`whenMissing\` must be a state handler such as consoleNotifier(), got ${typeof whenMissing}.`);
  }
  if (channel.secret === undefined) {
    throw new TypeError(
      `${name}: \`whenMissing\` applies when the destination is read from a secret, but this one is given in code; ` +
        "leave out the destination to read it from the secret, or leave out `whenMissing`.",
    );
  }
}

function fallbackName(whenMissing: StateHandler): string {
  return notifierInfo(whenMissing)?.name ?? (whenMissing.name || "a state handler");
}

/** The check `flow.run()` makes first: the channel's, or with `whenMissing`, the fallback's where the secret is missing. */
function preflightOf(channel: AlertChannel, name: string, whenMissing: StateHandler | undefined): PreflightCheck | undefined {
  if (!channel.preflight) return undefined;
  const preflight = channel.preflight.bind(channel);
  // Notifiers reading one secret share one check; a channel without a secret is checked on its own.
  const key = channel.secret !== undefined ? `${channel.name}:secret:${channel.secret}` : `${name}:${nextCheckId++}`;
  if (whenMissing === undefined) return { key, check: preflight };
  const fallbackCheck = (whenMissing as { [PREFLIGHT]?: PreflightCheck })[PREFLIGHT];
  return {
    key: `${key}:else:${fallbackCheck?.key ?? "none"}`,
    check: () =>
      preflight().catch((error: unknown) => {
        if (error instanceof SecretNotConfiguredError) return fallbackCheck?.check();
        throw error;
      }),
  };
}

let nextCheckId = 0;

/** What a notifier built by `channelNotifier` says about itself (the construct refuses duplicate alerts with it). */
export interface NotifierInfo {
  /** The notifier's name ("slackNotifier"). */
  readonly name: string;
  /** The channel's name ("slack"). */
  readonly channel: string;
  /** The secret the channel reads its destination from, if any. */
  readonly secret?: string;
  /** The state handler that takes its alerts where its secret is not configured (`whenMissing`). @default - none */
  readonly fallback?: string;
  /** Where the channel delivers, when the code fixes it (`AlertChannel.destination`). @default - not known */
  readonly destination?: string;
  /** Whether the notifier alerts on this new state. */
  wants(state: State): boolean;
}

const NOTIFIER = Symbol.for("flowhooks.notifier");

/** The notifier behind a state handler, when `channelNotifier` built it (duck-typed across module copies). */
export function notifierInfo(handler: unknown): NotifierInfo | undefined {
  return typeof handler === "function" ? (handler as { [NOTIFIER]?: NotifierInfo })[NOTIFIER] : undefined;
}
