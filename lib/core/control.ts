/**
 * Control flow (Prefect 1.x `case`, `merge`, `ifelse`, `StartFlowRun`): what the builder records.
 * `caseOf` guards the tasks called in its block (`FlowNode.cases`); `merge` and `flowRun` are
 * tasks of their own kinds. What they decide at run time is a step of the attempt (attempt.ts):
 * `checkCase`, `pickMergedInput`, and the sub-flow body. `LOOP` (signals.ts) and `manualOnly`
 * (triggers.ts) need nothing here.
 */
import { isDeepStrictEqual } from "node:util";
import { brand } from "./brand";
import { FlowDefinitionError } from "./errors";
import type { FlowGraph, FlowNode, RunnableFlow } from "./graph";
import type { State } from "./states";
import { currentBuilder, isTask, Task, TaskRef, type CaseGuard, type TaskOptions } from "./task";

let nextBlock = 1;

/**
 * Prefect's `with case(cond, value):`. Tasks called in `block` run only when `condition`'s result
 * equals `value` (`===`, or deep equality for JSON values); otherwise each ends `Skipped`, and
 * tasks downstream of them are skipped as usual. Returns what `block` returns (a ref, for `merge`).
 */
export function caseOf<T>(condition: TaskRef<unknown>, value: unknown, block: () => T): T {
  const sink = currentBuilder();
  if (!sink) {
    throw new FlowDefinitionError("caseOf(...) was called outside a flow builder; call it inside new Flow({ name }, () => { … }).");
  }
  if (!(condition instanceof TaskRef)) {
    const what = isTask(condition) ? `the task ${String(condition)} itself` : "a value that is not a task's result";
    throw new FlowDefinitionError(
      `caseOf(...) was given ${what}; pass the result of calling a task: caseOf(check(x), true, () => { … }) ` +
        `(wrap a parameter or a constant in a task first).`,
    );
  }
  if (typeof block !== "function") {
    throw new FlowDefinitionError("caseOf(cond, value, block) needs a function as its third argument: caseOf(cond, true, () => { … }).");
  }
  return sink.withCase({ condition: condition.task, value, block: nextBlock++ }, block);
}

/** True when a condition's result selects a case block. */
export function caseMatches(result: unknown, value: unknown): boolean {
  return result === value || isDeepStrictEqual(result, value);
}

/**
 * The first `caseOf` block of `node` that was not taken (its condition succeeded with another
 * value), or undefined. A condition that did not succeed is the trigger's to judge (TriggerFailed,
 * as in Prefect). The one place that decides whether a case block runs: the attempt and the map
 * planner both ask it, passing map.ts's `upstreamResult` as `resultOf` (what a downstream task receives).
 */
export function caseNotTaken(
  node: FlowNode,
  conditionState: (condition: Task<any, any>) => State | undefined,
  resultOf: (state: State) => unknown,
): CaseGuard | undefined {
  const cases = node.cases;
  if (cases === undefined) return undefined;
  for (const guard of cases) {
    const state = conditionState(guard.condition);
    if (state !== undefined && state.isSuccessful() && !caseMatches(resultOf(state), guard.value)) return guard;
  }
  return undefined;
}

/** The message of a task skipped because its case block was not taken. */
export function caseSkippedMessage(guard: CaseGuard): string {
  return `Case \`${guard.condition.name}\` did not return ${describeValue(guard.value)}; the task is in a branch not taken.`;
}

function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The task `merge(...)` adds: its one input is the first upstream result that is not Skipped. */
export class MergeTask extends Task<[unknown], unknown> {
  static readonly defaultTaskName = "merge";
  constructor(options: TaskOptions = {}) {
    super({ ...options, skipOnUpstreamSkip: false });
  }
  override run(value: unknown): unknown {
    return value;
  }
}

/** Prefect's `merge`: a ref to the first of `refs` (in order) that was not Skipped; Skipped when all were. */
export function merge<T>(...refs: (TaskRef<T> | undefined)[]): TaskRef<T> {
  const sink = currentBuilder();
  if (!sink) {
    throw new FlowDefinitionError("merge(...) was called outside a flow builder; call it inside new Flow({ name }, () => { … }).");
  }
  const given = refs.filter((r): r is TaskRef<T> => r !== undefined);
  if (given.length === 0) throw new FlowDefinitionError("merge(...) needs at least one task result: merge(a, b).");
  const blocks = new Map<number, TaskRef<T>>();
  for (const ref of given) {
    if (!(ref instanceof TaskRef)) {
      throw new FlowDefinitionError("merge(...) takes task results (the value a task call returns), one per caseOf branch.");
    }
    const cases = sink.casesOf(ref.task);
    const block = cases[cases.length - 1]?.block;
    const other = block === undefined ? undefined : blocks.get(block);
    if (other) {
      throw new FlowDefinitionError(
        `merge(...) was given ${String(other.task)} and ${String(ref.task)} from the same caseOf branch; ` +
          `pass one result per branch (the branch's last task): merge(fromBranchA, fromBranchB).`,
      );
    }
    if (block !== undefined) blocks.set(block, ref);
  }
  return sink.addCall(MERGE, given) as TaskRef<T>;
}

