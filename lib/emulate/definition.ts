/**
 * The deployed definition, adapted for aws-local-stepfunctions 3.0.0 — always on a copy, so what
 * is checked and what is reported stay the deployed text. What the emulator cannot run faithfully
 * is refused with a message that says so; what it runs differently is rewritten here and nowhere else.
 */
import aslValidator from "asl-validator";
import { UnsupportedDefinitionError } from "./errors";

type Json = Record<string, any>;

/** Stands for `$$.State.RetryCount` in a rewritten definition; the in-process invoker replaces it with the attempt it knows. */
export const RETRY_COUNT_MARKER = "flowhooks.emulator:$$.State.RetryCount";

/**
 * Step Functions puts no time limit on a Task state without `TimeoutSeconds` (the Lambda timeout
 * bounds it); aws-local-stepfunctions would stop it after 60 s. The longest a Node timer can wait (~24 days).
 */
const NO_STATE_TIMEOUT_SECONDS = 2_000_000;

export interface PreparedDefinition {
  /** The definition the emulator runs. */
  definition: Json;
  /** Task states by name, with their `Resource` and `Retry`, across every branch. */
  taskStates: Map<string, Json>;
}

/** Parses, checks and adapts the deployed definition text; throws `UnsupportedDefinitionError` for what cannot run here. */
export function prepareDefinition(definitionString: string): PreparedDefinition {
  let deployed: Json;
  try {
    deployed = JSON.parse(definitionString) as Json;
  } catch (error) {
    throw new UnsupportedDefinitionError(`The synthesized DefinitionString is not JSON (${(error as Error).message}); resynthesize the stack.`);
  }
  const definition = structuredClone(deployed);
  if (definition.QueryLanguage === "JSONata") {
    throw new UnsupportedDefinitionError(
      "The definition uses JSONata (QueryLanguage: \"JSONata\"), which aws-local-stepfunctions 3.0.0 silently ignores; " +
        "the emulator runs JSONPath definitions only (FlowStateMachine compiles to JSONPath).",
    );
  }
  const taskStates = new Map<string, Json>();
  visitStates(definition, (name, state) => {
    if (state.QueryLanguage === "JSONata") {
      throw new UnsupportedDefinitionError(
        `State \`${name}\` uses JSONata, which aws-local-stepfunctions 3.0.0 silently ignores; the emulator runs JSONPath only.`,
      );
    }
    if (state.HeartbeatSeconds !== undefined || state.HeartbeatSecondsPath !== undefined) {
      throw new UnsupportedDefinitionError(
        `State \`${name}\` sets HeartbeatSeconds, which aws-local-stepfunctions 3.0.0 does not enforce; remove it to emulate this definition.`,
      );
    }
    if (state.Type === "Map" && (state.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED" || state.ItemReader || state.ResultWriter)) {
      throw new UnsupportedDefinitionError(
        `State \`${name}\` is a Distributed Map, which aws-local-stepfunctions 3.0.0 cannot run; the emulator runs inline Maps only.`,
      );
    }
    if (state.Type === "Task") {
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = NO_STATE_TIMEOUT_SECONDS;
      taskStates.set(name, state);
    }
    for (const field of ["Parameters", "ResultSelector", "ItemSelector", "Arguments"]) {
      if (state[field] !== undefined) state[field] = rewriteRetryCount(state[field], name, state.Type === "Task");
    }
  });
  // asl-validator writes defaults (QueryLanguage) into what it checks, so it gets a copy.
  const check = aslValidator(structuredClone(deployed), { checkPaths: true, checkArn: true });
  if (!check.isValid) {
    throw new UnsupportedDefinitionError(`The synthesized definition is not valid ASL: ${check.errorsText("; ")}`);
  }
  return { definition, taskStates };
}

/** Calls `fn` for every state, in Parallel branches and Map processors too. */
function visitStates(machine: Json, fn: (name: string, state: Json) => void): void {
  for (const [name, state] of Object.entries((machine.States ?? {}) as Record<string, Json>)) {
    fn(name, state);
    for (const branch of (state.Branches ?? []) as Json[]) visitStates(branch, fn);
    if (state.Iterator) visitStates(state.Iterator, fn);
    if (state.ItemProcessor) visitStates(state.ItemProcessor, fn);
  }
}

/**
 * aws-local-stepfunctions does not populate `$$.State.RetryCount` (a path to it fails with
 * States.Runtime). In a Task's payload the field becomes a marker the invoker fills with the
 * attempt it counted; anywhere else the value would be wrong, so it is refused.
 */
function rewriteRetryCount(template: unknown, stateName: string, inTask: boolean): unknown {
  if (Array.isArray(template)) return template.map((v) => rewriteRetryCount(v, stateName, inTask));
  if (template === null || typeof template !== "object") return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template as Json)) {
    if (key.endsWith(".$") && typeof value === "string" && value.includes("$$.State.RetryCount")) {
      if (!inTask || value.trim() !== "$$.State.RetryCount") {
        throw new UnsupportedDefinitionError(
          `State \`${stateName}\` reads $$.State.RetryCount in \`${key}\` (${value}); aws-local-stepfunctions 3.0.0 does not populate it, ` +
            `and the emulator can supply it only as a whole Task payload field ("${key}": "$$.State.RetryCount").`,
        );
      }
      out[key.slice(0, -2)] = RETRY_COUNT_MARKER;
      continue;
    }
    out[key] = rewriteRetryCount(value, stateName, inTask);
  }
  return out;
}

/** Replaces retry-count markers in a Task's resolved input, and fills `State.RetryCount` in any whole context object (`$$`). */
export function supplyRetryCount(input: unknown, retryCount: number, stateName: string): unknown {
  if (input === RETRY_COUNT_MARKER) return retryCount;
  if (Array.isArray(input)) return input.map((v) => supplyRetryCount(v, retryCount, stateName));
  if (input === null || typeof input !== "object") return input;
  const obj = input as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) out[k] = supplyRetryCount(v, retryCount, stateName);
  // A whole context object, as "context.$": "$$" passes it; aws-local-stepfunctions leaves out `State`.
  if (typeof obj.Execution === "object" && obj.Execution !== null && typeof obj.Execution.Id === "string") {
    const state = (typeof obj.State === "object" && obj.State !== null ? obj.State : {}) as Json;
    out.State = { ...state, Name: state.Name ?? stateName, RetryCount: retryCount };
  }
  return out;
}
