/**
 * Builds the `Alert` for a transition from what a state handler receives plus the run context.
 * The notifiers and the handler Lambda both use it, so an alert says the same thing everywhere.
 */
import { getRunContext, type RunContext } from "../core/context";
import { isFlow, type Flow } from "../core/flow";
import { childName } from "../core/map";
import { Retrying, State } from "../core/states";
import type { Task } from "../core/task";
import type { Alert } from "./alert";

export interface AlertContextOptions {
  /** The run's context. @default getRunContext() */
  context?: RunContext;
  /** When the transition happened. @default new Date() */
  at?: Date;
}

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:[^:]+:[^:]+$/;

/**
 * The Step Functions console page of an execution, or undefined when `executionId` is not an
 * execution ARN (a local run).
 */
export function executionConsoleUrl(executionId: string | undefined): string | undefined {
  const match = executionId ? EXECUTION_ARN.exec(executionId) : null;
  if (!match) return undefined;
  const region = match[1];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionId}`;
}

/** The alert for `obj` going from `oldState` to `newState`. */
export function alertFromTransition(
  obj: Task<any, any> | Flow,
  oldState: State,
  newState: State,
  options: AlertContextOptions = {},
): Alert {
  const context = options.context ?? getRunContext();
  const kind = isFlow(obj) ? "flow" : "task";
  const alert: Alert = {
    kind,
    // A task run outside any flow (a unit test calling its handlers) still gets a readable alert.
    flow: context?.flowName ?? (kind === "flow" ? obj.name : "(no flow)"),
    oldState,
    newState,
    at: options.at ?? new Date(),
  };
  if (kind === "task") {
    // A mapped child is named from the run context, so the task Lambda's notifiers and the handler Lambda agree.
    alert.task = childName(obj.name, context?.mapIndex);
    if (context?.mapIndex !== undefined) alert.mapIndex = context.mapIndex;
    const attempt = newState instanceof Retrying ? newState.runCount : context?.attempt;
    if (attempt !== undefined) alert.attempt = attempt;
    const maxRetries = (obj as Task<any, any>).retry?.maxRetries;
    if (typeof maxRetries === "number") alert.maxAttempts = maxRetries + 1;
  }
  if (kind === "flow") {
    const failedTasks = failedTaskNames(newState.result);
    if (failedTasks.length) alert.failedTasks = failedTasks;
  }
  if (context?.executionId) {
    alert.executionId = context.executionId;
    const consoleUrl = executionConsoleUrl(context.executionId);
    if (consoleUrl) alert.consoleUrl = consoleUrl;
  }
  if (context?.observedAfterTheFact) alert.observedAfterTheFact = true;
  return alert;
}

/** A finished flow's result maps each task to its final state (the local runner sets it). */
function failedTaskNames(result: unknown): string[] {
  if (!(result instanceof Map)) return [];
  const names: string[] = [];
  for (const [task, state] of result) {
    if (state instanceof State && state.isFailed() && typeof task?.name === "string") names.push(task.name);
  }
  return names;
}
