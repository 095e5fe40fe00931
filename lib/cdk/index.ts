/** `flowhooks/cdk`: constructs that deploy flows to AWS. */
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
export { BundlingError } from "./bundle";
export { CompileError } from "../compile/errors";
