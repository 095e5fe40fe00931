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
} from "./flow-state-machine";
export { FlowAlerts, type FlowAlertsProps, type SlackAppProps, type AlertableState, type OnAlertOptions } from "./flow-alerts";
export { SlackApprovals, type SlackApprovalsProps } from "./slack-approvals";
export { BundlingError } from "./bundle";
export { CompileError } from "../compile/errors";
