/** `flowhooks/cdk`: constructs that deploy flows to AWS. */
export {
  FlowStateMachine,
  MAX_STACK_RESOURCES,
  countStackResources,
  type FlowStateMachineProps,
  type FlowAlertsProps,
  type FlowStateMachineLoggingProps,
  type TaskFunctionDefaults,
} from "./flow-state-machine";
export { BundlingError } from "./bundle";
export { CompileError } from "../compile/errors";
