/**
 * Flow → Amazon States Language (JSONPath). Pure data: no CDK, no AWS SDK, so the definition is
 * testable without synthesizing and the emulator can run it with local function ARNs.
 *
 * Shape: a `Pass` that keeps the execution input as `$.parameters`, then one state per topological level (the task
 * itself, or a `Parallel` with one branch per task), then a `Choice` over the reference tasks.
 * Each task's output sits at a static path (`$.L<i>.<key>` or `$.L<i>[<branch>].<key>`, `stateKeys`), so
 * downstream payloads read upstream outputs by JSONPath and nothing needs merging. Triggers and
 * skips are decided inside the task Lambda (by the engine), so every task state runs.
 */
import type { Flow, FlowNode } from "../core/flow";
import type { Task } from "../core/task";
import {
  FLOW_FAILED_ERROR,
  HISTORY_EVENTS_PER_LAMBDA_ATTEMPT,
  HISTORY_EVENTS_PER_STATE_ENTRY,
  LOOPED_ERROR,
  MAP_PREPARE_FIELDS,
  PRUNED_FLAG,
  RETRYING_ERROR,
  stateKeys,
  toTaskOutput,
  type MapMode,
} from "../../lambdas/task/payload";
// Part of the payload contract (the task Lambda reads a sub-flow's output by them); exported here as before.
export { stateKeys };
// The flag is part of the payload contract the handler Lambda reads too; exported here as before.
export { PRUNED_FLAG };
import { CompileError } from "./errors";
import { flowRunStateNames, flowRunStates, START_EXECUTION_TRANSIENT_ERRORS } from "./flow-run";
import { LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TOKEN, START_EXECUTION_SYNC } from "./resources";
export { LAMBDA_INVOKE_WAIT_FOR_TOKEN };
import type { FlowRunTask } from "../core/control";
import { mapStateNames, STATE_NAMES } from "../aws/state-names";
// The state names are the contract with the history reader (lib/aws); exported here as before.
export { mapStateNames, STATE_NAMES };
import { FlowDefinitionError } from "../core/errors";
import { Success } from "../core/states";
import { isManualOnly } from "../core/triggers";
import { APPROVAL_ANSWER_ERRORS, APPROVAL_PATH, approvalStateName, MAX_APPROVAL_TIMEOUT_SECONDS } from "../aws/approvals";

/** One ASL state, as JSON. */
export type AslState = Record<string, unknown>;

/** A JSONPath ASL state machine definition. */
export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
}

/** Retries of the Lambda service's own transient errors (not the task's retries). */
export interface TransientRetryOptions {
  /** Retries after the first invocation. @default 3 */
  readonly maxAttempts?: number;
  /** Seconds before the first retry. @default 1 */
  readonly intervalSeconds?: number;
  /** Delay multiplier per retry. @default 2 */
  readonly backoffRate?: number;
}

export interface CompileOptions {
  /**
   * The ARN of the Lambda function that runs the task, or a placeholder or CDK token standing for
   * it (the emulator passes local ARNs, the construct passes tokens).
   */
  readonly taskFunctionArn: (taskName: string) => string;
  /** Retries of transient Lambda service errors (throttling, service exceptions). @default - 3 attempts, 1 s, ×2 */
  readonly transientRetry?: TransientRetryOptions;
  /**
   * A state inserted before the final `Succeed` / `Fail` that reports the flow's final state (e.g.
   * an `events:putEvents` task). Return it without `Next`/`End`; the compiler links it.
   * @default - none: the `Choice` goes straight to `Succeed` / `Fail`
   */
  readonly reportFinalState?: (outcome: "Succeeded" | "Failed") => AslState;
  /** Above this many reference tasks the `Fail` cause no longer lists the failed ones. @default 20 */
  readonly maxNamedReferenceTasks?: number;
  /**
   * The ARN of child state machine `index`, or a placeholder for it. A flow whose definition would
   * pass `partDefinitionChars` is split by levels into child state machines that the parent starts
   * one after another (`states:startExecution.sync:2`); without this option such a flow is refused.
   * @default - no splitting
   */
  readonly childStateMachineArn?: (index: number) => string;
  /**
   * The ARN of the state machine that runs flow `flowName` for the flow's `flowRun(...)` tasks, or a
   * placeholder or CDK token for it (`FlowStateMachine` takes these from its `flowRuns` prop).
   * @default - none: a flow with a `flowRun` task is refused
   */
  readonly flowRunStateMachineArn?: (flowName: string) => string | undefined;
  /** The most characters the levels of one state machine may take before the flow is split. @default 900000 */
  readonly partDefinitionChars?: number;
  /**
   * How a mapped task's children run: `"inline"` (a `Map` state in the execution), `"distributed"`
   * (a Distributed Map: one child execution per item, items and results through `resultsBucket`),
   * or `"auto"` (the prepare step picks distributed when the items could not fit inline).
   * Without `resultsBucket` every map is inline and `"distributed"` is refused.
   * @default - "auto" for every mapped task
   */
  readonly mapMode?: (taskName: string) => MapMode | undefined;
  /**
   * The name of the results bucket (or a placeholder or CDK token for it) Distributed Maps read
   * their items from (`ItemReader`) and write their children's results to (`ResultWriter`).
   * @default - none: mapped tasks run as inline Maps only
   */
  readonly resultsBucket?: string;
}

/** Where one task lives in the compiled definition. */
export interface CompiledTask {
  readonly name: string;
  /** Its topological level (0 = no upstream tasks). */
  readonly level: number;
  /** The name of its `Task` state. */
  readonly stateName: string;
  /** The name of the `Pass` state that records an infrastructure failure. */
  readonly infraStateName: string;
  /** Its key in the execution JSON (a plain identifier; see `stateKeys`). */
  readonly stateKey: string;
  /** The static JSONPath of its output (`TaskOutput`) in the execution JSON after its level ran. */
  readonly outputPath: string;
  /** A `task.map(...)` call: its states are `mapStateNames(name)`, in a `Parallel` branch. */
  readonly mapped: boolean;
}

/** A child state machine of a split flow: it runs levels `fromLevel`..`toLevel`. */
export interface CompiledPart {
  readonly definition: AslDefinition;
  readonly fromLevel: number;
  readonly toLevel: number;
}

export interface CompiledFlow {
  /** The (parent) state machine's definition. */
  readonly definition: AslDefinition;
  /** The child state machines the parent starts in order; empty unless the flow was split. */
  readonly parts: readonly CompiledPart[];
  /** Task names per topological level, in execution order. */
  readonly levels: readonly (readonly string[])[];
  readonly tasks: ReadonlyMap<string, CompiledTask>;
}

