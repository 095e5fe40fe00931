/**
 * Flows: DAGs of tasks, built from a list (`tasks: [...]`) or by calling tasks inside a builder.
 * `flow.graph()` is the validated, topologically sorted form that the local runner, the compiler
 * and the task Lambda all read.
 */
import { brand } from "./brand";
import { FlowDefinitionError } from "./errors";
import { onFailureHandler, validateStateHandlers, type StateHandler } from "./handlers";
import type { State } from "./states";
import type { FlowGraph, FlowNode } from "./graph";
export type { FlowGraph, FlowNode } from "./graph";
import {
  Flattened,
  isTask,
  Unmapped,
  ParameterRef,
  Task,
  TaskRef,
  withBuilder,
  type BuilderSink,
  type CaseGuard,
  type InputSpec,
} from "./task";
import { checkFlowRunCycles, FlowRunTask, MergeTask } from "./control";
import { checkParameters, runFlow, type RunOptions } from "./runner";

export interface FlowOptions {
  /** The flow's name (also the state machine's name stem in the cloud). */
  name: string;
  /** Tasks with no edges between them (the list form). @default [] */
  tasks?: Task<any, any>[];
  /** Called on every state change of the flow, in order. @default [] */
  stateHandlers?: StateHandler<Flow>[];
  /** Called as `onFailure(flow, state)` when the flow enters a failed state. @default - none */
  onFailure?: (flow: Flow, state: State) => void | Promise<void>;
  /** The tasks whose states decide the flow's final state. @default - the terminal tasks */
  referenceTasks?: (Task<any, any> | TaskRef<unknown>)[];
  /**
   * Notifiers attached to the flow and to every task, after their own state handlers
   * (e.g. `[slackNotifier({ onlyStates: [Failed, Retrying] })]`). @default []
   */
  alerts?: StateHandler[];
}

