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
 * Stands for `$$.State.EnteredTime` in a rewritten definition; the in-process invoker replaces it with
 * when it saw the state entered (the same for every attempt of one entry, the emulated history's `TaskStateEntered` time).
 */
export const ENTERED_TIME_MARKER = "flowhooks.emulator:$$.State.EnteredTime";

/** Stands for `$$.Task.Token` (a `.waitForTaskToken` state's token); the invoker replaces it with the token it made for the attempt. */
export const TASK_TOKEN_MARKER = "flowhooks.emulator:$$.Task.Token";

/** The `$$` fields aws-local-stepfunctions 3.0.0 does not populate, and the marker each becomes in a Task's payload. */
const STATE_CONTEXT_MARKERS: Record<string, string> = {
  "$$.State.RetryCount": RETRY_COUNT_MARKER,
  "$$.State.EnteredTime": ENTERED_TIME_MARKER,
  "$$.Task.Token": TASK_TOKEN_MARKER,
};

/** What the invoker knows of one attempt of a Task state, in place of `$$.State`. */
export interface StateContext {
  /** Retries of this entry of the state so far (0 on the first attempt), as `$$.State.RetryCount`. */
  retryCount: number;
  /** When this entry of the state began, as `$$.State.EnteredTime` (ISO 8601). */
  enteredTime: string;
  /** A `.waitForTaskToken` attempt's token, as `$$.Task.Token`. @default - none (a state that is not waiting) */
  taskToken?: string;
}

/**
 * Step Functions puts no time limit on a Task state without `TimeoutSeconds` (the Lambda timeout
 * bounds it); aws-local-stepfunctions would stop it after 60 s. The longest a Node timer can wait (~24 days).
 */
const NO_STATE_TIMEOUT_SECONDS = 2_000_000;

/** Stands for a Distributed Map in the rewritten definition: a Task state the emulator runs as an inline Map (see `DistributedMap`). */
export const DISTRIBUTED_MAP_RESOURCE = "arn:aws:states:::flowhooks-emulator:distributedMap";

/**
 * Where the inline stand-in of a Distributed Map reads its items, and each item's index: the
 * emulator runs it once per item (one child execution each, as AWS does) with
 * `FlowhooksEmulator: { Items: [item], Index }` in the context, never in the state data.
 */
export const EMULATED_ITEMS_PATH = "$$.FlowhooksEmulator.Items";
const EMULATED_INDEX_PATH = "$$.FlowhooksEmulator.Index";

export interface PreparedDefinition {
  /** The definition the emulator runs. */
  definition: Json;
  /** Task states by name, with their `Resource` and `Retry`, across every branch. */
  taskStates: Map<string, Json>;
  /** Task states inside a Map's ItemProcessor (run once per item, concurrently). @default - none */
  iteratedStates?: Set<string>;
  /** The definition's Distributed Maps, by state name: each is a Task state (`DISTRIBUTED_MAP_RESOURCE`) in `definition`. @default - none */
  distributedMaps?: Map<string, DistributedMap>;
}

/**
 * A Distributed Map, emulated as an inline Map with the same ItemProcessor and ItemSelector. Its
 * Task state in the rewritten definition passes `{ input, reader, writer }` (the state input and
 * the resolved ItemReader / ResultWriter parameters); the emulator reads the items from the local
 * results folder (`reader.Key`), runs `inline` once per item (a one-state machine whose Map reads
 * its one item from `EMULATED_ITEMS_PATH`), at most `maxConcurrency` at once, and writes what the
 * ResultWriter would.
 */
export interface DistributedMap {
  stateName: string;
  /** A machine of one inline Map state (`stateName`), End. */
  inline: PreparedDefinition;
  /** The map's MaxConcurrency (0: no cap). */
  maxConcurrency: number;
  /** The deployed map wrote its results to S3 (ResultWriter): the emulator writes the same files locally. */
  writesResults: boolean;
  /** Step Functions' tolerated failures of the map run (percentage, count). @default 0 */
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
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
  const iteratedStates = new Set<string>();
  const distributed: [string, Json][] = [];
  visitStates(definition, (name, state, iterated) => {
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
      checkDistributedMap(name, state);
      distributed.push([name, state]);
    }
    if (state.Type === "Task") {
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = NO_STATE_TIMEOUT_SECONDS;
      taskStates.set(name, state);
      if (iterated) iteratedStates.add(name);
    }
    for (const field of ["Parameters", "ResultSelector", "ItemSelector", "Arguments"]) {
      if (state[field] !== undefined) state[field] = rewriteStateContext(state[field], name, state.Type === "Task");
    }
  });
  // asl-validator writes defaults (QueryLanguage) into what it checks, so it gets a copy.
  const check = aslValidator(structuredClone(deployed), { checkPaths: true, checkArn: true });
  if (!check.isValid) {
    throw new UnsupportedDefinitionError(`The synthesized definition is not valid ASL: ${check.errorsText("; ")}`);
  }
  // Their processors were adapted above, as every other state; now each becomes its stand-in.
  const distributedMaps = new Map<string, DistributedMap>();
  for (const [name, state] of distributed) {
    distributedMaps.set(name, emulateAsInline(name, state));
    taskStates.set(name, state);
  }
  return { definition, taskStates, iteratedStates, distributedMaps };
}