/** Where a mapped task's branch keeps the prepare step's output (`MapPrepareOutput`) and the Map's result. */
export const MAP_PATH = "$.flowhooksMap";
/** Where a Distributed Map writes its children's results in the results bucket (Step Functions adds the map run's id). */
export const MAP_RESULTS_PREFIX = "flowhooks-maps";

/**
 * What every task payload reads as `loop` (`LoopSlot`): the history events a loop may use (`budget`),
 * and (`caught`) the last `flowhooks.Looped` error, which each task state's `Catch` for it writes
 * before re-entering the state. Set by the start state, each prune and each Map's `ItemSelector`
 * (a payload path that is missing fails the state), once for the whole flow: not per task.
 */
export const LOOP_PATH = "$.flowhooksLoop";
const LOOP_KEY = LOOP_PATH.slice(2);

/** Step Functions' limit on events in one execution's history. */
export const MAX_HISTORY_EVENTS = 25_000;

/** Where the failure path keeps `{ cause }` (the `Fail` state's cause) in the execution JSON. */
export const FLOW_OUTCOME_PATH = "$.flowhooks";

/**
 * Outputs no later task reads are dropped from the execution JSON (by a `Pass` after the level)
 * once this many have piled up: a 1,000-task chain would otherwise carry every output to the end.
 */
export const PRUNE_AFTER_DEAD_OUTPUTS = 64;

/**
 * Above this many outputs that only the final decision reads (reference tasks no task reads), each
 * is kept in the execution JSON as a compact record (`{ failed }`, or a Catch record's `Error`)
 * instead of the whole task output (~133 bytes even for a `null` result): 2,080 leaves under a
 * 4-task chain otherwise ended at a 278,932-byte state, past Step Functions' 256 KiB
 * (`States.DataLimitExceeded`; test/compile/big-flows-deployed.test.ts).
 * Smaller flows keep whole outputs (their final output shows each task's state).
 */
export const COMPACT_AFTER_DECISION_OUTPUTS = 256;

/**
 * The most bytes the compact records of a flow may take in the execution JSON on its success path;
 * past it the flow is refused at synth, as its level or final state would pass Step Functions'
 * 256 KiB. Three quarters of the limit: 64 KiB stay for the parameters, the outputs later tasks
 * read and the Catch records of tasks that died (~100 bytes each: the task and an error name).
 */
export const MAX_COMPACT_RECORDS_BYTES = 192 * 1024;

/** Where a flow with compact records says, in its execution JSON, where its tasks' states are. */
export const TASK_STATES_NOTE_KEY = "flowhooksTaskStates";
const TASK_STATES_NOTE =
  "Reference tasks no task reads are kept here as { failed } only. Each task's state is in its task events (alerts) and in the execution history: " +
  "flowhooks history <execution ARN> (a split flow's tasks run in child executions, named in the history of its flowhooks.Part<k> states).";

/**
 * The most bytes the task outputs held in the execution JSON at once may take on the success path
 * (a whole output is at least its key and a default `Success` with a `null` result, ~130 bytes);
 * past it the flow is refused at synth: the level or the task reading them would pass Step
 * Functions' 256 KiB. 8 KiB below it, for the parameters and the flow's own fields (a
 * 1,980-task diamond's join measured 262,346 bytes with 254 KiB of outputs).
 */
export const MAX_READ_OUTPUTS_BYTES = 248 * 1024;

/** A compact record's bytes on the success path: `{"<key>":{"failed":false}},` in a Parallel's output array or the final state. */
function compactRecordBytes(stateKey: string): number {
  return Buffer.byteLength(stateKey) + 22;
}

/** The smallest whole output a task can leave in the execution JSON: its key and a default `Success`. */
function smallestWholeOutputBytes(name: string, stateKey: string): number {
  return Buffer.byteLength(JSON.stringify({ [stateKey]: toTaskOutput(name, new Success("Task run succeeded.", { result: null })) })) + 1;
}


/**
 * A Distributed Map's `MaxConcurrency` when the task sets no `mapConcurrency`. Step Functions'
 * own default runs up to 10,000 child executions at once, each invoking the task's function, while
 * Lambda's default account concurrency is 1,000 per Region (less on new accounts) and shared with
 * every other function: 100 leaves 900 of the default, and children past a lower quota are
 * throttled into the transient-error retries rather than failing together. (docs/limits.md, "Maps")
 */
export const DEFAULT_DISTRIBUTED_MAP_CONCURRENCY = 100;

/** Step Functions' limit on a definition's size, in characters. */
export const MAX_DEFINITION_CHARS = 1_048_576;

/**
 * The slice of `$$` a task function reads. Not the whole `$$`: it holds `Execution.Input`, which would
 * put the flow's parameters in every payload a second time (they already come as `parameters`).
 * `State.EnteredTime` (the same for every retry of one entry of the state) goes into each task event,
 * so a task alert and the handler's recovery from history (`TaskStateEntered`) share one key.
 */
const taskContext = (executionIdPath: string) => ({
  Execution: { "Id.$": executionIdPath },
  State: { "EnteredTime.$": "$$.State.EnteredTime", "RetryCount.$": "$$.State.RetryCount" },
});
/** Where a split flow keeps the parent's execution id: task events and result keys name the execution users started. */
const EXECUTION_ID_KEY = "flowhooksExecutionId";
/** A split flow's levels per state machine stay under this many characters (Step Functions allows 1,048,576). */
export const PART_DEFINITION_CHARS = 900_000;
const TRANSIENT_LAMBDA_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];

/** Topological levels: a task's level is one more than its deepest upstream task's. */
export function topologicalLevels(nodes: readonly FlowNode[]): string[][] {
  const levelOf = new Map<Task<any, any>, number>();
  const levels: string[][] = [];
  for (const node of nodes) {
    const level = node.upstream.reduce((max, u) => Math.max(max, levelOf.get(u)! + 1), 0);
    levelOf.set(node.task, level);
    (levels[level] ??= []).push(node.name);
  }
  return levels;
}

/** The `Retry` entry that turns the task's own retry policy into Step Functions retries. */
export function taskRetrier(task: Task<any, any>): AslState | undefined {
  const policy = task.retry;
  if (policy.maxRetries === 0) return undefined;
  const retrier: AslState = {
    ErrorEquals: [RETRYING_ERROR],
    IntervalSeconds: policy.retryDelaySeconds,
    MaxAttempts: policy.maxRetries,
    BackoffRate: policy.backoffRate,
  };
  if (policy.maxDelaySeconds !== undefined) retrier.MaxDelaySeconds = policy.maxDelaySeconds;
  if (policy.jitter !== "NONE") retrier.JitterStrategy = policy.jitter;
  return retrier;
}

