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
import { FLOW_FAILED_ERROR, RETRYING_ERROR } from "../../lambdas/task/payload";
import { CompileError } from "./errors";

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
}

export interface CompiledFlow {
  readonly definition: AslDefinition;
  /** Task names per topological level, in execution order. */
  readonly levels: readonly (readonly string[])[];
  readonly tasks: ReadonlyMap<string, CompiledTask>;
}

/** Names of the states the compiler adds; task names cannot contain ".", so these never collide. */
export const STATE_NAMES = {
  start: "flowhooks.Start",
  level: (i: number) => `flowhooks.Level${i}`,
  prune: (i: number) => `flowhooks.Prune${i}`,
  infra: (task: string) => `${task}.Infra`,
  decide: "flowhooks.Decide",
  failureCause: "flowhooks.FailureCause",
  reportSucceeded: "flowhooks.ReportSucceeded",
  reportFailed: "flowhooks.ReportFailed",
  succeeded: "flowhooks.FlowSucceeded",
  failed: "flowhooks.FlowFailed",
} as const;

/** Where the failure path keeps `{ cause }` (the `Fail` state's cause) in the execution JSON. */
export const FLOW_OUTCOME_PATH = "$.flowhooks";

/**
 * Outputs no later task reads are dropped from the execution JSON (by a `Pass` after the level)
 * once this many have piled up: a 1,000-task chain would otherwise carry every output to the end.
 */
export const PRUNE_AFTER_DEAD_OUTPUTS = 64;

/** Set in the execution JSON once outputs were dropped: their Catch records are in the history only. */
export const PRUNED_FLAG = "flowhooksPruned";

/** Step Functions' limit on a definition's size, in characters. */
export const MAX_DEFINITION_CHARS = 1_048_576;

const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
/**
 * The slice of `$$` a task function reads. Not the whole `$$`: it holds `Execution.Input`, which would
 * put the flow's parameters in every payload a second time (they already come as `parameters`).
 */
const TASK_CONTEXT = { Execution: { "Id.$": "$$.Execution.Id" }, State: { "RetryCount.$": "$$.State.RetryCount" } };
const TRANSIENT_LAMBDA_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];

/**
 * Each task's key in the execution JSON: a plain identifier (task names may hold "-" or start with a
 * digit, and bracket paths such as `$.L0['fetch-data']` are the kind of JSONPath least exercised in
 * Step Functions), unique in the flow. Only the data's keys change; state names, events, alerts and
 * graphs keep the task names.
 */
