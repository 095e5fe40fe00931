/**
 * Mapping (Prefect 1.x `task.map`): the one place that decides what a mapped task's children are,
 * what each child receives, and what its parent ends in. The local runner and the task Lambda
 * (prepare, child and collect steps) both call these functions.
 */
import { caseNotTaken, caseSkippedMessage } from "./control";
import { FlowDefinitionError } from "./errors";
import type { FlowNode } from "./graph";
import { Failed, Mapped, Skipped, State, Success, TriggerFailed } from "./states";
import type { InputSpec } from "./task";

export const UPSTREAM_SKIPPED_MESSAGE =
  "Upstream task was skipped; if this was not the intended behavior, consider changing `skipOnUpstreamSkip: false` for this task.";

/** The message of a mapped parent's final state. */
export function mappedMessage(children: number): string {
  return `Mapped ${children} ${children === 1 ? "child" : "children"}.`;
}

/** A mapped parent's final state: `Mapped`, holding the children's final states in order. */
export function mappedState(children: State[]): Mapped {
  return new Mapped(mappedMessage(children.length), { result: children });
}

/** A task and its child: `download` and 3 → `download[3]`, as alerts and the CLI name it. */
export function childName(taskName: string, mapIndex: number | undefined): string {
  return mapIndex === undefined ? taskName : `${taskName}[${mapIndex}]`;
}

/** What a downstream task receives from an upstream state: its result, or a mapped task's children's results in order. */
export function upstreamResult(state: State | undefined): unknown {
  if (state === undefined) return undefined;
  if (state instanceof Mapped) return state.mapStates.map((child) => child.result);
  return state.result;
}

/**
 * The states triggers and reference-task checks look at: a `Mapped` state stands for its children
 * (Prefect's `_get_all_states_as_set`). Returns `states` itself when none is mapped.
 */
export function expandStates(states: readonly State[]): readonly State[] {
  let mapped = false;
  for (let i = 0; i < states.length; i++) if (states[i] instanceof Mapped) mapped = true;
  if (!mapped) return states;
  const out: State[] = [];
  for (const s of states) {
    if (s instanceof Mapped) out.push(...s.mapStates);
    else out.push(s);
  }
  return out;
}

/** True when the state, or one of a mapped state's children, failed: a reference task that fails the flow. */
export function failedOrChildFailed(state: State): boolean {
  if (state.isFailed()) return true;
  return state instanceof Mapped && state.mapStates.some((child) => child.isFailed());
}

/**
 * One child of a mapped task: per input position, the child's item as a state (undefined for
 * unmapped inputs). An item of a mapped upstream task is that task's child state; any other
 * item is `Success` with the item as its result.
 */
export interface MapChild {
  readonly index: number;
  readonly items: readonly (State | undefined)[];
}

/** What a mapped task does before any child runs: end at once (`verdict`), or run these children. */
export type MapPlan = { readonly verdict: State; readonly children?: undefined } | { readonly verdict?: undefined; readonly children: readonly MapChild[] };

/** The value an input stands for before mapping: an upstream state (task inputs) or a value. */
export interface MapInputSource {
  /** The whole final state of an upstream task, by name. */
  state(taskName: string): State | undefined;
  parameters: Readonly<Record<string, unknown>>;
}

/** A human-readable type of a value, for errors: "an object", "a string", "null". */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  const t = typeof value;
  return t === "object" ? "an object" : `a ${t}`;
}

function inputLabel(input: InputSpec, position: number): string {
  if (input.kind === "task") return `the result of \`${input.task.name}\``;
  if (input.kind === "parameter") return `the parameter \`${input.name}\``;
  return `argument ${position + 1}`;
}

/**
 * Decides a mapped task's children from its upstream tasks' final states (Prefect's
 * `check_upstream_skipped` and `check_task_ready_to_map`): Skipped when an upstream task was
 * (and `skipOnUpstreamSkip`); `TriggerFailed` when a task it maps over did not succeed; `Failed`,
 * naming the task and the value's type, when what it maps over is not a list (or `flatten` of a
 * non-list of lists), or when the lists differ in length; else one child per item.
 */
