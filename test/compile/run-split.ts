/**
 * Runs a compiled flow as FlowStateMachine deploys it (split into child state machines when large,
 * the final report included) in aws-local-stepfunctions, every task answering with `outputOf(name)`
 * as the task Lambda would, and measures every state's input and output in the parent and in each
 * child execution: the sizes Step Functions holds to 256 KiB.
 */
import { StateMachine } from "aws-local-stepfunctions";
import { compileFlow, type CompiledFlow } from "../../lib/compile/index";
import { finalReportState } from "../../lib/cdk/flow-state-machine";
import { Success } from "../../lib/core/states";
import { toTaskOutput } from "../../lambdas/task/payload";
import { shapedFlow, type FlowShape } from "../../bench/shapes";
import { prepareDefinition } from "../../lib/emulate/definition";
import { START_EXECUTION_SYNC } from "../../lib/emulate/local-engine";
import { jsonBytes } from "../../lib/emulate/limits";

export interface SplitRun {
  output: unknown;
  /** The largest state input or output of any execution (the parent's or a part's), in bytes. */
  largestStateBytes: number;
  /** Where that was: `<state> input|output`. */
  largestAt: string;
  childExecutions: number;
  /** The input each of the states lib/compile adds (`flowhooks.*`) last entered with. */
  inputs: Map<string, unknown>;
  /** The error the execution failed with, if it did (a `Fail` state's `Error`). */
  error?: string;
}

const CONTEXT = { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:test:run" } };

export async function runSplit(compiled: CompiledFlow, partArn: (k: number) => string, outputOf: (task: string) => unknown): Promise<SplitRun> {
  const run: SplitRun = { output: undefined, largestStateBytes: 0, largestAt: "", childExecutions: 0, inputs: new Map() };
  const parts = new Map(compiled.parts.map((p, k) => [partArn(k), p.definition]));
  const handlers: Record<string, (input: any) => unknown> = {};
  for (const name of compiled.tasks.keys()) handlers[name] = () => ({ Payload: outputOf(name) });
  const machines = new Map<object, StateMachine>();
  const execute = async (definition: object, input: unknown): Promise<unknown> => {
    let machine = machines.get(definition);
    if (!machine) {
      machine = new StateMachine(prepareDefinition(JSON.stringify(definition)).definition as never, { validationOptions: { noValidate: true } });
      machines.set(definition, machine);
    }
    const execution = machine.run(input as never, { overrides: { taskResourceLocalHandlers: handlers as never }, context: CONTEXT as never });
    const watching = (async () => {
      for await (const event of execution.eventLogs) {
        const state = (event as { state?: { name: string; input?: unknown; output?: unknown } }).state;
        if (!state) continue;
        const what = event.type === "StateEntered" ? "input" : event.type === "StateExited" ? "output" : undefined;
        if (!what) continue;
        if (what === "input" && state.name.startsWith("flowhooks.")) run.inputs.set(state.name, state.input);
        const bytes = jsonBytes(state[what]);
        if (bytes > run.largestStateBytes) Object.assign(run, { largestStateBytes: bytes, largestAt: `${state.name} ${what}` });
      }
    })();
    try {
      return await execution.result;
    } finally {
      await watching.catch(() => undefined);
    }
  };
  const allStates = [compiled.definition, ...parts.values()].flatMap((d) => Object.entries(d.States));
  for (const [name, state] of allStates) {
    if (state.Type !== "Task" || handlers[name]) continue;
    handlers[name] =
      state.Resource === START_EXECUTION_SYNC
        ? async (input: { StateMachineArn: string; Input: unknown }) => {
            run.childExecutions++;
            const output = await execute(parts.get(input.StateMachineArn)!, input.Input);
            return { ExecutionArn: `${input.StateMachineArn}:child-${run.childExecutions}`, Output: output, Status: "SUCCEEDED" };
          }
        : () => ({ Entries: [{ EventId: "test" }], FailedEntryCount: 0 }); // the final report's PutEvents
  }
  try {
    run.output = await execute(compiled.definition, {});
  } catch (e) {
    const err = e as Error & { cause?: Error };
    run.error = err.cause?.name ?? err.name;
  }
  return run;
}

export const partArn = (k: number) => `arn:aws:states:us-east-1:123456789012:stateMachine:big-part-${k}`;
/** The task Lambda's output for a task that returned `null`. */
export const succeeded = (name: string) => toTaskOutput(name, new Success("Task run succeeded.", { result: null }));

/** A flow of `shape` and `n` tasks as FlowStateMachine compiles it: split when too large, the final report put on a bus. */
export function compileAsDeployed(shape: FlowShape, n: number): CompiledFlow {
  return compileFlow(shapedFlow(shape, n), {
    taskFunctionArn: (name) => `arn:aws:lambda:us-east-1:123456789012:function:big-${name}`,
    childStateMachineArn: partArn,
    reportFinalState: (outcome) => finalReportState(`big-${shape}-${n}`, outcome, "big-bus"),
  });
}

export async function runAsDeployed(shape: FlowShape, n: number, outputOf: (task: string) => unknown = succeeded): Promise<SplitRun> {
  return runSplit(compileAsDeployed(shape, n), partArn, outputOf);
}