/**
 * `signals.LOOP` deployed: the task function ends an iteration by throwing `flowhooks.Looped` (after
 * the chain saw Running → Looped); this `Catch`, first in the list, keeps the error at `LOOP_PATH`
 * and goes through `loopHop` back into the task state, so Step Functions' `Retry` counters start
 * again (retries count per iteration) and a task that never loops costs no extra state transition.
 * No `Retry` matches it.
 */
function loopCatcher(taskState: string): AslState {
  return { ErrorEquals: [LOOPED_ERROR], ResultPath: `${LOOP_PATH}.caught`, Next: STATE_NAMES.loop(taskState) };
}

/**
 * `<task state>.Loop`: a `Pass` back to the task state. The Catch does not name its own state: LocalStack's
 * interpreter (moto's engine) takes a transition to the state it is in for "no transition chosen" and
 * follows the state's `Next` instead; a state in between is plain ASL everywhere, for one transition.
 */
function loopHop(taskState: string): Record<string, AslState> {
  return { [STATE_NAMES.loop(taskState)]: { Type: "Pass", Next: taskState } };
}

/**
 * History events the execution makes besides a loop's iterations, at most: two per state of the
 * definition but the loops' hops (entered and exited, Parallel branches included; a Map's children excluded: their
 * number is known at run time only, and the emulator counts them) and three per Lambda attempt of
 * each Task state, with every retry its policy allows; plus the execution's start and end.
 */
export function historyEventsOutsideLoops(definition: { States: Record<string, AslState> }, attemptsOf: (state: AslState) => number): number {
  let events = 2;
  for (const [name, state] of Object.entries(definition.States)) {
    // A loop's hop back to its task is the loop's to count (its iterations' events), not the flow's.
    if (name.endsWith(STATE_NAMES.loop(""))) continue;
    events += HISTORY_EVENTS_PER_STATE_ENTRY;
    if (state.Type === "Task") events += attemptsOf(state) * HISTORY_EVENTS_PER_LAMBDA_ATTEMPT;
    if (state.Type === "Parallel") for (const branch of state.Branches as { States: Record<string, AslState> }[]) events += historyEventsOutsideLoops(branch, attemptsOf) - 2;
  }
  return events;
}

/** An approval before a sub-flow has no state of its own deployed yet: refused, naming the fix. */
function refuseManualOnlyFlowRuns(flowName: string, graph: FlowGraph): void {
  const node = graph.nodes.find((n) => n.kind === "flowRun" && isManualOnly(n.task.trigger));
  if (!node) return;
  throw new FlowDefinitionError(
    `Flow \`${flowName}\`: the flowRun task \`${node.name}\` has trigger manualOnly, which deploys for ordinary tasks only; ` +
      `put a manualOnly task before it (e.g. \`approve()\` then \`${node.name}().after(...)\`) and give the flowRun the default trigger.`,
  );
}

/** Compiles `flow` to a Standard-workflow JSONPath definition. */
export function compileFlow(flow: Flow, options: CompileOptions): CompiledFlow {
  return new FlowCompiler(flow, options).compile();
}

type Next = { Next: string } | { End: true };
type FlowGraph = ReturnType<Flow["graph"]>;

/**
 * One compilation, read top to bottom in `compile()`: place the tasks, split by levels when too
 * large, chain the levels (a task, a mapped task or a `Parallel` per level, a prune `Pass` where
 * outputs die), then the decision and the final states. One method per construct it compiles.
 */
class FlowCompiler {
  private readonly graph: FlowGraph;
  private readonly levels: string[][];
  private readonly transient: AslState;
  private readonly tasks: Map<string, CompiledTask>;
  private readonly mapModes: Map<string, MapMode>;
  /** `$$.Execution.Id`, or the parent's id kept in the state once the flow is split. */
  private executionIdPath = "$$.Execution.Id";
  private split = false;
  /** The last level that reads each level's outputs (Infinity: the final Choice reads it). */
  private lastUse: number[] = [];
  private readonly pruned = new Set<number>();
  /** Every `LoopSlot` the definition sets (`loopSlot`), to receive the budget once the definition is whole. */
  private readonly loopSlots: { budget: number }[] = [];
  /** Tasks whose output only the final decision reads, kept as compact records (`compactOutputs`). */
  private readonly compact: ReadonlySet<string>;

  constructor(
    private readonly flow: Flow,
    private readonly options: CompileOptions,
  ) {
    this.graph = flow.graph();
    if (this.graph.nodes.length === 0) {
      throw new CompileError(`Flow \`${flow.name}\` has no tasks; add at least one task before deploying it.`);
    }
    refuseManualOnlyFlowRuns(flow.name, this.graph);
    this.checkApprovals();
    this.levels = topologicalLevels(this.graph.nodes);
    this.transient = {
      ErrorEquals: TRANSIENT_LAMBDA_ERRORS,
      IntervalSeconds: options.transientRetry?.intervalSeconds ?? 1,
      MaxAttempts: options.transientRetry?.maxAttempts ?? 3,
      BackoffRate: options.transientRetry?.backoffRate ?? 2,
    };
    this.tasks = this.placeTasks();
    this.mapModes = this.resolveMapModes();
    this.compact = this.compactOutputs();
  }

  /**
   * The reference tasks no task reads (plain tasks: a mapped or flowRun task's output says more
   * than `failed`), when there are more than `COMPACT_AFTER_DECISION_OUTPUTS` of them (and more
   * than the failure cause names, which reads their labels); refused when even their compact
   * records could not fit, naming the fix.
   */
  private compactOutputs(): ReadonlySet<string> {
    const read = new Set(this.graph.nodes.flatMap((n) => n.upstream.map((u) => u.name)));
    const names = this.graph.referenceTasks
      .map((t) => this.graph.byName.get(t.name)!)
      .filter((n) => !read.has(n.name) && !n.mapped && n.kind === undefined)
      .map((n) => n.name);
    if (names.length <= Math.max(COMPACT_AFTER_DECISION_OUTPUTS, this.options.maxNamedReferenceTasks ?? 20)) return new Set();
    const bytes = names.reduce((sum, name) => sum + compactRecordBytes(this.tasks.get(name)!.stateKey), 0);
    if (bytes > MAX_COMPACT_RECORDS_BYTES) {
      throw new CompileError(
        `Flow \`${this.flow.name}\` has ${names.length} reference tasks no task reads; even as compact records (about ${bytes} bytes) their outputs ` +
          `would not stay within Step Functions' 256 KiB per state (${MAX_COMPACT_RECORDS_BYTES} bytes kept for them). ` +
          "Split the flow into flows run with `flowRun(...)`, or run the work as one mapped task " +
          "(`task.map(items)`: a Distributed Map keeps its children's outputs out of the execution).",
      );
    }
    return new Set(names);
  }

