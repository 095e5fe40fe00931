/**
 * The shape of a flow that the engine reads: its validated graph (`flow.graph()`) and the nodes in
 * it. Below flow.ts and runner.ts, so the runner, the map planner and the task Lambda read a flow
 * without importing the class that builds one (and `Flow.run()` can call the runner).
 */
import type { StateHandler } from "./handlers";
import type { CaseGuard, InputSpec, Task } from "./task";
export type { CaseGuard } from "./task";

/** One task in a flow, with where its arguments come from and what it waits for. */
export interface FlowNode {
  readonly task: Task<any, any>;
  readonly name: string;
  readonly inputs: readonly InputSpec[];
  /** Every upstream task (data and ordering edges), each once. */
  readonly upstream: readonly Task<any, any>[];
  /** Handlers to call on this task's transitions: its own, then the flow's `alerts`. */
  readonly stateHandlers: readonly StateHandler<Task<any, any>>[];
  /** A `task.map(...)` call: one child run per item, the node's own state ends `Mapped`. */
  readonly mapped: boolean;
  /**
   * The `caseOf(...)` blocks the task was called in, outermost first: it runs only when each
   * condition task's result equals the block's value (each condition task is also an upstream task).
   * @default []
   */
  readonly cases?: readonly CaseGuard[];
  /**
   * A task the engine runs in its own way: a `merge(...)` or a `flowRun(...)` (decided once, when
   * the graph is built, so the attempt never asks a task's class). @default - an ordinary task
   */
  readonly kind?: "merge" | "flowRun";
}


export interface FlowGraph {
  /** Nodes in a topological order (every node after its upstream nodes). */
  readonly nodes: readonly FlowNode[];
  readonly byName: ReadonlyMap<string, FlowNode>;
  readonly referenceTasks: readonly Task<any, any>[];
  readonly terminalTasks: readonly Task<any, any>[];
  readonly parameters: readonly string[];
}

/** What the runner needs of a flow: `Flow` is one; the runner never imports the class. */
export interface RunnableFlow {
  readonly name: string;
  readonly stateHandlers: readonly StateHandler<any>[];
  graph(): FlowGraph;
}
