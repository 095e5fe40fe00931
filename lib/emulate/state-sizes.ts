/**
 * The size of each state's input and output as JSON (the 256 KiB limit), without serializing the
 * whole state at every step: in a chain the state grows with every task, so measuring each output in
 * full cost O(tasks²) bytes of `JSON.stringify` per run.
 *
 * How aws-local-stepfunctions makes a state's output is what makes this exact. A state's output is
 * handed on as the next state's input (the same object), so an input was measured as the previous
 * output. A Task or Pass state with `ResultPath: "$.key"` (one top-level key) and no `OutputPath`
 * outputs a deep copy of its input with that key set to its result; with `ResultPath: null`, the copy
 * alone; a caught error the same with the catcher's `ResultPath`. So such an output's size is its
 * input's, less the key's old entry, plus its new one: O(the result), not O(the state). Every other
 * output (another path, an `OutputPath`, a Map or Parallel state, a name used twice in the
 * definition, an input not measured before) is measured in full, as before.
 */

/** The UTF-8 size of `value` as JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/**
 * Sizes of state inputs and outputs already measured, by object. aws-local-stepfunctions never
 * changes a state's input or output after handing it on (it copies before it sets a key).
 */
const measured = new WeakMap<object, number>();

/** The size of `value` as JSON, measured once per object. */
export function stateBytes(value: unknown): number {
  if (value === null || typeof value !== "object") return jsonBytes(value);
  let bytes = measured.get(value);
  if (bytes === undefined) measured.set(value, (bytes = jsonBytes(value)));
  return bytes;
}

/** How a state's output is made from its input: one top-level key set, or the input as it was. */
type OutputRule = { key: string } | "input";

const SIMPLE_RESULT_PATH = /^\$\.([A-Za-z0-9_]+)$/;

/** The rule a `ResultPath` gives (`undefined`: the output is the result alone, or a path this module does not follow). */
function ruleOf(resultPath: unknown): OutputRule | undefined {
  if (resultPath === null) return "input";
  const key = typeof resultPath === "string" ? SIMPLE_RESULT_PATH.exec(resultPath)?.[1] : undefined;
  return key !== undefined && key !== "__proto__" ? { key } : undefined;
}

type Json = Record<string, any>;

/** Every state of `definition` by name, branches and item processors included; a name used twice maps to `undefined`. */
function statesByName(definition: Json, into = new Map<string, Json | undefined>()): Map<string, Json | undefined> {
  for (const [name, state] of Object.entries((definition.States ?? {}) as Record<string, Json>)) {
    into.set(name, into.has(name) ? undefined : state);
    for (const sub of [state.ItemProcessor, state.Iterator, ...(Array.isArray(state.Branches) ? state.Branches : [])]) {
      if (sub && typeof sub === "object") statesByName(sub as Json, into);
    }
  }
  return into;
}

/** The size of a `"key": value` entry as JSON (0 when JSON leaves it out). */
function entryBytes(key: string, value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(JSON.stringify(key)) + 1 + Buffer.byteLength(json);
}

/**
 * The size as JSON of `{ ...input, [key]: value }` (an own key of `input` keeps its place), from
 * `inputBytes`, the size of `input`: exact for any JSON object `input`.
 */
export function bytesWithKey(input: Json, inputBytes: number, key: string, value: unknown): number {
  const old = Object.prototype.hasOwnProperty.call(input, key) ? entryBytes(key, input[key]) : 0;
  const added = entryBytes(key, value);
  if (old > 0 && added > 0) return inputBytes - old + added;
  if (old === 0 && added > 0) return inputBytes + added + (inputBytes > 2 ? 1 : 0);
  if (old > 0) return inputBytes - old === 2 ? 2 : inputBytes - old - 1;
  return inputBytes;
}

/** The output rules of a definition's Task and Pass states that have one, by name. */
function outputRules(definition: Json): Map<string, OutputRule> {
  const rules = new Map<string, OutputRule>();
  for (const [name, state] of statesByName(definition)) {
    if (!state || (state.Type !== "Task" && state.Type !== "Pass") || "OutputPath" in state || !("ResultPath" in state)) continue;
    const rule = ruleOf(state.ResultPath);
    if (rule) rules.set(name, rule);
  }
  return rules;
}

/** Each definition's rules, worked out once: every execution of it (each emulation, each child) asks again. */
const rulesOf = new WeakMap<Json, Map<string, OutputRule>>();
const NO_RULES = new Map<string, OutputRule>();

/** One execution's state sizes, for its definition (the main machine, a part, a Distributed Map's child). */
export class StateSizes {
  /** Output rules of the Task and Pass states that have one, by name. */
  private readonly rules: Map<string, OutputRule>;
  /** A caught error's rule (its catcher's ResultPath), by the input and the name of the state that caught it. */
  private readonly caught = new WeakMap<object, Map<string, OutputRule | undefined>>();

  constructor(definition?: Json) {
    let rules = definition ? rulesOf.get(definition) : NO_RULES;
    if (!rules) rulesOf.set(definition!, (rules = outputRules(definition!)));
    this.rules = rules;
  }

  /** A state's input. */
  input(input: unknown): number {
    return stateBytes(input);
  }

  /** State `name` caught an error with `catcher`: its output is made by the catcher's ResultPath. */
  caughtBy(name: string, input: unknown, catcher: { ResultPath?: unknown } | undefined): void {
    if (input === null || typeof input !== "object") return;
    let byName = this.caught.get(input);
    if (!byName) this.caught.set(input, (byName = new Map()));
    byName.set(name, catcher && "ResultPath" in catcher ? ruleOf(catcher.ResultPath) : undefined);
  }

  /** The output of state `name`, made from `input`. */
  output(name: string, input: unknown, output: unknown): number {
    if (output === null || typeof output !== "object") return jsonBytes(output);
    let rule = this.rules.get(name);
    const caught = input !== null && typeof input === "object" ? this.caught.get(input) : undefined;
    if (caught?.has(name)) {
      rule = caught.get(name);
      caught.delete(name);
    }
    const inputBytes = rule && input !== null && typeof input === "object" && !Array.isArray(input) && !Array.isArray(output) ? measured.get(input) : undefined;
    if (inputBytes === undefined) return stateBytes(output);
    let bytes = measured.get(output);
    if (bytes === undefined) {
      bytes = rule === "input" ? inputBytes : bytesWithKey(input as Json, inputBytes, (rule as { key: string }).key, (output as Json)[(rule as { key: string }).key]);
      measured.set(output, bytes);
    }
    return bytes;
  }
}