/** Calls `fn` for every state, in Parallel branches and Map processors too (`iterated`: inside a Map's processor). */
function visitStates(machine: Json, fn: (name: string, state: Json, iterated: boolean) => void, iterated = false): void {
  for (const [name, state] of Object.entries((machine.States ?? {}) as Record<string, Json>)) {
    fn(name, state, iterated);
    for (const branch of (state.Branches ?? []) as Json[]) visitStates(branch, fn, iterated);
    if (state.Iterator) visitStates(state.Iterator, fn, true);
    if (state.ItemProcessor) visitStates(state.ItemProcessor, fn, true);
  }
}

/** Refuses the Distributed Maps the emulator cannot stand in for: items read otherwise than as one JSON array object, batched items. */
function checkDistributedMap(name: string, state: Json): void {
  const reader = state.ItemReader as Json | undefined;
  const refuse = (what: string) => {
    throw new UnsupportedDefinitionError(
      `State \`${name}\` is a Distributed Map that ${what}; the emulator runs a Distributed Map as an inline Map only when it reads one JSON array ` +
        "(ItemReader arn:aws:states:::s3:getObject, InputType JSON) without ItemBatcher, as FlowStateMachine compiles mapped tasks.",
    );
  };
  if (!reader) refuse("has no ItemReader");
  if (String(reader!.Resource) !== "arn:aws:states:::s3:getObject") refuse(`reads its items with ${reader!.Resource}`);
  if (reader!.ReaderConfig?.InputType !== undefined && reader!.ReaderConfig.InputType !== "JSON") refuse(`reads ${reader!.ReaderConfig.InputType} items`);
  if (state.ItemBatcher !== undefined) refuse("batches its items (ItemBatcher)");
  if (state.ItemsPath !== undefined || state.ItemsPointer !== undefined) refuse("also sets ItemsPath");
  if (state.MaxConcurrencyPath !== undefined) refuse("reads its MaxConcurrency from a path");
}

/**
 * Rewrites Distributed Map `state` in place into a Task state (`DISTRIBUTED_MAP_RESOURCE`) with its
 * own result handling and transitions, and returns the inline Map that stands in for it.
 */
function emulateAsInline(name: string, state: Json): DistributedMap {
  const { ItemReader: reader, ResultWriter: writer, ItemProcessor: processor, ItemSelector, Parameters, MaxConcurrency } = state;
  const toleratedFailurePercentage = Number(state.ToleratedFailurePercentage ?? 0);
  const toleratedFailureCount = Number(state.ToleratedFailureCount ?? 0);
  const inlineMap: Json = {
    Type: "Map",
    ItemsPath: EMULATED_ITEMS_PATH,
    ...(ItemSelector !== undefined ? { ItemSelector: itemIndexFromContext(ItemSelector) } : Parameters !== undefined ? { ItemSelector: itemIndexFromContext(Parameters) } : {}),
    ItemProcessor: { ...processor, ProcessorConfig: { Mode: "INLINE" } },
    End: true,
  };
  const inline: PreparedDefinition = { definition: { StartAt: name, States: { [name]: inlineMap } }, taskStates: new Map(), iteratedStates: new Set() };
  visitStates(inline.definition, (child, s, iterated) => {
    if (s.Type !== "Task") return;
    inline.taskStates.set(child, s);
    if (iterated) inline.iteratedStates!.add(child);
  });
  const kept: Json = {};
  for (const field of ["Comment", "InputPath", "OutputPath", "ResultPath", "ResultSelector", "Retry", "Catch", "Next", "End"]) {
    if (state[field] !== undefined) kept[field] = state[field];
  }
  for (const key of Object.keys(state)) delete state[key];
  Object.assign(state, {
    Type: "Task",
    Resource: DISTRIBUTED_MAP_RESOURCE,
    Parameters: { "input.$": "$", reader: reader.Parameters ?? {}, writer: writer?.Parameters ?? null },
    TimeoutSeconds: NO_STATE_TIMEOUT_SECONDS,
    ...kept,
  });
  return { stateName: name, inline, maxConcurrency: Number(MaxConcurrency ?? 0), writesResults: writer !== undefined, toleratedFailurePercentage, toleratedFailureCount };
}