  compile(): CompiledFlow {
    const ranges = this.partRanges();
    this.split = ranges.length > 1;
    if (this.split) this.executionIdPath = `$.${EXECUTION_ID_KEY}`;
    const references = this.graph.referenceTasks.map((t) => this.tasks.get(t.name)!);
    this.lastUse = this.lastReaders(references);
    this.refuseWholeOutputsOverLimit();
    const states: Record<string, AslState> = { [STATE_NAMES.start]: this.startState() };
    const afterTasks = references.length > 0 ? STATE_NAMES.decide : this.successTarget();
    const parts = this.split ? this.splitParts(ranges, afterTasks, states) : [];
    if (!this.split) this.chainLevels(0, this.levels.length - 1, afterTasks, states);
    Object.assign(states, this.finalStates(references));
    const definition: AslDefinition = { Comment: `flowhooks flow ${this.flow.name}`, StartAt: STATE_NAMES.start, States: states };
    this.setLoopBudgets([definition, ...parts.map((p) => p.definition)]);
    return { definition, parts, levels: this.levels, tasks: this.tasks };
  }

  /** A task payload: it reads `LOOP_PATH` as `loop`. */
  private loopPayload(payload: AslState): AslState {
    return { ...payload, "loop.$": LOOP_PATH };
  }

  /** A fresh `LoopSlot` (no caught error) for `LOOP_PATH`; its budget is set once the definition is whole. */
  private loopSlot(): { budget: number } {
    const slot = { budget: MAX_HISTORY_EVENTS };
    this.loopSlots.push(slot);
    return slot;
  }

  /**
   * Each task's loop may use the history events the rest of the flow leaves (`historyEventsOutsideLoops`;
   * a split flow's parts counted together, though each is an execution with a history of its own).
   */
  private setLoopBudgets(definitions: readonly AslDefinition[]): void {
    const attempts = (state: AslState) => 1 + Number((state.Retry as AslState[] | undefined)?.find((r) => (r.ErrorEquals as string[]).includes(RETRYING_ERROR))?.MaxAttempts ?? 0);
    const outside = definitions.reduce((n, d) => n + historyEventsOutsideLoops(d, attempts), 0);
    const budget = Math.max(0, MAX_HISTORY_EVENTS - outside);
    for (const slot of this.loopSlots) slot.budget = budget;
  }

  /** Each task's level, state names, key and static output path. */
  private placeTasks(): Map<string, CompiledTask> {
    const tasks = new Map<string, CompiledTask>();
    const keys = stateKeys(this.graph.nodes.map((n) => n.name));
    this.levels.forEach((names, level) => {
      const single = this.soloLevel(names);
      names.forEach((name, branch) => {
        const stateKey = keys.get(name)!;
        const outputPath = single ? `$.L${level}.${stateKey}` : `$.L${level}[${branch}].${stateKey}`;
        const mapped = this.graph.byName.get(name)!.mapped;
        tasks.set(name, { name, level, stateName: name, infraStateName: STATE_NAMES.infra(name), stateKey, outputPath, mapped });
      });
    });
    return tasks;
  }

  /** Each mapped task's mode; without a results bucket every map is inline. */
  private resolveMapModes(): Map<string, MapMode> {
    const modes = new Map<string, MapMode>();
    for (const node of this.graph.nodes) {
      if (!node.mapped) continue;
      const mode = this.options.mapMode?.(node.name) ?? "auto";
      if (mode !== "auto" && mode !== "inline" && mode !== "distributed") {
        throw new CompileError(`Mapped task \`${node.name}\` has mapMode ${JSON.stringify(mode)}; use "auto", "inline" or "distributed".`);
      }
      if (mode === "distributed" && !this.options.resultsBucket) {
        throw new CompileError(
          `Mapped task \`${node.name}\` is set to mapMode "distributed", which needs a results bucket for its items and results; ` +
            `compile with \`resultsBucket\` (FlowStateMachine passes its results bucket) or use mapMode "inline" or "auto".`,
        );
      }
      modes.set(node.name, this.options.resultsBucket ? mode : "inline");
    }
    return modes;
  }

  /** A mapped or flowRun task always sits in a Parallel branch: its states (prepare, Map, collect; start, run, collect) then end the branch. */
  private soloLevel(names: readonly string[]): boolean {
    const node = this.graph.byName.get(names[0]!)!;
    return names.length === 1 && !node.mapped && node.kind !== "flowRun";
  }

  private levelStateName(i: number): string {
    return this.soloLevel(this.levels[i]!) ? this.entryStateName(this.levels[i]![0]!) : STATE_NAMES.level(i);
  }

  /** The first state of a task: its approval wait (`triggers.manualOnly`), else its task state. */
  private entryStateName(name: string): string {
    return this.waitsForApproval(name) ? approvalStateName(name) : name;
  }

  private waitsForApproval(name: string): boolean {
    return isManualOnly(this.graph.byName.get(name)!.task.trigger);
  }

  /** Upstream outputs by task name, as JSONPaths into the execution JSON. */
  private upstreamPaths(node: FlowNode, include: (u: Task<any, any>) => boolean = () => true): Record<string, string> {
    const upstream: Record<string, string> = {};
    for (const u of node.upstream) if (include(u)) upstream[`${u.name}.$`] = this.tasks.get(u.name)!.outputPath;
    return upstream;
  }

  /** The states of level `i`: a single task's, or a `Parallel` with a branch per task. */
  private levelStates(i: number, next: { Next: string }): Record<string, AslState> {
    const names = this.levels[i]!;
    if (this.soloLevel(names)) return this.taskStates(names[0]!, `$.L${i}`, next);
    return {
      [STATE_NAMES.level(i)]: {
        Type: "Parallel",
        Branches: names.map((name) => ({
          StartAt: this.graph.byName.get(name)!.kind === "flowRun" ? flowRunStateNames(name).first : this.entryStateName(name),
          States: this.branchStates(name),
        })),
        ResultPath: `$.L${i}`,
        ...next,
      },
    };
  }

