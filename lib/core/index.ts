export * from "./states";
export * as signals from "./signals";
export { Signal } from "./signals";
export * from "./errors";
export { UnserializableResultError } from "./serialize";
export { callbackFactory, runStateHandlers, type StateHandler, type ChainOutcome } from "./handlers";
export { retryDelaySeconds, type RetryPolicy, type JitterStrategy } from "./retry";
export { triggers, allSuccessful, allFailed, anySuccessful, anyFailed, allFinished, alwaysRun, type Trigger, type TriggerName } from "./triggers";
export { Task, task, parameter, unmapped, flatten, Unmapped, Flattened, TaskRef, ParameterRef, isTask, type TaskOptions, type InputSpec, type MapArgs } from "./task";
export { Flow, isFlow, type FlowOptions, type FlowGraph, type FlowNode } from "./flow";
export {
  runTaskAttempt,
  runFlow,
  flowFinalState,
  retryingState,
  resolveInputs,
  type RunOptions,
  type TransitionEvent,
  type TransitionListener,
  type TaskAttemptRequest,
} from "./runner";
export { withRunContext, getRunContext, type RunContext } from "./context";
export { systemClock, virtualClock, type Clock, type VirtualClock } from "./clock";
