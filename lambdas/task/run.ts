/**
 * One invocation of a task function: the payload Step Functions sent, in; the task's output, out.
 * The semantics (triggers, skips, the body, retries, handler chains) are the engine's
 * `runTaskAttempt`, the same code `flow.run()` uses; this file only adapts Step Functions to it.
 */
import { maskSecrets } from "../../lib/core/mask";
import { isThenable } from "../../lib/core/handlers";
import type { Flow, FlowNode } from "../../lib/core/flow";
import {
  resolveUpstream,
  runAttempt,
  TaskPayloadError,
  type RunTaskOptions,
} from "./attempt";
import { collectMap, prepareMap, runMapChild } from "./map";
import { runAfterApproval, runApprovalStep, type ApprovalPayload } from "./approval";
import { collectFlowRun, startFlowRun } from "./flow-run";
import type {
  FlowRunCollectPayload,
  FlowRunStartPayload,
  FlowRunStepOutput,
  MapChildPayload,
  MapCollectPayload,
  MapPrepareOutput,
  MapPreparePayload,
  TaskPayload,
  TaskResultOutput,
} from "./payload";

export {
  carriedOutput,
  checkParametersError,
  invocationScope,
  limitOutputSize,
  MAX_EVENT_RESULT_BYTES,
  MAX_TASK_OUTPUT_BYTES,
  resolveUpstream,
  resultKeyPrefix,
  runAttempt,
  TaskPayloadError,
  TaskRetryingError,
  type AttemptSpec,
  type RunTaskOptions,
} from "./attempt";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(what: string): TaskPayloadError {
  return new TaskPayloadError(
    `Malformed task payload: ${what}. Task functions are invoked by the state machine FlowStateMachine compiles, ` +
      `with { task, parameters, upstream, context: { Execution: { Id }, State: { EnteredTime, RetryCount } } }; invoke them through it (or the emulator).`,
  );
}

/** Checks the shape of what Step Functions sent; errors say which field is wrong. */
export function parseTaskPayload(event: unknown): TaskPayload {
  if (!isObject(event)) throw fail(`expected an object, got ${maskSecrets(JSON.stringify(event) ?? "").slice(0, 200)}`);
  if (typeof event.task !== "string") throw fail("`task` must be the task's name");
  if (!isObject(event.upstream)) throw fail("`upstream` must be an object of upstream task outputs");
  const upstream = event.upstream;
  const names = Object.keys(upstream);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const output = upstream[name];
    if (!isObject(output) || (!isObject(output.state) && !isObject(output.infrastructure))) {
      throw fail(`\`upstream.${name}\` must be a task output ({ state, failed, skipped })`);
    }
  }
  const context = event.context;
  if (!isObject(context) || !isObject(context.Execution) || typeof context.Execution.Id !== "string") {
    throw fail("`context` must hold the Step Functions execution's `Execution.Id`");
  }
  if (!isObject(context.State)) throw fail("`context.State` is missing");
  const retryCount = context.State.RetryCount;
  if (retryCount !== undefined && (!Number.isInteger(retryCount) || (retryCount as number) < 0)) {
    throw fail("`context.State.RetryCount` must be a whole number");
  }
  if (!isObject(event.parameters)) {
    throw fail("`parameters` must be an object: start the execution with the flow's parameters as a JSON object (e.g. {})");
  }
  const mode = event.mode;
  if (
    mode !== undefined &&
    mode !== "prepare" &&
    mode !== "child" &&
    mode !== "collect" &&
    mode !== "approval" &&
    mode !== "flowRunStart" &&
    mode !== "flowRunCollect"
  ) {
    throw fail(
      '`mode` must be "prepare", "child" or "collect" (a mapped task\'s steps), "approval" (a manualOnly task\'s wait), "flowRunStart" or "flowRunCollect" (a flowRun task\'s), or absent',
    );
  }
  if ((mode === "flowRunStart" || mode === "flowRunCollect") && (!Number.isInteger(event.attempt) || (event.attempt as number) < 1)) {
    throw fail("`attempt` must be the flowRun task's attempt (a whole number from 1)");
  }
  if (mode === "flowRunCollect" && !isObject(event.run)) {
    throw fail("`run` must be what the sub-flow's execution left ({ child } or { error })");
  }
  if (mode === "prepare" && event.mapMode !== "auto" && event.mapMode !== "inline" && event.mapMode !== "distributed") {
    throw fail('`mapMode` must be "auto", "inline" or "distributed"');
  }
  if (mode === "child" && (!isObject(event.item) || !Number.isInteger(event.item.index) || !Array.isArray(event.item.items))) {
    throw fail("`item` must be a mapped task's item ({ index, items })");
  }
  if (mode === "collect" && (!isObject(event.map) || typeof event.map.count !== "number")) {
    throw fail("`map` must be the prepare step's output with the Map's results");
  }
  return event as unknown as TaskPayload;
}