  /** A task's states in a `Parallel` branch. */
  private branchStates(name: string): Record<string, AslState> {
    const node = this.graph.byName.get(name)!;
    if (node.mapped) return this.mappedTaskStates(name);
    if (node.kind === "flowRun") return this.flowRunTaskStates(node);
    return this.taskStates(name, undefined, { End: true });
  }

  /** A `flowRun(other)` task: its function around the other flow's state machine (lib/compile/flow-run.ts). */
  private flowRunTaskStates(node: FlowNode): Record<string, AslState> {
    const other = (node.task as FlowRunTask).flow.name;
    const stateMachineArn = this.options.flowRunStateMachineArn?.(other);
    if (stateMachineArn === undefined) {
      throw new CompileError(
        `Task \`${node.name}\` of flow \`${this.flow.name}\` runs flow \`${other}\` (flowRun), but no state machine for \`${other}\` was given; ` +
          `deploy \`${other}\` with its own FlowStateMachine and pass it: flowRuns: { ${JSON.stringify(other)}: ${camel(other)}Machine }.`,
      );
    }
    const compiled = this.tasks.get(node.name)!;
    return flowRunStates({
      name: node.name,
      stateKey: compiled.stateKey,
      functionArn: this.options.taskFunctionArn(node.name),
      stateMachineArn,
      payload: { task: node.name, "parameters.$": "$.parameters", upstream: this.upstreamPaths(node), context: taskContext(this.executionIdPath) },
      transient: this.transient,
      infra: this.infraCatchState(node.name, undefined, { End: true }),
    });
  }

  /**
   * The task state and its infrastructure-failure `Pass`. `resultPath` is where a single-task level
   * keeps the output; undefined in a `Parallel` branch, whose output replaces its input (the
   * default `ResultPath`, left out because aws-local-stepfunctions mistakes an explicit "$" for a key).
   */
  private taskStates(name: string, resultPath: string | undefined, next: Next): Record<string, AslState> {
    const node = this.graph.byName.get(name)!;
    const compiled = this.tasks.get(name)!;
    const retrier = taskRetrier(node.task);
    const at = resultPath === undefined ? {} : { ResultPath: resultPath };
    const approval = this.waitsForApproval(name) ? { "approval.$": APPROVAL_PATH } : {};
    return {
      ...(this.waitsForApproval(name) ? this.approvalState(name, resultPath) : {}),
      [compiled.stateName]: {
        Type: "Task",
        Resource: LAMBDA_INVOKE,
        Parameters: {
          FunctionName: this.options.taskFunctionArn(name),
          Payload: this.loopPayload({ task: name, "parameters.$": "$.parameters", upstream: this.upstreamPaths(node), context: taskContext(this.executionIdPath), ...approval }),
        },
        ResultSelector: this.compact.has(name) ? { [compiled.stateKey]: { "failed.$": "$.Payload.failed" } } : { [`${compiled.stateKey}.$`]: "$.Payload" },
        ...at,
        Retry: retrier ? [retrier, this.transient] : [this.transient],
        Catch: [loopCatcher(compiled.stateName), { ErrorEquals: ["States.ALL"], ...at, Next: compiled.infraStateName }],
        ...next,
      },
      ...loopHop(compiled.stateName),
      [compiled.infraStateName]: this.infraCatchState(name, resultPath, next),
    };
  }

  /**
   * `t.Approval` (a `triggers.manualOnly` task), before the task state: the task's function runs the
   * `Pending → Paused` chain and keeps the task token (lambdas/task/approval.ts); the state waits
   * until the token is answered (`flowhooks resume`, Slack), up to `approvalTimeoutSeconds`. The
   * answer, a rejection (`SendTaskFailure`), the timeout and a chain that did not pause all go on to
   * the task state at `APPROVAL_PATH`, whose invocation ends the task run from there.
   */
  private approvalState(name: string, resultPath: string | undefined): Record<string, AslState> {
    const node = this.graph.byName.get(name)!;
    const compiled = this.tasks.get(name)!;
    const at = resultPath === undefined ? {} : { ResultPath: resultPath };
    const timeout = node.task.approvalTimeoutSeconds;
    return {
      [approvalStateName(name)]: {
        Type: "Task",
        Resource: LAMBDA_INVOKE_WAIT_FOR_TOKEN,
        Parameters: {
          FunctionName: this.options.taskFunctionArn(name),
          Payload: {
            task: name,
            mode: "approval",
            "taskToken.$": "$$.Task.Token",
            "parameters.$": "$.parameters",
            upstream: this.upstreamPaths(node),
            context: taskContext(this.executionIdPath),
            // Not read by the function (it has FLOWHOOKS_RESULTS_BUCKET): `flowhooks resume` finds the token's bucket here.
            ...(this.options.resultsBucket ? { tokenBucket: this.options.resultsBucket } : {}),
          },
        },
        ...(timeout === undefined ? {} : { TimeoutSeconds: timeout }),
        ResultPath: APPROVAL_PATH,
        Retry: [this.transient],
        Catch: [
          { ErrorEquals: [...APPROVAL_ANSWER_ERRORS], ResultPath: APPROVAL_PATH, Next: compiled.stateName },
          { ErrorEquals: ["States.ALL"], ...at, Next: compiled.infraStateName },
        ],
        Next: compiled.stateName,
      },
    };
  }

  /** What a `triggers.manualOnly` task must be to wait on a task token; the errors name the fix. */
  private checkApprovals(): void {
    for (const node of this.graph.nodes) {
      if (!isManualOnly(node.task.trigger)) continue;
      if (node.mapped) {
        throw new CompileError(
          `Task \`${node.name}\` waits for approval (triggers.manualOnly) and is mapped (task.map); deployed, one approval ` +
            `waits per task, not per child: approve before the map (a manualOnly task upstream of it) or map a task without the trigger.`,
        );
      }
      const timeout = node.task.approvalTimeoutSeconds;
      if (timeout !== undefined && (!Number.isInteger(timeout) || timeout > MAX_APPROVAL_TIMEOUT_SECONDS)) {
        throw new CompileError(
          `Task \`${node.name}\` has approvalTimeoutSeconds ${timeout}; deployed, the wait is a Step Functions TimeoutSeconds, ` +
            `a whole number of seconds within a Standard execution's year (at most ${MAX_APPROVAL_TIMEOUT_SECONDS}): use ${Math.min(Math.max(1, Math.round(timeout)), MAX_APPROVAL_TIMEOUT_SECONDS)}.`,
        );
      }
    }
  }