export function planMap(node: FlowNode, source: MapInputSource): MapPlan {
  const task = node.task;
  if (task.skipOnUpstreamSkip) {
    for (const u of node.upstream) if (source.state(u.name)?.isSkipped()) return { verdict: new Skipped(UPSTREAM_SKIPPED_MESSAGE) };
  }
  const notTaken = caseNotTaken(node, (condition) => source.state(condition.name), upstreamResult);
  if (notTaken) return { verdict: new Skipped(caseSkippedMessage(notTaken)) };
  const lists: { position: number; items: State[] }[] = [];
  for (let position = 0; position < node.inputs.length; position++) {
    const input = node.inputs[position]!;
    if (!input.mapped) continue;
    let whole: State;
    if (input.kind === "task") {
      const state = source.state(input.task.name);
      if (!state || !state.isSuccessful()) {
        return {
          verdict: new TriggerFailed(
            `Task \`${task.name}\` cannot map over \`${input.task.name}\`, which ended ${state?.name ?? "without a state"}; ` +
              "it needs that task's list. Mapping runs once the tasks it maps over succeeded.",
          ),
        };
      }
      whole = state;
    } else {
      const value = input.kind === "parameter" ? (Object.hasOwn(source.parameters, input.name) ? source.parameters[input.name] : input.default) : input.value;
      whole = new Success(undefined, { result: value });
    }
    const label = inputLabel(input, position);
    let items: State[];
    if (whole instanceof Mapped && !input.flatten) items = whole.mapStates;
    else {
      const value = upstreamResult(whole);
      if (!Array.isArray(value)) {
        return {
          verdict: new Failed(
            `Task \`${task.name}\` maps over ${label}, which is ${describe(value)}, not an array; ` +
              `return an array from it, or pass it whole to every child with unmapped(...).`,
          ),
        };
      }
      if (input.flatten) {
        const flat: unknown[] = [];
        for (let k = 0; k < value.length; k++) {
          const inner: unknown = value[k];
          if (!Array.isArray(inner)) {
            return {
              verdict: new Failed(
                `Task \`${task.name}\` maps over flatten(${label}), whose item ${k} is ${describe(inner)}, not an array; ` +
                  "flatten(...) takes a list of lists (map without flatten over a plain list).",
              ),
            };
          }
          for (const item of inner) flat.push(item);
        }
        items = flat.map((item) => new Success(undefined, { result: item }));
      } else items = value.map((item) => new Success(undefined, { result: item }));
    }
    lists.push({ position, items });
  }
  const count = lists[0]!.items.length;
  const other = lists.find((l) => l.items.length !== count);
  if (other) {
    const first = lists[0]!;
    return {
      verdict: new Failed(
        `Task \`${task.name}\` maps over lists of different lengths: ${inputLabel(node.inputs[first.position]!, first.position)} has ${count} items, ` +
          `${inputLabel(node.inputs[other.position]!, other.position)} has ${other.items.length}; map over lists of one length, ` +
          "or pass a list whole to every child with unmapped(...).",
      ),
    };
  }
  const children: MapChild[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const items: (State | undefined)[] = new Array(node.inputs.length);
    for (const l of lists) items[l.position] = l.items[i];
    children[i] = { index: i, items };
  }
  return { children };
}

/**
 * A child's upstream states, in `node.upstream` order, for its trigger and skip checks: the item
 * of a task it maps over (that task's child, or the item as `Success`), else the task's whole state.
 */
export function childUpstreamStates(node: FlowNode, child: MapChild, whole: (taskName: string) => State | undefined): State[] {
  return node.upstream.map((u) => {
    for (let position = 0; position < node.inputs.length; position++) {
      const input = node.inputs[position]!;
      if (input.mapped && input.kind === "task" && input.task === u) return child.items[position]!;
    }
    const state = whole(u.name);
    if (!state) throw new FlowDefinitionError(`${String(node.task)} has no state for its upstream task \`${u.name}\`.`);
    return state;
  });
}

/** A child's arguments: its items where mapped, the usual values elsewhere. */
export function childInputs(node: FlowNode, child: MapChild, whole: (taskName: string) => State | undefined, parameters: Readonly<Record<string, unknown>>): unknown[] {
  return node.inputs.map((input, position) => {
    if (input.mapped) return upstreamResult(child.items[position]);
    if (input.kind === "task") return upstreamResult(whole(input.task.name));
    if (input.kind === "parameter") return Object.hasOwn(parameters, input.name) ? parameters[input.name] : input.default;
    return input.value;
  });
}