function findNode(flow: Flow, taskName: string, payload: TaskPayload): FlowNode {
  if (payload.task !== taskName) {
    throw new TaskPayloadError(
      `This function runs task \`${taskName}\` (FLOWHOOKS_TASK) but was sent task \`${payload.task}\`; ` +
        `redeploy so the state machine and the functions come from the same flow.`,
    );
  }
  const node = flow.graph().byName.get(taskName);
  if (!node) {
    const known = flow.graph().nodes.map((n) => n.name).join(", ");
    throw new TaskPayloadError(
      `Flow \`${flow.name}\` has no task \`${taskName}\` (its tasks: ${known}); redeploy the bundle built from this flow.`,
    );
  }
  return node;
}

/** What a task function returns: a task's output, or (the prepare step of a mapped task) its children's plan. */
export type TaskFunctionOutput = TaskResultOutput | MapPrepareOutput | FlowRunStepOutput;

/**
 * The output of one invocation: the task's final state (or a thrown `TaskRetryingError`); for a
 * mapped task, the prepare, child or collect step the payload's `mode` names (lambdas/task/map.ts).
 */
export function runTask(event: MapPreparePayload, options: RunTaskOptions): Promise<MapPrepareOutput>;
export function runTask(event: unknown, options: RunTaskOptions): Promise<TaskResultOutput>;
export function runTask(event: unknown, options: RunTaskOptions): Promise<TaskFunctionOutput> {
  try {
    return runTaskStep(event, options);
  } catch (error) {
    // A malformed payload fails the invocation as a rejection, as from any other step.
    return Promise.reject(error);
  }
}

/** `runTask`: the step the payload's `mode` names. Not an async function: an ordinary task's attempt is the promise it returns. */
function runTaskStep(event: unknown, options: RunTaskOptions): Promise<TaskFunctionOutput> {
  const payload = parseTaskPayload(event) as TaskPayload & { mode?: "prepare" | "child" | "collect" | "approval" | "flowRunStart" | "flowRunCollect"; approval?: unknown };
  const node = findNode(options.flow, options.taskName, payload);
  if (payload.mode === "approval") return runApprovalStep(node, payload as ApprovalPayload, options);
  if (payload.approval !== undefined) return runAfterApproval(node, payload as TaskPayload & { approval: unknown }, options);
  const flowRunStep = payload.mode === "flowRunStart" || payload.mode === "flowRunCollect";
  if ((node.kind === "flowRun") !== flowRunStep) {
    throw new TaskPayloadError(
      `Task \`${node.name}\` ${node.kind === "flowRun" ? "runs a sub-flow (flowRun) but was invoked as another kind of task" : `is not a flowRun task but was invoked as one's ${payload.mode} step`}; ` +
        "redeploy so the state machine and the functions come from the same flow.",
    );
  }
  if (payload.mode === "flowRunStart") return startFlowRun(node, payload as FlowRunStartPayload, options);
  if (payload.mode === "flowRunCollect") return collectFlowRun(node, payload as FlowRunCollectPayload, options);
  if (node.mapped !== (payload.mode !== undefined)) {
    throw new TaskPayloadError(
      node.mapped
        ? `Task \`${node.name}\` is mapped (task.map) but was invoked as an ordinary task; redeploy so the state machine and the functions come from the same flow.`
        : `Task \`${node.name}\` is not mapped but was invoked as a mapped task's ${payload.mode} step; redeploy so the state machine and the functions come from the same flow.`,
    );
  }
  if (payload.mode === "prepare") return prepareMap(node, payload as MapPreparePayload, options);
  if (payload.mode === "collect") return collectMap(node, payload as MapCollectPayload, options);
  if (payload.mode === "child") return runMapChild(node, payload as MapChildPayload, options);
  const upstreamStates = resolveUpstream(payload.upstream, options.results);
  if (isThenable(upstreamStates)) return upstreamStates.then((states) => runAttempt(node, payload, options, { upstreamStates: states, checkParameters: true }));
  return runAttempt(node, payload, options, { upstreamStates, checkParameters: true });
}

