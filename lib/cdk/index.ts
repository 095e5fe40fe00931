/**
 * `flowhooks/cdk` (lib/cdk): the constructs that deploy flows to AWS. Reading order for a newcomer:
 *  1. flow-state-machine.ts: `FlowStateMachine`, a short constructor delegating to named steps
 *     (compile, results bucket, task functions, state machine, grants); lib/compile decides the definition.
 *  2. task-functions.ts: each task function's props and role (`taskDefaults` → `tasks[name]` → the task).
 *  3. bundle.ts, bundling-options.ts, entry-exports.ts: one esbuild bundle per flow, the `bundling`
 *     prop, and the synth-time check that `entry` exports the flow.
 *  4. flow-alerts.ts, flow-event-bus.ts: the handler Lambda and what feeds it (rules, queue, claims
 *     table, reconciler, destinations); the stack's event bus and its policy.
 *  5. assembly-metadata.ts: what the construct leaves in the cloud assembly for `flowhooks emulate`.
 */
export {
  FlowStateMachine,
  MAX_STACK_RESOURCES,
  countStackResources,
  type FlowStateMachineProps,
  type FlowStateMachineLoggingProps,
  type TaskFunctionDefaults,
  type TaskFunctionOptions,
  type TaskOptions,
  type FlowBundlingOptions,
  type FlowSchedule,
} from "./flow-state-machine";
export { FlowAlerts, type FlowAlertsProps, type SlackAppProps, type AlertableState, type OnAlertOptions } from "./flow-alerts";
export { SlackApprovals, type SlackApprovalsProps } from "./slack-approvals";
export { BundlingError } from "./bundle";
export { CompileError } from "../compile/errors";
