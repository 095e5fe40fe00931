/**
 * A state change and who hears of it: the handler chain runs (handlers.ts), then the run's
 * `onTransition` listener is told what the object ended in. The attempt engine (attempt.ts), the
 * local runner's flow and mapped-parent transitions (runner.ts) and the task Lambda all report
 * through `tell`, so an event looks the same wherever the change happened.
 */
import type { Clock } from "./clock";
import { getRunContext } from "./context";
import type { RunnableFlow } from "./graph";
import { isThenable, runStateHandlers, type ChainOutcome, type StateHandler } from "./handlers";
import type { State } from "./states";
import type { Task } from "./task";

/** One state change of a task or a flow, after its handler chain ran. */
export interface TransitionEvent {
  kind: "task" | "flow";
  /** The task's or the flow's name. */
  name: string;
  object: Task<any, any> | RunnableFlow;
  oldState: State;
  newState: State;
  /** The task's attempt (1-based); absent for flows. */
  attempt?: number;
  /** A mapped task's child: its index (the child is named `name[mapIndex]`); absent otherwise. */
  mapIndex?: number;
  at: Date;
}

export type TransitionListener = (event: TransitionEvent) => void;

export interface TransitionContext {
  clock: Clock;
  onTransition?: TransitionListener;
}

export type TransitionEventContext = TransitionContext & { kind: "task" | "flow"; attempt?: number };

/**
 * A state change: runs the handler chain, then tells the listener what the object ended in.
 * Synchronous while every handler is (see `runStateHandlers`); `await` the result either way.
 */
export function transition<T extends Task<any, any> | RunnableFlow>(
  obj: T,
  handlers: readonly StateHandler<T>[],
  oldState: State,
  newState: State,
  ctx: TransitionEventContext,
): ChainOutcome | Promise<ChainOutcome> {
  const outcome = runStateHandlers(obj, handlers, oldState, newState);
  if (!ctx.onTransition) return outcome;
  if (isThenable(outcome)) return outcome.then((o) => tell(obj, oldState, o, ctx));
  return tell(obj, oldState, outcome, ctx);
}

/**
 * Tells `ctx.onTransition` (if any) that `obj` went from `oldState` to the chain's outcome, at `at`:
 * the clock read the outcome was made from, when the caller made it from one (a `Retrying`, whose
 * start time is that read plus the delay), else now.
 */
export function tell(obj: Task<any, any> | RunnableFlow, oldState: State, outcome: ChainOutcome, ctx: TransitionEventContext, at?: Date): ChainOutcome {
  if (!ctx.onTransition) return outcome;
  const event: TransitionEvent = {
    kind: ctx.kind,
    name: obj.name,
    object: obj,
    oldState,
    newState: outcome.state,
    attempt: ctx.attempt,
    at: at ?? ctx.clock.now(),
  };
  if (ctx.kind === "task") {
    const mapIndex = getRunContext()?.mapIndex;
    if (mapIndex !== undefined) event.mapIndex = mapIndex;
  }
  ctx.onTransition(event);
  return outcome;
}
