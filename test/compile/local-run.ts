/** Runs a compiled flow in aws-local-stepfunctions with the real task Lambda code, in-process. */
import { StateMachine } from "aws-local-stepfunctions";
import type { Flow } from "../../lib/core/flow";
import { compileFlow, mapStateNames, type CompiledFlow } from "../../lib/compile/index";
import { flowRunStateNames } from "../../lib/compile/flow-run";
import type { FlowRunTask } from "../../lib/core/control";
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
    /** The execution's ARN (a sub-flow's run gets one of its own). @default EXECUTION_ARN */
    executionArn?: string;
  } = {},
): Promise<LocalRun> {
  const compiled = compileFlow(flow, {
    taskFunctionArn: (n) => `arn:aws:lambda:us-east-1:123456789012:function:local-${n}`,
    childStateMachineArn: (k) => `arn:aws:states:us-east-1:123456789012:stateMachine:test-part-${k}`,
    partDefinitionChars: options.partDefinitionChars,
    flowRunStateMachineArn: (name) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`,
  });
  const executionArn = options.executionArn ?? EXECUTION_ARN;
  const events: TaskStateChangeDetail[] = [];
  const invocations: string[] = [];
  const returned = new Map<string, any>();
  const retries = new Map<string, number>();
  const handlers: Record<string, (input: any) => Promise<any>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  const waitTimeOverrides: Record<string, number> = {};
  for (const [name, task] of compiled.tasks) {
    const handler = createTaskHandler(flow, {
      clock: virtualClock(),
      env: { FLOWHOOKS_TASK: name, ...(options.resultsDir ? { FLOWHOOKS_RESULTS_DIR: options.resultsDir } : {}) },
      emit: async (d) => void events.push(d),
    });
    // A mapped task's function serves its prepare, child and collect states; a flowRun task's its start and collect.
    const names = mapStateNames(name);
    const node = flow.graph().byName.get(name)!;
    const flowRunNames = flowRunStateNames(name);
    const stateNames = task.mapped ? [names.prepare, names.child, names.collect] : node.kind === "flowRun" ? [flowRunNames.start, flowRunNames.collect] : [name];
    if (node.kind === "flowRun") handlers[flowRunNames.run] = subFlowRunner((node.task as FlowRunTask).flow as Flow, events, executionArn, name);
    // A flowRun's retries wait in a Wait state; never really wait in tests.
    if (node.kind === "flowRun") waitTimeOverrides[flowRunNames.wait] = 0;
    for (const stateName of stateNames) {
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
        const payload = { ...input.Payload, context: { ...input.Payload.context, State: { Name: stateName, RetryCount: node.kind === "flowRun" ? 0 : retryCount } } };
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
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides, waitTimeOverrides },
    context: { Execution: { Id: executionArn, Input: parameters as never }, StateMachine: { Id: "arn:aws:states:us-east-1:123456789012:stateMachine:test" } },
  });
  try {
    return { compiled, output: await execution.result, events, invocations, returned };
  } catch (error) {
    const e = error as { name?: string; message?: string; cause?: unknown };
    return { compiled, error: { name: e.name, message: e.message, cause: e.cause }, events, invocations, returned };
  }
}

/**
 * `t.Run` (`states:startExecution.sync:2`): runs the sub-flow's own compiled definition with its own
 * task functions, as Step Functions starts its state machine and waits; its task events join `events`.
 * A sub-flow that fails is reported as Step Functions reports a failed child execution: `States.TaskFailed`
 * with the child's description (status, error, cause) as JSON.
 */
function subFlowRunner(sub: Flow, events: TaskStateChangeDetail[], parentArn: string, taskName: string) {
  let runs = 0;
  return async ({ Input: input }: { Input: Record<string, unknown> }) => {
    const executionArn = `arn:aws:states:us-east-1:123456789012:execution:${sub.name}:${taskName}-${++runs}-${parentArn.split(":").at(-1)}`;
    const run = await runLocally(sub, input, { executionArn });
    events.push(...run.events);
    if (!run.error) return { ExecutionArn: executionArn, Output: run.output, Status: "SUCCEEDED" };
    const failure = (run.error.cause ?? run.error) as { name?: string; message?: string };
    const cause = JSON.stringify({ ExecutionArn: executionArn, Status: "FAILED", Error: failure.name, Cause: failure.message });
    throw Object.assign(new Error(cause), { name: "States.TaskFailed" });
  };
}