export function stateKeys(names: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base = /^[A-Za-z_]/.test(name) ? name.replace(/[^A-Za-z0-9_]/g, "_") : `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    let key = base;
    for (let i = 2; taken.has(key); i++) key = `${base}_${i}`;
    taken.add(key);
    keys.set(name, key);
  }
  return keys;
}

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

/** Compiles `flow` to a Standard-workflow JSONPath definition. */
export function compileFlow(flow: Flow, options: CompileOptions): CompiledFlow {
  const graph = flow.graph();
  if (graph.nodes.length === 0) {
    throw new CompileError(`Flow \`${flow.name}\` has no tasks; add at least one task before deploying it.`);
  }
  const levels = topologicalLevels(graph.nodes);
  const transient = {
    ErrorEquals: TRANSIENT_LAMBDA_ERRORS,
    IntervalSeconds: options.transientRetry?.intervalSeconds ?? 1,
    MaxAttempts: options.transientRetry?.maxAttempts ?? 3,
    BackoffRate: options.transientRetry?.backoffRate ?? 2,
  };

  const tasks = new Map<string, CompiledTask>();
  const keys = stateKeys(graph.nodes.map((n) => n.name));
  levels.forEach((names, level) => {
    const single = names.length === 1;
    names.forEach((name, branch) => {
      const stateKey = keys.get(name)!;
      const outputPath = single ? `$.L${level}.${stateKey}` : `$.L${level}[${branch}].${stateKey}`;
      tasks.set(name, { name, level, stateName: name, infraStateName: STATE_NAMES.infra(name), stateKey, outputPath });
    });
  });

  /**
   * The task state and its infrastructure-failure `Pass`. `resultPath` is where a single-task level
   * keeps the output; undefined in a `Parallel` branch, whose output replaces its input (the
   * default `ResultPath`, left out because aws-local-stepfunctions mistakes an explicit "$" for a key).
   */
  const taskStates = (name: string, resultPath: string | undefined, next: { Next: string } | { End: true }): Record<string, AslState> => {
    const node = graph.byName.get(name)!;
    const compiled = tasks.get(name)!;
    const upstream: Record<string, string> = {};
    for (const u of node.upstream) upstream[`${u.name}.$`] = tasks.get(u.name)!.outputPath;
    const retrier = taskRetrier(node.task);
    const at = resultPath === undefined ? {} : { ResultPath: resultPath };
    return {
      [compiled.stateName]: {
        Type: "Task",
        Resource: LAMBDA_INVOKE,
        Parameters: {
          FunctionName: options.taskFunctionArn(name),
          Payload: { task: name, "parameters.$": "$.parameters", upstream, context: TASK_CONTEXT },
        },
        ResultSelector: { [`${compiled.stateKey}.$`]: "$.Payload" },
        ...at,
        Retry: retrier ? [retrier, transient] : [transient],
        Catch: [{ ErrorEquals: ["States.ALL"], ...at, Next: compiled.infraStateName }],
        ...next,
      },
      // Records the caught error at the task's own static path, so downstream tasks and the final
      // Choice see a failed task; `taskOutputState` (lambdas/task/payload.ts) reads it back.
      [compiled.infraStateName]: {
        Type: "Pass",
        ...(resultPath === undefined ? {} : { InputPath: resultPath }),
        Parameters: {
          [compiled.stateKey]: { task: name, "infrastructure.$": "$", failed: true, skipped: false, failedLabel: ` \`${name}\`` },
        },
        ...at,
        ...next,
      },
    };
  };

  const states: Record<string, AslState> = {};
  const levelStateName = (i: number) => (levels[i]!.length === 1 ? levels[i]![0]! : STATE_NAMES.level(i));
  // Parameters are read from here, not from $$.Execution.Input: aws-local-stepfunctions gives Parallel
  // branches their branch input as the execution input.
  states[STATE_NAMES.start] = { Type: "Pass", Parameters: { "parameters.$": "$" }, Next: levelStateName(0) };
  const references = graph.referenceTasks.map((t) => tasks.get(t.name)!);
  // The last level that reads each level's outputs; reference tasks' levels are read by the final Choice.
  const lastUse = levels.map(() => -1);
  for (const node of graph.nodes) {
    for (const u of node.upstream) lastUse[tasks.get(u.name)!.level] = Math.max(lastUse[tasks.get(u.name)!.level]!, tasks.get(node.name)!.level);
  }
  for (const r of references) lastUse[r.level] = Infinity;
  const pruned = new Set<number>();
  /** After level `i`: a Pass keeping only outputs still read, when enough are dead; else undefined. */
  const pruneAfter = (i: number): AslState | undefined => {
    if (i + 1 >= levels.length) return undefined;
    const dead = levels.flatMap((names, j) => (j <= i && !pruned.has(j) && lastUse[j]! <= i ? [j] : []));
    if (dead.reduce((n, j) => n + levels[j]!.length, 0) < PRUNE_AFTER_DEAD_OUTPUTS) return undefined;
    for (const j of dead) pruned.add(j);
    const keep: Record<string, unknown> = { "parameters.$": "$.parameters", [PRUNED_FLAG]: true };
    for (let j = 0; j <= i; j++) if (!pruned.has(j)) keep[`L${j}.$`] = `$.L${j}`;
    return { Type: "Pass", Parameters: keep, Next: levelStateName(i + 1) };
  };
  const report = options.reportFinalState;
  const successTarget = report ? STATE_NAMES.reportSucceeded : STATE_NAMES.succeeded;
  // With no reference tasks nothing can fail the flow (as in flowFinalState), so there is no Choice.
  const afterTasks = references.length > 0 ? STATE_NAMES.decide : successTarget;
  levels.forEach((names, i) => {
    const prune = pruneAfter(i);
    if (prune) states[STATE_NAMES.prune(i)] = prune;
    const next = { Next: prune ? STATE_NAMES.prune(i) : i + 1 < levels.length ? levelStateName(i + 1) : afterTasks };
    if (names.length === 1) {
      Object.assign(states, taskStates(names[0]!, `$.L${i}`, next));
      return;
    }
    states[STATE_NAMES.level(i)] = {
      Type: "Parallel",
      Branches: names.map((name) => ({ StartAt: name, States: taskStates(name, undefined, { End: true }) })),
      ResultPath: `$.L${i}`,
      ...next,
    };
  });

  const failedRules = references.map((t) => ({ Variable: `${t.outputPath}.failed`, BooleanEquals: true }));
  if (references.length > 0) {
    states[STATE_NAMES.decide] = {
      Type: "Choice",
      Choices: [{ ...(failedRules.length === 1 ? failedRules[0] : { Or: failedRules }), Next: STATE_NAMES.failureCause }],
      Default: successTarget,
    };
  }
  // The cause is built in a Pass (intrinsics in Parameters run everywhere, including the emulator)
  // and read by the Fail state's CausePath and by a final-state report.
  const named = references.length <= (options.maxNamedReferenceTasks ?? 20);
  if (references.length > 0) states[STATE_NAMES.failureCause] = {
    Type: "Pass",
    Parameters: named
      ? {
          "cause.$": `States.Format('Some reference tasks failed:${"{}".repeat(references.length)}', ${references
            .map((t) => `${t.outputPath}.failedLabel`)
            .join(", ")})`,
        }
      : { cause: "Some reference tasks failed." },
    ResultPath: FLOW_OUTCOME_PATH,
    Next: report ? STATE_NAMES.reportFailed : STATE_NAMES.failed,
  };
  if (report) {
    states[STATE_NAMES.reportSucceeded] = { ...report("Succeeded"), Next: STATE_NAMES.succeeded };
    if (references.length > 0) states[STATE_NAMES.reportFailed] = { ...report("Failed"), Next: STATE_NAMES.failed };
  }
  states[STATE_NAMES.succeeded] = { Type: "Succeed" };
  if (references.length > 0) {
    states[STATE_NAMES.failed] = { Type: "Fail", Error: FLOW_FAILED_ERROR, CausePath: `${FLOW_OUTCOME_PATH}.cause` };
  }

  const definition: AslDefinition = {
    Comment: `flowhooks flow ${flow.name}`,
    StartAt: STATE_NAMES.start,
    States: states,
  };
  return { definition, levels, tasks };
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
