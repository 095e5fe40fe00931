/**
 * Section 5: what a run costs in Step Functions. Standard workflows bill per state transition, so
 * we run the compiled definition in aws-local-stepfunctions with every task succeeding and count
 * the states it entered, per task.
 */
import { StateMachine } from "aws-local-stepfunctions";
import { compileFlow, successPathTransitions } from "../../lib/compile/index";
import { prepareDefinition } from "../../lib/emulate/definition";
import { toTaskOutput } from "../../lambdas/task/payload";
import { Success } from "../../lib/core/states";
import { shapedFlow, type FlowShape } from "../shapes";

export interface CostFigure {
  shape: FlowShape;
  tasks: number;
  /** `StateEntered` events of one successful execution. */
  transitions: number;
  /** What lib/compile's static count says, as a cross-check. */
  staticTransitions: number;
  transitionsPerTask: number;
  runMs: number;
  /** Size of the execution's final JSON: Step Functions refuses payloads above 256 KiB. */
  finalPayloadBytes: number;
}

export const localArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:bench-${name}`;

/** Every task state answers as a successful task Lambda would (`$.Payload` is the task's output). */
export function successHandlers(taskNames: Iterable<string>): Record<string, () => { Payload: unknown }> {
  const out: Record<string, () => { Payload: unknown }> = {};
  for (const name of taskNames) {
    const payload = toTaskOutput(name, new Success("Task run succeeded.", { result: null }));
    out[name] = () => ({ Payload: payload });
  }
  return out;
}

export async function countTransitions(shape: FlowShape, n: number): Promise<CostFigure> {
  const flow = shapedFlow(shape, n);
  const compiled = compileFlow(flow, { taskFunctionArn: localArn });
  // The emulator's copy: aws-local-stepfunctions cannot resolve the payload's $$.State.RetryCount.
  const { definition } = prepareDefinition(JSON.stringify(compiled.definition));
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
  const start = process.hrtime.bigint();
  const execution = machine.run({}, {
    overrides: { taskResourceLocalHandlers: successHandlers(compiled.tasks.keys()) as never },
    context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:run" } } as never,
  });
  let transitions = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs) if (event.type === "StateEntered") transitions++;
  })();
  const output = await execution.result;
  await counting;
  const runMs = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    shape,
    tasks: n,
    transitions,
    staticTransitions: successPathTransitions(compiled.definition),
    transitionsPerTask: transitions / n,
    runMs,
    finalPayloadBytes: Buffer.byteLength(JSON.stringify(output)),
  };
}
