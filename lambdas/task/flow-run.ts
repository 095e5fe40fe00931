/**
 * A deployed `flowRun` task's two steps (lib/compile's `t` and `t.Collect` states; `t.Run` starts the
 * other flow's state machine between them). The attempt is the engine's `runTaskAttempt`, split at the
 * body (`bodyElsewhere`): start runs `Pending → Running` through the task's chain (or ends it early:
 * Skipped, TriggerFailed); collect resumes from `Running` with the sub-flow's final state as the body's,
 * so retries, state handlers and events are those of any task. The sub-flow's final state comes from
 * lib/aws/state-mapping.ts's `flowFinalStateFor`, the mapping the handler Lambda uses for any flow.
 */
import { systemClock } from "../../lib/core/clock";
import type { FlowRunTask } from "../../lib/core/control";
import type { FlowNode } from "../../lib/core/flow";
import { flowFinalStateFor } from "../../lib/aws/state-mapping";
import { Retrying, State, Success, type StateJSON } from "../../lib/core/states";
import { resolveUpstream, runAttempt, TaskRetryingError, type RunTaskOptions } from "./attempt";
import type { FlowRunCollectPayload, FlowRunStartPayload, FlowRunStepOutput, TaskOutput, TaskResultOutput } from "./payload";
import { isInfrastructureFailure, stateKeys } from "./payload";

/** `t`: the attempt up to `Running`; the sub-flow's input, or the task's output when it ended before. */
export async function startFlowRun(node: FlowNode, payload: FlowRunStartPayload, options: RunTaskOptions): Promise<FlowRunStepOutput> {
  const upstreamStates = await resolveUpstream(payload.upstream, options.results);
  return step(payload.attempt, node, options, () =>
    runAttempt(node, payload, options, { upstreamStates, checkParameters: true, flowRun: { attempt: payload.attempt, bodyElsewhere: "start" } }),
  );
}

/** `t.Collect`: the attempt from `Running` to the sub-flow's final state (or `Retrying`). */
export async function collectFlowRun(node: FlowNode, payload: FlowRunCollectPayload, options: RunTaskOptions): Promise<FlowRunStepOutput> {
  const ran = subFlowState(node.task as FlowRunTask, payload.run);
  return step(payload.attempt, node, options, () =>
    runAttempt(node, payload, options, { upstreamStates: new Map(), checkParameters: false, flowRun: { attempt: payload.attempt, bodyElsewhere: { ran } } }),
  );
}

async function step(attempt: number, node: FlowNode, options: RunTaskOptions, run: () => Promise<TaskResultOutput>): Promise<FlowRunStepOutput> {
  try {
    const output = await run();
    if (State.fromJSON(output.state).isRunning()) {
      return { attempt, output: null, input: { ...(node.task as FlowRunTask).parameters }, retry: null };
    }
    return { attempt, output, input: null, retry: null };
  } catch (error) {
    if (!(error instanceof TaskRetryingError)) throw error;
    return { attempt, output: null, input: null, retry: { attempt: attempt + 1, waitSeconds: waitSeconds(error.state, (options.clock ?? systemClock).now()) } };
  }
}

/** Whole seconds until the next attempt (a `Wait` state's `SecondsPath` takes an integer). */
function waitSeconds(state: Retrying, now: Date): number {
  return Math.max(0, Math.ceil((state.startTime.getTime() - now.getTime()) / 1000));
}

/**
 * The sub-flow's final state from what `t.Run` left: `Success("All reference tasks succeeded.")`
 * with the sub-flow's tasks' states as its result, or the state its failure maps to.
 */
export function subFlowState(task: FlowRunTask, run: FlowRunCollectPayload["run"]): State {
  if (run.child && run.child.Status === "SUCCEEDED") {
    return new Success("All reference tasks succeeded.", { result: subFlowTaskStates(task, run.child.Output) });
  }
  const failure = describedFailure(run.error);
  const state = flowFinalStateFor(failure.status, failure.error, failure.cause);
  if (failure.executionArn) state.result = { ...(state.result as object | undefined), executionArn: failure.executionArn };
  return state;
}

/**
 * `states:startExecution.sync:2` fails with `States.TaskFailed` (and the like) when the child did not
 * succeed; its cause is the child's description as JSON (status, error, cause). A refused start (no
 * permission, no such state machine) has a plain cause.
 */
function describedFailure(error: { Error?: string; Cause?: string } | undefined): {
  status: "FAILED" | "TIMED_OUT" | "ABORTED";
  error?: string;
  cause?: string;
  executionArn?: string;
} {
  let described: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(error?.Cause ?? "");
    if (typeof parsed === "object" && parsed !== null) described = parsed as Record<string, unknown>;
  } catch {
    described = undefined;
  }
  const field = (name: string) => {
    const value = described?.[name] ?? described?.[name[0]!.toLowerCase() + name.slice(1)];
    return typeof value === "string" ? value : undefined;
  };
  if (!described) return { status: "FAILED", error: error?.Error, cause: error?.Cause };
  const status = field("Status");
  return {
    status: status === "TIMED_OUT" || status === "ABORTED" ? status : "FAILED",
    error: field("Error"),
    cause: field("Cause"),
    executionArn: field("ExecutionArn"),
  };
}

/**
 * The sub-flow's tasks' final states, by task name, read from its execution's output (each task's
 * output at its level's key, `$.L<i>`); outputs the sub-flow pruned on the way are not there.
 */
function subFlowTaskStates(task: FlowRunTask, output: unknown): Record<string, StateJSON> {
  const names = task.flow.graph().nodes.map((n) => n.name);
  const byKey = new Map([...stateKeys(names)].map(([name, key]) => [key, name]));
  const states: Record<string, StateJSON> = {};
  if (typeof output !== "object" || output === null) return states;
  for (const [key, level] of Object.entries(output)) {
    if (!/^L\d+$/.test(key)) continue;
    for (const entry of Array.isArray(level) ? level : [level]) {
      if (typeof entry !== "object" || entry === null) continue;
      for (const [stateKey, taskOutput] of Object.entries(entry as Record<string, TaskOutput>)) {
        const name = byKey.get(stateKey);
        if (name !== undefined && typeof taskOutput === "object" && taskOutput !== null && !isInfrastructureFailure(taskOutput)) {
          states[name] = taskOutput.state;
        }
      }
    }
  }
  return states;
}
