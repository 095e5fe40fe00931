/**
 * The state-handler chain. This is the only place that calls state handlers (Prefect's
 * `handle_state_change`): the local runner, the task Lambda and the handler Lambda all go through it.
 */
import { isPrintable, safeInstanceOf, safeString } from "./safe-string";
import { Signal } from "./signals";
import { Failed, State } from "./states";

/** A function called on every state change of the object it is attached to. */
export type StateHandler<T = any> = (
  obj: T,
  oldState: State,
  newState: State,
) => State | void | undefined | Promise<State | void | undefined>;

/** What a transition ended in once the chain ran. */
export interface ChainOutcome {
  /** The state the object is now in. */
  state: State;
  /**
   * True when a state handler threw a non-signal error: the object ends in this `Failed` state at once,
   * nothing further runs and it is not passed through the handlers again.
   */
  final: boolean;
}

function handlerName(handler: StateHandler, index: number): string {
  return handler.name ? `\`${handler.name}\`` : `#${index + 1} (anonymous)`;
}

/** True for anything `await` would wait on: a handler's Promise or any other thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Runs `handlers` in order on the transition `oldState` → `newState`. Each handler receives the
 * original old state and the state returned by the one before; `undefined` keeps it.
 *
 * Returns the outcome directly while every handler returns synchronously, and a Promise from the
 * first handler that returns a thenable on (that handler and every later one are still awaited in
 * order). Callers `await` the result either way; the synchronous path saves a microtask hop per
 * handler, which is most of the runner's cost for quick tasks.
 */
export function runStateHandlers<T>(
  obj: T,
  handlers: readonly StateHandler<T>[],
  oldState: State,
  newState: State,
): ChainOutcome | Promise<ChainOutcome> {
  const outcome = runChain(obj, handlers, oldState, newState);
  if (!(outcome instanceof LastHandlerPending)) return outcome;
  // The last handler (typically an async notifier) needs no async frame: one reaction will do.
  return Promise.resolve(outcome.returned).then((value) => outcome.settle(value), chainError);
}

/**
 * The last handler of a chain returned a thenable (the common case: an async notifier last).
 * The runner awaits `returned` itself and calls `settle` (or `chainError` if it rejects), which
 * saves a promise and a reaction per transition over `runStateHandlers`'s `.then`.
 * @internal
 */
export class LastHandlerPending {
  constructor(
    readonly returned: PromiseLike<unknown>,
    private readonly before: State,
    private readonly handler: StateHandler,
    private readonly index: number,
  ) {}

  settle(value: unknown): ChainOutcome {
    return lastOutcome(value, this.before, this.handler, this.index);
  }
}

/** `runStateHandlers`, except that a thenable from the last handler comes back as a `LastHandlerPending`. @internal */
export function runChain<T>(
  obj: T,
  handlers: readonly StateHandler<T>[],
  oldState: State,
  newState: State,
): ChainOutcome | Promise<ChainOutcome> | LastHandlerPending {
  let state = newState;
  for (let index = 0; index < handlers.length; index++) {
    const handler = handlers[index]!;
    try {
      const returned = handler(obj, oldState, state);
      if (isThenable(returned)) {
        if (index === handlers.length - 1) return new LastHandlerPending(returned, state, handler as StateHandler, index);
        return continueChain(obj, handlers, oldState, state, index, returned);
      }
      state = nextState(returned, state, handler, index);
    } catch (error) {
      return chainError(error);
    }
  }
  return { state, final: false };
}

/** The rest of the chain once handler `index` returned `pending`: every later handler awaited in turn. */
async function continueChain<T>(
  obj: T,
  handlers: readonly StateHandler<T>[],
  oldState: State,
  current: State,
  index: number,
  pending: PromiseLike<unknown>,
): Promise<ChainOutcome> {
  let state = current;
  try {
    state = nextState(await pending, state, handlers[index]!, index);
    for (let i = index + 1; i < handlers.length; i++) {
      const handler = handlers[i]!;
      let returned: unknown = handler(obj, oldState, state);
      if (isThenable(returned)) returned = await returned;
      state = nextState(returned, state, handler, i);
    }
  } catch (error) {
    return chainError(error);
  }
  return { state, final: false };
}

/** The state after a handler returned `returned`; throws the TypeError that names a handler returning a non-State. */
function nextState(returned: unknown, state: State, handler: StateHandler, index: number): State {
  if (returned === undefined || returned === null) return state;
  if (!(returned instanceof State)) {
    throw new TypeError(
      `State handler ${handlerName(handler, index)} returned ${describe(returned)}; ` +
        `a state handler must return a State or undefined.`,
    );
  }
  return returned;
}