/** Prefect's `ifelse`: `caseOf(cond, true, onTrue)` + `caseOf(cond, false, onFalse)` + `merge` of what they return. */
export function ifElse<T>(condition: TaskRef<unknown>, onTrue: () => TaskRef<T>, onFalse: () => TaskRef<T>): TaskRef<T> {
  const a = caseOf(condition, true, onTrue);
  const b = caseOf(condition, false, onFalse);
  for (const [ref, which] of [[a, "first"], [b, "second"]] as const) {
    if (!(ref instanceof TaskRef)) {
      throw new FlowDefinitionError(`ifElse(cond, onTrue, onFalse): the ${which} function must return a task's result: () => load(x).`);
    }
  }
  return merge(a, b);
}

/** What `flowRun` is told: the parameters the other flow runs with. */
export interface FlowRunOptions {
  /** The other flow's parameters. @default {} */
  parameters?: Record<string, unknown>;
  /** The task's name. @default - `run-` and the other flow's name */
  name?: string;
}

/** The task `flowRun(...)` makes: it runs another flow and ends in that flow's final state. */
export class FlowRunTask extends Task<[], Map<Task<any, any>, State>> {
  declare readonly flow: RunnableFlow;
  declare readonly parameters: Readonly<Record<string, unknown>>;
  override copy(overrides: TaskOptions = {}): FlowRunTask {
    return makeFlowRunTask(this.flow, this.parameters, { ...this.options, ...overrides });
  }
}

/**
 * Prefect's `StartFlowRun`: a task that runs `flow` (locally, through `flow.run()` with this run's
 * clock and `approve`) and ends in that flow's final state; its result is the flow's result.
 * Call it in a builder like any task: `const sub = flowRun(etl, { parameters: { day } }); sub();`.
 */
export function flowRun(flow: RunnableFlow, options: FlowRunOptions & TaskOptions = {}): FlowRunTask {
  if (!isRunnableFlow(flow)) {
    throw new FlowDefinitionError(
      "flowRun(flow) needs a Flow that already exists (a flow cannot run itself: that would be a cycle); " +
        "build the other flow first: const etl = new Flow({ name: \"etl\" }, …); flowRun(etl).",
    );
  }
  const { parameters = {}, ...taskOptions } = options;
  return makeFlowRunTask(flow, parameters, taskOptions);
}

function makeFlowRunTask(flow: RunnableFlow, parameters: Readonly<Record<string, unknown>>, options: TaskOptions): FlowRunTask {
  const name = options.name ?? `run-${flow.name}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  const made = new FlowRunTask({ ...options, name });
  Object.defineProperty(made, "flow", { value: flow, enumerable: true });
  Object.defineProperty(made, "parameters", { value: Object.freeze({ ...parameters }), enumerable: true });
  return made;
}

function isRunnableFlow(value: unknown): value is RunnableFlow {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as RunnableFlow).name === "string" &&
    typeof (value as RunnableFlow).graph === "function"
  );
}

/**
 * Refuses a flow that runs itself through `flowRun`, directly or through other flows (flows are
 * told apart by name: deployed, a name is a state machine).
 */
export function checkFlowRunCycles(name: string, graph: FlowGraph): void {
  const walk = (g: FlowGraph, path: string[]): void => {
    for (const node of g.nodes) {
      if (node.kind !== "flowRun") continue;
      const sub = (node.task as FlowRunTask).flow;
      const through = [...path, sub.name];
      if (sub.name === name) {
        throw new FlowDefinitionError(
          `Flow \`${name}\` runs itself through flowRun (${through.map((n) => `\`${n}\``).join(" → ")}), a cycle; ` +
            `remove that flowRun, or give the inner flow another name if it is a different flow.`,
        );
      }
      if (!path.includes(sub.name)) walk(sub.graph(), through);
    }
  };
  walk(graph, [name]);
}

const MERGE = new MergeTask();

brand(MergeTask, "task.merge");
brand(FlowRunTask, "task.flowRun");