  /**
   * Records the caught error at the task's own static path, so downstream tasks and the final
   * Choice see a failed task; `taskOutputState` (lambdas/task/payload.ts) reads it back.
   */
  private infraCatchState(name: string, resultPath: string | undefined, next: Next): AslState {
    // A compact record keeps the error's name (its cause is in the history): bounded, however long the cause.
    const record = this.compact.has(name)
      ? { task: name, infrastructure: { "Error.$": "$.Error" }, failed: true }
      : { task: name, "infrastructure.$": "$", failed: true, skipped: false, failedLabel: ` \`${name}\`` };
    return {
      Type: "Pass",
      ...(resultPath === undefined ? {} : { InputPath: resultPath }),
      Parameters: { [this.tasks.get(name)!.stateKey]: record },
      ...(resultPath === undefined ? {} : { ResultPath: resultPath }),
      ...next,
    };
  }

  /**
   * A mapped task's branch states (see `mapStateNames`): prepare decides the children (or the
   * parent's verdict), a Map runs one child invocation per item, collect ends the parent `Mapped`.
   */
  private mappedTaskStates(name: string): Record<string, AslState> {
    const node = this.graph.byName.get(name)!;
    const compiled = this.tasks.get(name)!;
    const names = mapStateNames(name);
    const mode = this.mapModes.get(name)!;
    const catchAll = { ErrorEquals: ["States.ALL"], Next: names.infra };
    const states: Record<string, AslState> = {
      [names.prepare]: {
        Type: "Task",
        Resource: LAMBDA_INVOKE,
        Parameters: {
          FunctionName: this.options.taskFunctionArn(name),
          Payload: { task: name, mode: "prepare", mapMode: mode, "parameters.$": "$.parameters", upstream: this.upstreamPaths(node), context: taskContext(this.executionIdPath) },
        },
        // Field by field (the function returns every field, null when unused), so the branch keeps its input beside it.
        ResultSelector: Object.fromEntries(MAP_PREPARE_FIELDS.map((f) => [`${f}.$`, `$.Payload.${f}`])),
        ResultPath: MAP_PATH,
        Retry: [this.transient],
        Catch: [catchAll],
        Next: names.route,
      },
      [names.route]: {
        Type: "Choice",
        Choices: [
          // `Not IsNull: true`, not `IsNull: false`: aws-local-stepfunctions 3.0.0 treats `IsNull: false` as never matching.
          { Not: { Variable: `${MAP_PATH}.verdict`, IsNull: true }, Next: names.done },
          ...(mode === "inline" ? [] : [{ Variable: `${MAP_PATH}.distributed`, BooleanEquals: true, Next: names.mapDistributed }]),
        ],
        Default: names.map,
      },
      [names.done]: { Type: "Pass", Parameters: { [`${compiled.stateKey}.$`]: `${MAP_PATH}.verdict` }, End: true },
      [names.map]: this.inlineMapState(name, catchAll),
    };
    if (mode !== "inline") states[names.mapDistributed] = this.distributedMapState(name, catchAll);
    states[names.collect] = this.collectState(name, catchAll);
    // As an unmapped task's in a branch: the caught error at the task's key.
    states[names.infra] = this.infraCatchState(name, undefined, { End: true });
    return states;
  }

  /** What each child gets: its item, the parameters, the upstream outputs it does not map over, the parent's execution id. */
  private itemSelector(node: FlowNode): AslState {
    // A list the child maps over reaches it as its item; other upstream outputs come whole.
    const childUpstream = this.upstreamPaths(node, (u) => {
      const uses = node.inputs.filter((input) => input.kind === "task" && input.task === u);
      return uses.length === 0 || uses.some((input) => !input.mapped);
    });
    // The parent execution's id travels with each item: a distributed child is an execution of its own.
    return { "item.$": "$$.Map.Item.Value", "parameters.$": "$.parameters", upstream: childUpstream, "executionId.$": this.executionIdPath, [LOOP_KEY]: this.loopSlot() };
  }

  /** A Map's `ItemProcessor` states: the child invocation and its crash record. */
  private mapProcessor(name: string, child: string, childInfra: string) {
    const retrier = taskRetrier(this.graph.byName.get(name)!.task);
    return {
      StartAt: child,
      States: {
        [child]: {
          Type: "Task",
          Resource: LAMBDA_INVOKE,
          Parameters: {
            FunctionName: this.options.taskFunctionArn(name),
            Payload: this.loopPayload({ task: name, mode: "child", "item.$": "$.item", "parameters.$": "$.parameters", "upstream.$": "$.upstream", context: taskContext("$.executionId") }),
          },
          OutputPath: "$.Payload",
          Retry: retrier ? [retrier, this.transient] : [this.transient],
          // The input is kept (ResultPath), so the record knows the child's index.
          Catch: [loopCatcher(child), { ErrorEquals: ["States.ALL"], ResultPath: "$.flowhooksError", Next: childInfra }],
          End: true,
        },
        // A child that died where no flowhooks code could report it, recorded like `t.Infra` with its index.
        [childInfra]: {
          Type: "Pass",
          Parameters: { task: name, "mapIndex.$": "$.item.index", "infrastructure.$": "$.flowhooksError", failed: true, skipped: false, failedLabel: ` \`${name}\`` },
          End: true,
        },
        ...loopHop(child),
      },
    };
  }