/** An ItemSelector run over one item at a time: `$$.Map.Item.Index` is the item's index in the whole list, which the emulator puts in the context. */
function itemIndexFromContext(template: unknown): unknown {
  if (Array.isArray(template)) return template.map(itemIndexFromContext);
  if (template === null || typeof template !== "object") return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template as Json)) {
    out[key] = key.endsWith(".$") && typeof value === "string" && value.trim() === "$$.Map.Item.Index" ? EMULATED_INDEX_PATH : itemIndexFromContext(value);
  }
  return out;
}

/**
 * aws-local-stepfunctions does not populate `$$.State.RetryCount` nor `$$.State.EnteredTime` (a path
 * to either fails with States.Runtime). In a Task's payload such a field becomes a marker the invoker
 * fills with what it knows; anywhere else the value would be wrong, so it is refused.
 */
function rewriteStateContext(template: unknown, stateName: string, inTask: boolean): unknown {
  if (Array.isArray(template)) return template.map((v) => rewriteStateContext(v, stateName, inTask));
  if (template === null || typeof template !== "object") return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template as Json)) {
    const path = key.endsWith(".$") && typeof value === "string" ? Object.keys(STATE_CONTEXT_MARKERS).find((p) => value.includes(p)) : undefined;
    if (path !== undefined) {
      if (!inTask || (value as string).trim() !== path) {
        throw new UnsupportedDefinitionError(
          `State \`${stateName}\` reads ${path} in \`${key}\` (${value}); aws-local-stepfunctions 3.0.0 does not populate it, ` +
            `and the emulator can supply it only as a whole Task payload field ("${key}": "${path}").`,
        );
      }
      out[key.slice(0, -2)] = STATE_CONTEXT_MARKERS[path];
      continue;
    }
    out[key] = rewriteStateContext(value, stateName, inTask);
  }
  return out;
}

/**
 * Replaces the `$$.State` markers in a Task's resolved input, and fills `State.RetryCount` in any
 * context object (`$$` whole, or a slice with `Execution.Id`) and `State.EnteredTime` in a whole `$$`
 * (it has `StateMachine`). A slice the definition built gets no `EnteredTime` it did not ask for: the
 * emulator must not hide a definition that never passes it (alert keys depend on it).
 */
export function supplyStateContext(input: unknown, known: StateContext, stateName: string): unknown {
  if (input === RETRY_COUNT_MARKER) return known.retryCount;
  if (input === ENTERED_TIME_MARKER) return known.enteredTime;
  if (input === TASK_TOKEN_MARKER) return known.taskToken;
  if (input === null || typeof input !== "object") return input;
  // Copied only where something is replaced: the rest (upstream results, parameters) is handed on as
  // it is, and the Lambda invocation gets its own copy of the whole as JSON (local-engine.ts).
  if (Array.isArray(input)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < input.length; i++) {
      const value = supplyStateContext(input[i], known, stateName);
      if (value !== input[i]) (copy ??= input.slice())[i] = value;
    }
    return copy ?? input;
  }
  const obj = input as Json;
  let out: Json | undefined;
  for (const k of Object.keys(obj)) {
    const value = supplyStateContext(obj[k], known, stateName);
    if (value !== obj[k]) (out ??= { ...obj })[k] = value;
  }
  // A whole context object, as "context.$": "$$" passes it; aws-local-stepfunctions leaves out `State`.
  if (typeof obj.Execution === "object" && obj.Execution !== null && typeof obj.Execution.Id === "string") {
    out ??= { ...obj };
    // Its markers already replaced above.
    const state = (typeof out.State === "object" && out.State !== null ? out.State : {}) as Json;
    const whole = typeof obj.StateMachine === "object" && obj.StateMachine !== null;
    out.State = { ...state, Name: state.Name ?? stateName, ...(whole ? { EnteredTime: known.enteredTime } : {}), RetryCount: known.retryCount };
  }
  return out ?? obj;
}
