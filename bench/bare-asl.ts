/**
 * Section 6's baseline: a prepared (deployed) definition run bare in aws-local-stepfunctions with
 * every Task state answered at once. Used by bench/emulate-child.ts and bench/profile-emulate.ts.
 */
import { StateMachine } from "aws-local-stepfunctions";
import { successHandlers } from "./sections/cost";

const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
type Json = Record<string, any>;

/** The prepared definition with every Task state answered at once: a Lambda with a successful task's output, PutEvents with success. */
export function bareRunner(definition: Json, taskStates: Map<string, Json>): () => Promise<unknown> {
  const handlers: Record<string, () => unknown> = {};
  const lambdaStates = [...taskStates].filter(([, s]) => s.Resource === LAMBDA_INVOKE || String(s.Resource).startsWith("arn:aws:lambda:"));
  const success = successHandlers(lambdaStates.map(([name]) => name));
  for (const [name, state] of taskStates) {
    handlers[name] = success[name] ?? (() => ({ Entries: [{ EventId: "bench" }], FailedEntryCount: 0 }));
    // The task output is what the Lambda returned; the invoke integration wraps it in Payload.
    if (success[name] && state.Resource !== LAMBDA_INVOKE) handlers[name] = () => success[name]!().Payload;
  }
  // Made once, as the emulator now makes its machine once per target.
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
  // Task payloads read `$$.Execution.Id` (result keys and events name the execution).
  const context = { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:run" } };
  return () => machine.run({}, { overrides: { taskResourceLocalHandlers: handlers as never }, context: context as never }).result;
}