function lastOutcome(returned: unknown, state: State, handler: StateHandler, index: number): ChainOutcome {
  try {
    return { state: nextState(returned, state, handler, index), final: false };
  } catch (error) {
    return chainError(error);
  }
}

/** @internal */
export function chainError(error: unknown): ChainOutcome {
  if (safeInstanceOf(error, Signal)) return { state: error.toState(), final: false };
  const text = safeString(error);
  // A throw that cannot be printed (or inspected) is not kept as the result: every later step
  // (serializing the state, the log line, the alert) would throw on it and the ending would never be alerted.
  const keep = isPrintable(error);
  return {
    state: new Failed(`Unexpected error while calling state handlers: ${text}`, { result: keep ? error : new Error(text) }),
    final: true,
  };
}

function describe(value: unknown): string {
  if (typeof value === "object") {
    try {
      return `an object (${Object.prototype.toString.call(value)})`;
    } catch {
      return `an object (${safeString(value)})`;
    }
  }
  return `${typeof value} ${safeString(value)}`;
}

/**
 * Builds a state handler from an action and a check: `fn(obj, newState)` is called when
 * `check(newState)` is exactly `true`. The handler never changes the state.
 */
export function callbackFactory<T = any>(
  fn: (obj: T, state: State) => void | Promise<void>,
  check: (state: State) => boolean,
): StateHandler<T> {
  if (typeof fn !== "function" || typeof check !== "function") {
    throw new TypeError("callbackFactory(fn, check) takes two functions: the action and the check on the new state.");
  }
  // Synchronous unless `fn` returns a thenable, so a check that does not match costs no microtask hop.
  const handler: StateHandler<T> = (obj, _oldState, newState) => {
    if (check(newState) !== true) return newState;
    const done = fn(obj, newState);
    return isThenable(done) ? Promise.resolve(done).then(() => newState) : newState;
  };
  Object.defineProperty(handler, "name", { value: fn.name || "callback" });
  return handler;
}

/** Validates a `stateHandlers` option at definition time, so a typo fails before anything runs. */
export function validateStateHandlers(handlers: unknown, owner: string): StateHandler[] {
  if (handlers === undefined) return [];
  if (!Array.isArray(handlers)) {
    throw new TypeError(`${owner}: \`stateHandlers\` must be an array of functions, e.g. stateHandlers: [myHandler].`);
  }
  handlers.forEach((h, i) => {
    if (typeof h !== "function") {
      throw new TypeError(
        `${owner}: stateHandlers[${i}] is ${h === null ? "null" : typeof h}, not a function; ` +
          `a state handler is (obj, oldState, newState) => State | undefined.`,
      );
    }
  });
  return [...handlers];
}

/** `onFailure(obj, state)` as a state handler that fires when the new state is failed. */
export function onFailureHandler<T>(
  onFailure: ((obj: T, state: State) => void | Promise<void>) | undefined,
  owner: string,
): StateHandler<T>[] {
  if (onFailure === undefined) return [];
  if (typeof onFailure !== "function") {
    throw new TypeError(`${owner}: \`onFailure\` must be a function (obj, state) => void.`);
  }
  return [callbackFactory(onFailure, (s) => s.isFailed())];
}

/**
 * What a state handler needs from its surroundings before a run starts (a notifier: its webhook
 * secret), set as `handler[PREFLIGHT]`. The local runner checks every handler's before any task
 * runs, so a missing secret is one error up front instead of a failed first attempt.
 */
export const PREFLIGHT = Symbol.for("flowhooks.preflight");

export interface PreflightCheck {
  /** Checks with the same key are the same check (several notifiers reading one secret), run once. */
  readonly key: string;
  /** Resolves when the handler can work; rejects with an error that names the fix. */
  check(): Promise<void>;
}

/** Attaches `check` to `handler` (see `PREFLIGHT`). */
export function withPreflight<H extends StateHandler>(handler: H, check: PreflightCheck): H {
  Object.defineProperty(handler, PREFLIGHT, { value: check });
  return handler;
}

/** The distinct preflight checks of `handlers`, in order. */
export function preflightChecks(handlers: Iterable<StateHandler>): PreflightCheck[] {
  const byKey = new Map<string, PreflightCheck>();
  for (const h of handlers) {
    const check = (h as { [PREFLIGHT]?: PreflightCheck })[PREFLIGHT];
    if (check && !byKey.has(check.key)) byKey.set(check.key, check);
  }
  return [...byKey.values()];
}
