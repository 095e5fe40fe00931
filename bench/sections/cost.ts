/**
 * Section 5: what a run costs in Step Functions. Standard workflows bill per state transition, so
 * we run the compiled definitions (as FlowStateMachine compiles them: split into child state
 * machines when one would be too large, the final report state included) in aws-local-stepfunctions
 * with every task succeeding, and count the states entered in the parent and in every child
 * execution it starts (`startExecution.sync:2` runs the child here as Step Functions would).
 */
import { StateMachine } from "aws-local-stepfunctions";
import { compileFlow, successPathTransitions, type CompiledFlow } from "../../lib/compile/index";
import { finalReportState } from "../../lib/cdk/flow-state-machine";
import { prepareDefinition } from "../../lib/emulate/definition";
import { START_EXECUTION_SYNC } from "../../lib/emulate/local-engine";
import { toTaskOutput } from "../../lambdas/task/payload";
import { Success } from "../../lib/core/states";
import { shapedFlow, type FlowShape } from "../shapes";

export interface CostFigure {
  shape: FlowShape;
  tasks: number;
  /** `StateEntered` events of one successful execution: the parent's and every child execution's. */
  transitions: number;
  /** Of which in child executions (a split flow's parts). */
  childTransitions: number;
  /** Child executions started (0 unless the flow was split). */
  childExecutions: number;
  /** What lib/compile's static count says, summed over the parent and the parts, as a cross-check. */
  staticTransitions: number;
  transitionsPerTask: number;
  runMs: number;
  /** Size of the execution's final JSON: Step Functions refuses payloads above 256 KiB. */
  finalPayloadBytes: number;
}

export const localArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:bench-${name}`;
const partArn = (k: number) => `arn:aws:states:us-east-1:123456789012:stateMachine:bench-part-${k}`;
const CONTEXT = { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:run" } };

/** Every task state answers as a successful task Lambda would (`$.Payload` is the task's output). */
export function successHandlers(taskNames: Iterable<string>): Record<string, () => { Payload: unknown }> {
  const out: Record<string, () => { Payload: unknown }> = {};
  for (const name of taskNames) {
    const payload = toTaskOutput(name, new Success("Task run succeeded.", { result: null }));
    out[name] = () => ({ Payload: payload });
  }
  return out;
}

/** The flow compiled as FlowStateMachine compiles it (split when too large, the final report put on a bus). */
export function compileAsDeployed(shape: FlowShape, n: number, partDefinitionChars?: number): CompiledFlow {
  return compileFlow(shapedFlow(shape, n), {
    taskFunctionArn: localArn,
    childStateMachineArn: partArn,
    reportFinalState: (outcome) => finalReportState(`bench-${shape}-${n}`, outcome, "bench-bus"),
    partDefinitionChars,
  });
}

/** One machine per definition. */
const machines = new WeakMap<object, StateMachine>();

/** Runs one definition to its end, counting its StateEntered events; `handlers` answer its Task states. */
async function runCounting(definition: object, input: unknown, handlers: Record<string, (input: any) => unknown>): Promise<{ output: unknown; entered: number }> {
  let machine = machines.get(definition);
  if (!machine) {
    // The emulator's copy: aws-local-stepfunctions cannot resolve the payload's $$.State.RetryCount.
    const prepared = prepareDefinition(JSON.stringify(definition)).definition;
    // Not validated (asl-validator compiles its schemas in every constructor, ~0.2-1 s here): FlowStateMachine validates what it deploys.
    machine = new StateMachine(prepared as never, { validationOptions: { noValidate: true } });
    machines.set(definition, machine);
  }
  const execution = machine.run(input as never, { overrides: { taskResourceLocalHandlers: handlers as never }, context: CONTEXT as never });
  let entered = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs) if (event.type === "StateEntered") entered++;
  })();
  const output = await execution.result;
  await counting;
  return { output, entered };
}

export async function countTransitions(shape: FlowShape, n: number, partDefinitionChars?: number): Promise<CostFigure> {
  const compiled = compileAsDeployed(shape, n, partDefinitionChars);
  const tasks = successHandlers(compiled.tasks.keys());
  let childTransitions = 0;
  let childExecutions = 0;
  const handlers: Record<string, (input: any) => unknown> = { ...tasks };
  const parts = new Map(compiled.parts.map((p, k) => [partArn(k), p.definition]));
  const taskStates = (definition: { States: Record<string, { Type: string; Resource?: string }> }) => Object.entries(definition.States).filter(([, s]) => s.Type === "Task");
  for (const [name, state] of [compiled.definition, ...parts.values()].flatMap((d) => taskStates(d as never))) {
    if (handlers[name]) continue;
    if (state.Resource === START_EXECUTION_SYNC) {
      // A part: the child execution runs to its end; its transitions are billed like the parent's.
      handlers[name] = async (input: { StateMachineArn: string; Input: unknown }) => {
        const child = await runCounting(parts.get(input.StateMachineArn)!, input.Input, tasks);
        childTransitions += child.entered;
        childExecutions++;
        return { ExecutionArn: `${input.StateMachineArn}:child-${childExecutions}`, Output: child.output, Status: "SUCCEEDED" };
      };
    } else handlers[name] = () => ({ Entries: [{ EventId: "bench" }], FailedEntryCount: 0 }); // the final report's PutEvents
  }
  const start = process.hrtime.bigint();
  const main = await runCounting(compiled.definition, {}, handlers);
  const runMs = Number(process.hrtime.bigint() - start) / 1e6;
  const transitions = main.entered + childTransitions;
  return {
    shape,
    tasks: n,
    transitions,
    childTransitions,
    childExecutions,
    staticTransitions: [compiled.definition, ...parts.values()].reduce((sum, d) => sum + successPathTransitions(d as never), 0),
    transitionsPerTask: transitions / n,
    runMs,
    finalPayloadBytes: Buffer.byteLength(JSON.stringify(main.output)),
  };
}
