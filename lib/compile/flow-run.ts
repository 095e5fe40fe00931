/**
 * A `flowRun(other)` task's states, always in a `Parallel` branch (like a mapped task's) so its
 * working data stays in the branch (`$.flowhooksRun`): the task's own function runs the attempt up to
 * `Running` (`t`), `t.Run` starts the other flow's state machine and waits for it
 * (`states:startExecution.sync:2`), and the function ends the attempt with the sub-flow's final
 * state (`t.Collect`). A `Retrying` attempt goes back to `t` through `t.Wait` (the wait costs no
 * compute, as a `Retry` field's would), carrying the next attempt's number.
 */
import { FLOW_RUN_FIELDS } from "../../lambdas/task/payload";
import { flowRunStateNames } from "../aws/state-names";
// The state names are the contract with the history reader (lib/aws); exported here as before.
export { flowRunStateNames };
/** One ASL state, as JSON (compile.ts's `AslState`; not imported from there, which imports this module). */
type AslState = Record<string, unknown>;

/** Where a flowRun task's branch keeps its step's output (`FlowRunStepOutput`) and what `t.Run` left. */
export const FLOW_RUN_PATH = "$.flowhooksRun";

import { LAMBDA_INVOKE, START_EXECUTION_SYNC } from "./resources";
export { START_EXECUTION_SYNC };

/** StartExecution API errors worth retrying (throttling, a service error), as the split flow's part states retry them. */
export const START_EXECUTION_TRANSIENT_ERRORS = ["StepFunctions.ExecutionLimitExceeded", "StepFunctions.SdkClientException", "StepFunctions.AWSStepFunctionsException"];


/** What the compiler hands over for one flowRun task. */
export interface FlowRunStatesInput {
  readonly name: string;
  /** The task's key in the execution JSON. */
  readonly stateKey: string;
  readonly functionArn: string;
  /** The ARN of the state machine that runs the other flow (a placeholder or token). */
  readonly stateMachineArn: string;
  /** The `Payload` fields every invocation of the task carries (task, parameters, upstream, context). */
  readonly payload: Record<string, unknown>;
  /** The retrier of transient Lambda service errors. */
  readonly transient: AslState;
  /** The task's infrastructure-failure record (`t.Infra`), ending the branch. */
  readonly infra: AslState;
}

/** The branch's states (see `flowRunStateNames`). */
export function flowRunStates(input: FlowRunStatesInput): Record<string, AslState> {
  const names = flowRunStateNames(input.name);
  const catchAll = { ErrorEquals: ["States.ALL"], Next: names.infra };
  const invoke = (mode: "flowRunStart" | "flowRunCollect", extra: Record<string, unknown>, next: string): AslState => ({
    Type: "Task",
    Resource: LAMBDA_INVOKE,
    Parameters: { FunctionName: input.functionArn, Payload: { ...input.payload, mode, "attempt.$": `${FLOW_RUN_PATH}.attempt`, ...extra } },
    // Field by field (the function returns every field, null when unused), as a mapped task's prepare step.
    ResultSelector: Object.fromEntries(FLOW_RUN_FIELDS.map((f) => [`${f}.$`, `$.Payload.${f}`])),
    ResultPath: FLOW_RUN_PATH,
    Retry: [input.transient],
    Catch: [catchAll],
    Next: next,
  });
  return {
    [names.first]: { Type: "Pass", Result: { attempt: 1 }, ResultPath: FLOW_RUN_PATH, Next: names.start },
    [names.start]: invoke("flowRunStart", {}, names.route),
    [names.route]: {
      Type: "Choice",
      Choices: [
        // `Not IsNull: true`, not `IsNull: false`: aws-local-stepfunctions 3.0.0 treats `IsNull: false` as never matching.
        { Not: { Variable: `${FLOW_RUN_PATH}.output`, IsNull: true }, Next: names.done },
        { Not: { Variable: `${FLOW_RUN_PATH}.retry`, IsNull: true }, Next: names.wait },
      ],
      Default: names.run,
    },
    [names.run]: {
      Type: "Task",
      Resource: START_EXECUTION_SYNC,
      Parameters: { StateMachineArn: input.stateMachineArn, "Input.$": `${FLOW_RUN_PATH}.input` },
      ResultSelector: { "ExecutionArn.$": "$.ExecutionArn", "Output.$": "$.Output", "Status.$": "$.Status" },
      ResultPath: `${FLOW_RUN_PATH}.child`,
      Retry: [{ ErrorEquals: START_EXECUTION_TRANSIENT_ERRORS, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 }],
      // The sub-flow did not succeed (or could not start): the collect step turns the error into the task's state.
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: `${FLOW_RUN_PATH}.error`, Next: names.collect }],
      Next: names.collect,
    },
    [names.collect]: invoke("flowRunCollect", { "run.$": FLOW_RUN_PATH }, names.ended),
    // After the sub-flow: the attempt ended (`output`), or it is retried (`retry`).
    [names.ended]: {
      Type: "Choice",
      Choices: [{ Not: { Variable: `${FLOW_RUN_PATH}.retry`, IsNull: true }, Next: names.wait }],
      Default: names.done,
    },
    [names.wait]: { Type: "Wait", SecondsPath: `${FLOW_RUN_PATH}.retry.waitSeconds`, Next: names.next },
    [names.next]: { Type: "Pass", Parameters: { "attempt.$": `${FLOW_RUN_PATH}.retry.attempt` }, ResultPath: FLOW_RUN_PATH, Next: names.start },
    [names.done]: { Type: "Pass", Parameters: { [`${input.stateKey}.$`]: `${FLOW_RUN_PATH}.output` }, End: true },
    [names.infra]: input.infra,
  };
}
