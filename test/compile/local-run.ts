/** Runs a compiled flow in aws-local-stepfunctions with the real task Lambda code, in-process. */
import { StateMachine } from "aws-local-stepfunctions";
import type { Flow } from "../../lib/core/flow";
import { compileFlow, mapStateNames, type CompiledFlow } from "../../lib/compile/index";
import { createTaskHandler, type TaskStateChangeDetail } from "../../lambdas/task/index";
import { virtualClock } from "../../lib/core/clock";
import { prepareDefinition } from "../../lib/emulate/definition";

export const EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:test:run-1";

export interface LocalRun {
  compiled: CompiledFlow;
  /** The execution's output on success. */
  output?: unknown;
  /** The execution's error on failure. */
  error?: { name?: string; message?: string; cause?: unknown };
  events: TaskStateChangeDetail[];
  invocations: string[];
  /** What each invocation returned last, by invocation (`t`, `t.Child[i]`, `t.Collect`). */
  returned: Map<string, any>;
}

export async function runLocally(
  flow: Flow,
  parameters: Record<string, unknown> = {},
  options: {
    /** Invocations that throw, by state name (a map's child: `t.Child[i]`). */
    crash?: Record<string, { Error: string; Cause: string }>;
    /** Run this definition (e.g. the one in a synthesized template) instead of compiling the flow again. */
    definition?: unknown;
    /** Store results above the threshold in this folder (as the emulator does). @default - results stay in the outputs */
    resultsDir?: string;
    /** Split the flow into child state machines above this many characters of levels. @default 900000 */
    partDefinitionChars?: number;
  } = {},
): Promise<LocalRun> {
  const compiled = compileFlow(flow, {
    taskFunctionArn: (n) => `arn:aws:lambda:us-east-1:123456789012:function:local-${n}`,
    childStateMachineArn: (k) => `arn:aws:states:us-east-1:123456789012:stateMachine:test-part-${k}`,
    partDefinitionChars: options.partDefinitionChars,
  });
  const events: TaskStateChangeDetail[] = [];
  const invocations: string[] = [];
  const returned = new Map<string, any>();
  const retries = new Map<string, number>();
  const handlers: Record<string, (input: any) => Promise<any>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name, task] of compiled.tasks) {
    const handler = createTaskHandler(flow, {
      clock: virtualClock(),
      env: { FLOWHOOKS_TASK: name, ...(options.resultsDir ? { FLOWHOOKS_RESULTS_DIR: options.resultsDir } : {}) },
      emit: async (d) => void events.push(d),
    });
    // A mapped task's function serves its prepare, child and collect states.
    const names = mapStateNames(name);
    for (const stateName of task.mapped ? [names.prepare, names.child, names.collect] : [name]) {
      retryIntervalOverrides[stateName] = 0;
      handlers[stateName] = async (input) => {
        const child = input.Payload.mode === "child" ? input.Payload.item.index : undefined;
        const invocation = child === undefined ? stateName : `${stateName}[${child}]`;
        invocations.push(invocation);
        const crash = options.crash?.[invocation];
        if (crash) throw Object.assign(new Error(crash.Cause), { name: crash.Error });
        // aws-local-stepfunctions does not fill in $$.State.RetryCount; count attempts here (per child of a map).
        const retryCount = retries.get(invocation) ?? 0;
        retries.set(invocation, retryCount + 1);
        const payload = { ...input.Payload, context: { ...input.Payload.context, State: { Name: stateName, RetryCount: retryCount } } };
        const out = await handler(payload);
        returned.set(invocation, out);
        return { Payload: out };
      };
    }
  }
  // The emulator's adaptation (lib/emulate/definition.ts): aws-local-stepfunctions cannot resolve $$.State.RetryCount.
  const { definition } = prepareDefinition(JSON.stringify(options.definition ?? compiled.definition));
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: true } });
  // Child state machines of a split flow: a part state starts its child and waits (startExecution.sync:2).
  compiled.parts.forEach((part, k) => {
    const child = new StateMachine(prepareDefinition(JSON.stringify(part.definition)).definition as never, { validationOptions: { checkPaths: true } });
    handlers[`flowhooks.Part${k}`] = async ({ Input: input }) => {
      const run = child.run(input, {
        overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
        context: { Execution: { Id: `${EXECUTION_ARN}-part-${k}`, Input: input } },
      });
      try {
        return { Output: await run.result, Status: "SUCCEEDED" };
      } catch (error) {
        // As Step Functions reports a failed child: States.TaskFailed with the child's error as the cause.
        const e = error as Error & { cause?: Error };
        throw Object.assign(new Error(e.cause?.message ?? e.message), { name: e.cause?.name ?? e.name });
      }
    };
  });
  const execution = machine.run(parameters as never, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
    context: { Execution: { Id: EXECUTION_ARN, Input: parameters as never }, StateMachine: { Id: "arn:aws:states:us-east-1:123456789012:stateMachine:test" } },
  });
  try {
    return { compiled, output: await execution.result, events, invocations, returned };
  } catch (error) {
    const e = error as { name?: string; message?: string; cause?: unknown };
    return { compiled, error: { name: e.name, message: e.message, cause: e.cause }, events, invocations, returned };
  }
}
