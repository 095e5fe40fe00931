import type { State, StateHandler } from "../../lib/index";

/** A state handler that records `old -> new` lines, plus the list it writes to. */
export function recorder(label?: (obj: unknown) => string): { handler: StateHandler; calls: string[]; states: State[] } {
  const calls: string[] = [];
  const states: State[] = [];
  const handler: StateHandler = function record(obj, oldState, newState) {
    calls.push(`${label ? label(obj) + ": " : ""}${oldState} -> ${newState}`);
    states.push(newState);
  };
  return { handler, calls, states };
}