  /** `t.Map`: the children in the execution itself, items and outputs in its JSON. */
  private inlineMapState(name: string, catchAll: AslState): AslState {
    const names = mapStateNames(name);
    const node = this.graph.byName.get(name)!;
    return {
      Type: "Map",
      ItemsPath: `${MAP_PATH}.items`,
      ItemSelector: this.itemSelector(node),
      MaxConcurrency: node.task.mapConcurrency ?? 0,
      ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, ...this.mapProcessor(name, names.child, names.childInfra) },
      ResultPath: `${MAP_PATH}.children`,
      Catch: [catchAll],
      Next: names.collect,
    };
  }

  /** `t.MapDistributed`: one child execution per item, items and results through the results bucket. */
  private distributedMapState(name: string, catchAll: AslState): AslState {
    const names = mapStateNames(name);
    const node = this.graph.byName.get(name)!;
    const bucket = this.options.resultsBucket!;
    return {
      Type: "Map",
      ItemReader: {
        Resource: "arn:aws:states:::s3:getObject",
        ReaderConfig: { InputType: "JSON" },
        Parameters: { Bucket: bucket, "Key.$": `${MAP_PATH}.itemsKey` },
      },
      ItemSelector: this.itemSelector(node),
      MaxConcurrency: node.task.mapConcurrency ?? DEFAULT_DISTRIBUTED_MAP_CONCURRENCY,
      ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, ...this.mapProcessor(name, names.distributedChild, names.distributedChildInfra) },
      ResultWriter: { Resource: "arn:aws:states:::s3:putObject", Parameters: { Bucket: bucket, Prefix: `${MAP_RESULTS_PREFIX}/${name}` } },
      // A child execution that failed anyway (stopped, a limit) is collected as a crashed child, not a failed Map.
      ToleratedFailurePercentage: 100,
      ResultPath: `${MAP_PATH}.written`,
      Catch: [catchAll],
      Next: names.collect,
    };
  }

  /** `t.Collect`: the collect invocation ends the parent `Mapped(children)`. */
  private collectState(name: string, catchAll: AslState): AslState {
    return {
      Type: "Task",
      Resource: LAMBDA_INVOKE,
      Parameters: {
        FunctionName: this.options.taskFunctionArn(name),
        Payload: { task: name, mode: "collect", "map.$": MAP_PATH, "parameters.$": "$.parameters", upstream: {}, context: taskContext(this.executionIdPath) },
      },
      ResultSelector: { [`${this.tasks.get(name)!.stateKey}.$`]: "$.Payload" },
      Retry: [this.transient],
      Catch: [catchAll],
      End: true,
    };
  }

  /** Level ranges per state machine: one range, or several when one state machine would be too large. */
  private partRanges(): [number, number][] {
    const budget = this.options.partDefinitionChars ?? PART_DEFINITION_CHARS;
    const sizes = this.levels.map((_, i) => JSON.stringify(this.levelStates(i, { Next: "flowhooks.Next" })).length);
    const ranges: [number, number][] = [];
    let from = 0;
    let used = 0;
    sizes.forEach((size, i) => {
      if (i > from && used + size > budget) {
        ranges.push([from, i - 1]);
        from = i;
        used = 0;
      }
      used += size;
    });
    ranges.push([from, this.levels.length - 1]);
    if (ranges.length > 1 && !this.options.childStateMachineArn) {
      throw new CompileError(
        `Flow \`${this.flow.name}\` is too large for one state machine (about ${sizes.reduce((a, b) => a + b, 0)} characters of levels); ` +
          "compile it with `childStateMachineArn` (FlowStateMachine does) to split it into child state machines, or split the flow.",
      );
    }
    return ranges;
  }

  /**
   * `flowhooks.Start`: keeps the input as `$.parameters` (not read from $$.Execution.Input:
   * aws-local-stepfunctions gives Parallel branches their branch input as the execution input).
   */
  private startState(): AslState {
    const parameters: Record<string, unknown> = { "parameters.$": "$", [LOOP_KEY]: this.loopSlot() };
    if (this.split) parameters[`${EXECUTION_ID_KEY}.$`] = "$$.Execution.Id";
    // Compact records hold no task state: readers go to the history, as after a prune.
    if (this.compact.size > 0) Object.assign(parameters, { [PRUNED_FLAG]: true, [TASK_STATES_NOTE_KEY]: TASK_STATES_NOTE });
    return { Type: "Pass", Parameters: parameters, Next: this.split ? STATE_NAMES.part(0) : this.levelStateName(0) };
  }

  private lastReaders(references: readonly CompiledTask[]): number[] {
    const lastUse = this.levels.map(() => -1);
    for (const node of this.graph.nodes) {
      for (const u of node.upstream) {
        const level = this.tasks.get(u.name)!.level;
        lastUse[level] = Math.max(lastUse[level]!, this.tasks.get(node.name)!.level);
      }
    }
    for (const r of references) lastUse[r.level] = Infinity;
    return lastUse;
  }

  /**
   * Refuses a flow whose outputs held at once (from their level to the last level reading them,
   * compact records included) could not fit in 256 KiB even with `null` results: the
   * `Parallel` of a wide level read by later tasks, or the state of a task reading them all.
   */
  private refuseWholeOutputsOverLimit(): void {
    const bytesOf = this.levels.map((names) =>
      names.reduce((sum, name) => sum + (this.compact.has(name) ? compactRecordBytes(this.tasks.get(name)!.stateKey) : smallestWholeOutputBytes(name, this.tasks.get(name)!.stateKey)), 0),
    );
    this.levels.forEach((names, i) => {
      const held = bytesOf.reduce((sum, bytes, j) => (j <= i && this.lastUse[j]! >= i ? sum + bytes : sum), 0);
      if (held <= MAX_READ_OUTPUTS_BYTES) return;
      throw new CompileError(
        `Flow \`${this.flow.name}\`: at level ${i} (${names.length === 1 ? `task \`${names[0]}\`` : `${names.length} tasks`}) the execution would hold task outputs ` +
          `still to be read (by later tasks or the final decision) of at least ${held} bytes (about 130 bytes each even with null results), ` +
          `past what Step Functions' 256 KiB per state leaves for them (${MAX_READ_OUTPUTS_BYTES}). ` +
          "Have fewer tasks feed one task: split the flow into flows run with `flowRun(...)`, or run the work as one mapped task " +
          "(`task.map(items)`: a Distributed Map keeps its children's outputs out of the execution).",
      );
    });
  }

  /** After level `i`: a Pass keeping only outputs still read, when enough are dead; else undefined (its Next is set by the caller). */
  private pruneAfter(i: number): AslState | undefined {
    const levels = this.levels;
    if (i + 1 >= levels.length) return undefined;
    const dead = levels.flatMap((_names, j) => (j <= i && !this.pruned.has(j) && this.lastUse[j]! <= i ? [j] : []));
    if (dead.reduce((n, j) => n + levels[j]!.length, 0) < PRUNE_AFTER_DEAD_OUTPUTS) return undefined;
    for (const j of dead) this.pruned.add(j);
    // A loop record left by an earlier level is no later task's.
    const keep: Record<string, unknown> = { "parameters.$": "$.parameters", [PRUNED_FLAG]: true, [LOOP_KEY]: this.loopSlot() };
    if (this.split) keep[`${EXECUTION_ID_KEY}.$`] = `$.${EXECUTION_ID_KEY}`;
    if (this.compact.size > 0) keep[TASK_STATES_NOTE_KEY] = TASK_STATES_NOTE;
    for (let j = 0; j <= i; j++) if (!this.pruned.has(j)) keep[`L${j}.$`] = `$.L${j}`;
    return { Type: "Pass", Parameters: keep };
  }

  /** Levels `first`..`last` into `into`, chained, the last one going to `end`. */
  private chainLevels(first: number, last: number, end: string, into: Record<string, AslState>): void {
    for (let i = first; i <= last; i++) {
      const target = i === last ? end : this.levelStateName(i + 1);
      const prune = this.pruneAfter(i);
      if (prune) into[STATE_NAMES.prune(i)] = { ...prune, Next: target };
      Object.assign(into, this.levelStates(i, { Next: prune ? STATE_NAMES.prune(i) : target }));
    }
  }

  /** One child state machine per range, started in order by a `flowhooks.Part<k>` state; a failed child fails the flow. */
  private splitParts(ranges: readonly [number, number][], afterTasks: string, states: Record<string, AslState>): CompiledPart[] {
    const parts = ranges.map(([first, last], k): CompiledPart => {
      const partStates: Record<string, AslState> = {};
      this.chainLevels(first, last, STATE_NAMES.partDone, partStates);
      partStates[STATE_NAMES.partDone] = { Type: "Succeed" };
      states[STATE_NAMES.part(k)] = this.partState(k, k + 1 < ranges.length ? STATE_NAMES.part(k + 1) : afterTasks);
      const comment = `flowhooks flow ${this.flow.name}, part ${k + 1} of ${ranges.length} (levels ${first}-${last})`;
      return { definition: { Comment: comment, StartAt: this.levelStateName(first), States: partStates }, fromLevel: first, toLevel: last };
    });
    // A child that failed (a limit, a stopped execution) ends the flow failed, through the final report.
    states[STATE_NAMES.partFailed] = {
      Type: "Pass",
      Parameters: { "cause.$": "States.Format('A part of the flow (a child state machine) failed: {}', $.flowhooksPartError.Error)" },
      ResultPath: FLOW_OUTCOME_PATH,
      Next: this.failureTarget(),
    };
    return parts;
  }

  /** `flowhooks.Part<k>`: the child gets the whole state and returns it with its levels' outputs added. */
  private partState(k: number, next: string): AslState {
    return {
      Type: "Task",
      Resource: START_EXECUTION_SYNC,
      Parameters: { StateMachineArn: this.options.childStateMachineArn!(k), "Input.$": "$" },
      OutputPath: "$.Output",
      Retry: [{ ErrorEquals: START_EXECUTION_TRANSIENT_ERRORS, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.flowhooksPartError", Next: STATE_NAMES.partFailed }],
      Next: next,
    };
  }

  private successTarget(): string {
    return this.options.reportFinalState ? STATE_NAMES.reportSucceeded : STATE_NAMES.succeeded;
  }

  private failureTarget(): string {
    return this.options.reportFinalState ? STATE_NAMES.reportFailed : STATE_NAMES.failed;
  }

  /** The Choice over the reference tasks, the failure cause, the final reports, `Succeed` and `Fail`. */
  private finalStates(references: readonly CompiledTask[]): Record<string, AslState> {
    const states: Record<string, AslState> = {};
    // With no reference tasks nothing can fail the flow (as in flowFinalState), so there is no Choice.
    if (references.length > 0) {
      const failedRules = references.map((t) => ({ Variable: `${t.outputPath}.failed`, BooleanEquals: true }));
      states[STATE_NAMES.decide] = {
        Type: "Choice",
        Choices: [{ ...(failedRules.length === 1 ? failedRules[0] : { Or: failedRules }), Next: STATE_NAMES.failureCause }],
        Default: this.successTarget(),
      };
      states[STATE_NAMES.failureCause] = this.failureCauseState(references);
    }
    const canFail = references.length > 0 || this.split;
    const report = this.options.reportFinalState;
    if (report) {
      states[STATE_NAMES.reportSucceeded] = { ...report("Succeeded"), Next: STATE_NAMES.succeeded };
      if (canFail) states[STATE_NAMES.reportFailed] = { ...report("Failed"), Next: STATE_NAMES.failed };
    }
    states[STATE_NAMES.succeeded] = { Type: "Succeed" };
    if (canFail) states[STATE_NAMES.failed] = { Type: "Fail", Error: FLOW_FAILED_ERROR, CausePath: `${FLOW_OUTCOME_PATH}.cause` };
    return states;
  }

  /**
   * The cause is built in a Pass (intrinsics in Parameters run everywhere, including the emulator)
   * and read by the Fail state's CausePath and by a final-state report.
   */
  private failureCauseState(references: readonly CompiledTask[]): AslState {
    const named = references.length <= (this.options.maxNamedReferenceTasks ?? 20);
    const labels = references.map((t) => `${t.outputPath}.failedLabel`).join(", ");
    return {
      Type: "Pass",
      Parameters: named ? { "cause.$": `States.Format('Some reference tasks failed:${"{}".repeat(references.length)}', ${labels})` } : { cause: "Some reference tasks failed." },
      ResultPath: FLOW_OUTCOME_PATH,
      Next: this.failureTarget(),
    };
  }
}

/** Refuses a definition over Step Functions' size limit, naming the fix. */
export function assertDefinitionSize(flowName: string, definitionJson: string): void {
  if (definitionJson.length > MAX_DEFINITION_CHARS) {
    throw new CompileError(
      `The state machine for flow \`${flowName}\` would be ${definitionJson.length} characters; Step Functions accepts ` +
        `${MAX_DEFINITION_CHARS}. Split the flow into smaller flows (one state machine each) or use fewer tasks ` +
        `(shorter task names and fewer retries also shrink it).`,
    );
  }
}

/**
 * State transitions an execution makes on its success path (every task succeeds first time):
 * each state entered counts once, a `Parallel` counts itself plus its branches, a `Choice` follows
 * its `Default`.
 */
export function successPathTransitions(definition: { StartAt: string; States: Record<string, AslState> }): number {
  let count = 0;
  let name: string | undefined = definition.StartAt;
  const seen = new Set<string>();
  while (name !== undefined) {
    if (seen.has(name)) throw new CompileError(`State \`${name}\` is reached twice on the success path; the definition loops.`);
    seen.add(name);
    const state: AslState | undefined = definition.States[name];
    if (!state) throw new CompileError(`State \`${name}\` is referenced but not defined.`);
    count += 1;
    if (state.Type === "Parallel") {
      for (const branch of state.Branches as { StartAt: string; States: Record<string, AslState> }[]) {
        count += successPathTransitions(branch);
      }
    }
    if (state.Type === "Choice") name = state.Default as string | undefined;
    else if (state.Type === "Succeed" || state.Type === "Fail" || state.End === true) name = undefined;
    else name = state.Next as string | undefined;
  }
  return count;
}

/** `etl-daily` → `etlDaily`: a variable name for an error's example. */
function camel(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join("");
  return /^[A-Za-z_]/.test(joined) ? joined : `flow${joined}`;
}
