/**
 * lib/core: the pure engine. Reading order for a newcomer (imports point down this list):
 *  1. states.ts, signals.ts, errors.ts: what a task or flow can be in, and how code says so.
 *  2. handlers.ts: the state-handler chain, the one place state handlers are called.
 *  3. retry.ts, triggers.ts, clock.ts, context.ts: the policies and what a run carries.
 *  4. task.ts, graph.ts, flow.ts: defining tasks and flows; the validated graph the engine reads.
 *  5. map.ts: what mapping decides (children, their inputs, the parent's `Mapped`);
 *     control.ts: what `caseOf`/`merge`/`ifElse`/`flowRun` record in the graph.
 *  6. transition.ts: a state change through the chain, told to the run's listener.
 *  7. attempt.ts: the attempt as Prefect 1's TaskRunner steps (`TaskRun.steps`), run by one driver;
 *     the local runner and the task Lambda both run it.
 *  8. runner.ts: `flow.run()`, scheduling tasks and mapped children as their upstreams finish.
 * docs/design-notes.md has the same map with each file's imports.
 */
export * from "./states";
export * as signals from "./signals";
export { Signal } from "./signals";
export * from "./errors";
export { UnserializableResultError } from "./serialize";
export { callbackFactory, runStateHandlers, type StateHandler, type ChainOutcome } from "./handlers";
export { retryDelaySeconds, type RetryPolicy, type JitterStrategy } from "./retry";
export { triggers, allSuccessful, allFailed, anySuccessful, anyFailed, allFinished, alwaysRun, manualOnly, type Trigger, type TriggerName } from "./triggers";
export { caseOf, merge, ifElse, flowRun, type FlowRunOptions } from "./control";
export { Task, task, parameter, unmapped, flatten, Unmapped, Flattened, TaskRef, ParameterRef, isTask, type TaskOptions, type InputSpec, type MapArgs } from "./task";
export { Flow, isFlow, type FlowOptions, type FlowGraph, type FlowNode } from "./flow";
export {
  runTaskAttempt,
  runFlow,
  flowFinalState,
  retryingState,
  resolveInputs,
  type RunOptions,
  type ApproveFunction,
  type TransitionEvent,
  type TransitionListener,
  type TaskAttemptRequest,
} from "./runner";
export { withRunContext, getRunContext, type RunContext, type AlertEvent, type AlertListener } from "./context";
export { systemClock, virtualClock, type Clock, type VirtualClock } from "./clock";