const STATE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export class Flow {
  readonly name: string;
  /** Declared state handlers, then `onFailure`, then `alerts`, in call order. */
  readonly stateHandlers: readonly StateHandler<Flow>[];
  readonly alerts: readonly StateHandler[];
  private readonly nodes = new Map<
    Task<any, any>,
    { inputs: InputSpec[]; upstream: Set<Task<any, any>>; mapped?: boolean; cases?: readonly CaseGuard[] }
  >();
  /** The `caseOf` blocks the builder is inside now, outermost first. */
  private caseStack: readonly CaseGuard[] = [];
  /** Names of the tasks added so far, and the next suffix to try per repeated task: a task called n times costs O(n), not O(n³). */
  private readonly names = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  private readonly explicitReferenceTasks?: Task<any, any>[];
  private cachedGraph?: FlowGraph;

  constructor(options: FlowOptions, build?: () => void) {
    if (!options || typeof options !== "object" || typeof options.name !== "string" || options.name.trim() === "") {
      throw new FlowDefinitionError('A flow needs a name: new Flow({ name: "orders" }).');
    }
    this.name = options.name;
    const owner = `Flow \`${this.name}\``;
    this.alerts = validateStateHandlers(options.alerts, `${owner} (alerts)`);
    this.stateHandlers = [
      ...validateStateHandlers(options.stateHandlers, owner),
      ...onFailureHandler(options.onFailure, owner),
      ...this.alerts,
    ];
    if (options.tasks !== undefined) {
      if (!Array.isArray(options.tasks)) throw new FlowDefinitionError(`${owner}: \`tasks\` must be an array of tasks.`);
      options.tasks.forEach((t, i) => {
        if (!isTask(t)) {
          throw new FlowDefinitionError(`${owner}: tasks[${i}] is not a Task; make it with task(fn) or new Task().`);
        }
        this.addTask(t);
      });
    }
    if (build !== undefined) {
      if (typeof build !== "function") throw new FlowDefinitionError(`${owner}: the second argument must be a builder function.`);
      const result = withBuilder(this.sink(), build) as unknown;
      if (result instanceof Promise) {
        throw new FlowDefinitionError(`${owner}: the builder function must be synchronous; do async work inside tasks.`);
      }
    }
    if (options.referenceTasks !== undefined) {
      this.explicitReferenceTasks = options.referenceTasks.map((r) => (r instanceof TaskRef ? r.task : r));
      for (const t of this.explicitReferenceTasks) {
        if (!this.nodes.has(t)) {
          throw new FlowDefinitionError(`${owner}: reference task ${String(t)} is not part of the flow; add it to the flow first.`);
        }
      }
    }
    const graph = this.graph();
    if (graph.nodes.some((n) => n.kind === "flowRun")) checkSubFlows(this.name, graph);
  }

  /** All tasks in the flow, in the order they were added. */
  get tasks(): Task<any, any>[] {
    return [...this.nodes.keys()];
  }

  /** Adds a task with no edges (if it is not in the flow yet). */
  private addTask(t: Task<any, any>): void {
    if (!this.nodes.has(t)) {
      this.nodes.set(t, { inputs: [], upstream: new Set() });
      this.names.add(t.name);
    }
    this.cachedGraph = undefined;
  }

  private sink(): BuilderSink {
    return {
      addCall: (called, args, mapped = false) => {
        // A task called twice becomes two nodes with distinct names, as in Prefect.
        let node = called;
        if (this.nodes.has(called)) {
          // Names are never removed, so every suffix below the last one given is taken.
          let n = this.nextSuffix.get(called.name) ?? 2;
          while (this.names.has(`${called.name}-${n}`)) n++;
          this.nextSuffix.set(called.name, n + 1);
          node = called.copy({ name: `${called.name}-${n}` });
        }
        const spec = (arg: unknown): InputSpec => {
          if (arg instanceof TaskRef) return { kind: "task", task: arg.task };
          if (arg instanceof ParameterRef) {
            return { kind: "parameter", name: arg.name, default: arg.defaultValue, hasDefault: arg.hasDefault };
          }
          if (isTask(arg)) {
            throw new FlowDefinitionError(
              `${String(node)} was passed the task ${String(arg)} itself; pass the result of calling it: ${arg.name}(...).`,
            );
          }
          if (arg instanceof Unmapped || arg instanceof Flattened) {
            const wrapper = arg instanceof Unmapped ? "unmapped" : "flatten";
            throw new FlowDefinitionError(
              mapped
                ? `${String(node)}.map(...) was passed ${wrapper}(${wrapper}(...)); wrap an argument once.`
                : `${String(node)} was passed ${wrapper}(...) in a plain call; ${wrapper}(...) only means something inside ${called.name}.map(...).`,
            );
          }
          return { kind: "constant", value: arg };
        };
        const inputs: InputSpec[] = args.map((arg) => {
          if (!mapped) return spec(arg);
          if (arg instanceof Unmapped) return spec(arg.value);
          if (arg instanceof Flattened) return { ...spec(arg.value), mapped: true, flatten: true };
          return { ...spec(arg), mapped: true };
        });
        if (mapped && !inputs.some((input) => input.mapped)) {
          throw new FlowDefinitionError(
            `${String(node)}.map(...) needs at least one argument to map over (a list, or a task's result that is one); ` +
              `every argument was wrapped in unmapped(...). Call ${called.name}(...) instead to run it once.`,
          );
        }
        const upstream = new Set<Task<any, any>>();
        for (const input of inputs) if (input.kind === "task") upstream.add(input.task);
        // A task in a case block waits for each condition (and, as in Prefect, sees it as an upstream task).
        for (const guard of this.caseStack) upstream.add(guard.condition);
        this.nodes.set(node, this.caseStack.length > 0 ? { inputs, upstream, mapped, cases: this.caseStack } : { inputs, upstream, mapped });
        this.names.add(node.name);
        this.cachedGraph = undefined;
        return new TaskRef(node, this.sink());
      },
      addOrdering: (t, upstream) => {
        const node = this.nodes.get(t);
        if (!node || !this.nodes.has(upstream)) {
          throw new FlowDefinitionError(`${String(t)}.after(${String(upstream)}): both tasks must be called in this flow's builder.`);
        }
        node.upstream.add(upstream);
        this.cachedGraph = undefined;
      },
      withCase: (guard, build) => {
        if (!this.nodes.has(guard.condition)) {
          throw new FlowDefinitionError(`caseOf(${String(guard.condition)}, …): the condition must be a task called in this flow's builder.`);
        }
        const outer = this.caseStack;
        this.caseStack = [...outer, guard];
        try {
          return build();
        } finally {
          this.caseStack = outer;
        }
      },
      casesOf: (t) => this.nodes.get(t)?.cases ?? [],
    };
  }

  /** The validated DAG: refuses duplicate names, invalid names and cycles with an error that names the fix. */
  graph(): FlowGraph {
    if (this.cachedGraph) return this.cachedGraph;
    const owner = `flow \`${this.name}\``;
    const byName = new Map<string, FlowNode>();
    const seenNames = new Map<string, Task<any, any>>();
    for (const t of this.nodes.keys()) {
      const other = seenNames.get(t.name);
      if (other) {
        throw new FlowDefinitionError(
          `Task name \`${t.name}\` is used twice in ${owner}; give one of them { name: … }.`,
        );
      }
      if (!STATE_NAME_RE.test(t.name)) {
        throw new FlowDefinitionError(
          `Task name \`${t.name}\` in ${owner} cannot name a Step Functions state or Lambda function; ` +
            `use 1-64 letters, digits, "-" or "_" (e.g. { name: "${t.name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64)}" }).`,
        );
      }
      seenNames.set(t.name, t);
    }

    // Kahn's algorithm; whatever is left over sits on a cycle.
    const indegree = new Map<Task<any, any>, number>();
    const downstream = new Map<Task<any, any>, Task<any, any>[]>();
    for (const [t, node] of this.nodes) {
      indegree.set(t, node.upstream.size);
      for (const u of node.upstream) {
        const list = downstream.get(u);
        if (list) list.push(t);
        else downstream.set(u, [t]);
      }
    }
    const order: Task<any, any>[] = [];
    const ready = [...this.nodes.keys()].filter((t) => indegree.get(t) === 0);
    for (let i = 0; i < ready.length; i++) {
      const t = ready[i]!;
      order.push(t);
      for (const d of downstream.get(t) ?? []) {
        const left = indegree.get(d)! - 1;
        indegree.set(d, left);
        if (left === 0) ready.push(d);
      }
    }
    if (order.length !== this.nodes.size) {
      const placed = new Set(order);
      const stuck = [...this.nodes.keys()].filter((t) => !placed.has(t)).map((t) => t.name);
      throw new FlowDefinitionError(
        `${owner[0]!.toUpperCase()}${owner.slice(1)} has a cycle through ${stuck.map((n) => `\`${n}\``).join(", ")}; ` +
          `remove one of the .after(...) edges between them.`,
      );
    }

    const parameters = new Set<string>();
    const nodes = order.map((t): FlowNode => {
      const node = this.nodes.get(t)!;
      for (const input of node.inputs) if (input.kind === "parameter") parameters.add(input.name);
      const built: FlowNode = {
        task: t,
        name: t.name,
        inputs: node.inputs,
        upstream: [...node.upstream],
        stateHandlers: [...t.stateHandlers, ...this.alerts],
        mapped: node.mapped === true,
        // Always present (undefined when unused): every node keeps one shape for the engine's reads.
        cases: node.cases,
        kind: t instanceof MergeTask ? "merge" : t instanceof FlowRunTask ? "flowRun" : undefined,
      };
      byName.set(t.name, built);
      return built;
    });
    const terminalTasks = order.filter((t) => !downstream.has(t));
    this.cachedGraph = {
      nodes,
      byName,
      terminalTasks,
      referenceTasks: this.explicitReferenceTasks ?? terminalTasks,
      parameters: [...parameters],
    };
    return this.cachedGraph;
  }

  /** Runs the flow locally, in-process. Resolves to the flow's final state; its `result` maps each task to its final state. */
  async run(options: RunOptions = {}): Promise<State & { result: Map<Task<any, any>, State> }> {
    return runFlow(this, options);
  }

  toString(): string {
    return `<Flow: name=${this.name}>`;
  }
}

brand(Flow, "flow");

/** A flow's `flowRun` tasks: no cycle back to the flow, and parameters the other flow knows. */
function checkSubFlows(name: string, graph: FlowGraph): void {
  checkFlowRunCycles(name, graph);
  for (const node of graph.nodes) {
    if (node.task instanceof FlowRunTask) checkParameters(node.task.flow, node.task.parameters);
  }
}

/** True for a flow, including one made by another copy of flowhooks (its CommonJS or ESM build). */
export function isFlow(value: unknown): value is Flow {
  return value instanceof Flow;
}
