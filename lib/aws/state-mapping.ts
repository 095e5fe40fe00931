/**
 * The one place that maps Step Functions' view of an execution (statuses, errors, history
 * failures, Catch records) to flowhooks states. Everything else asks this module.
 */
import { Cancelled, Failed, Running, Scheduled, State, Success, TimedOut, type StateJSON } from "../core/states";
import type { ExecutionStatus } from "./events";
import { maskSecrets } from "../core/mask";

/** The Error of the state machine's `Fail` state when reference tasks failed (set by lib/compile). */
export const FLOW_FAILED_ERROR = "flowhooks.FlowFailed";
/** Errors thrown by flowhooks' own task code start with this; anything else means no code of ours ran to the end. */
export const FLOWHOOKS_ERROR_PREFIX = "flowhooks.";

/** Longest error cause kept in a state's message; Step Functions causes can be 32 KB of stack trace. */
const MAX_CAUSE_CHARS = 1000;

export interface FlowTransition {
  oldState: State;
  newState: State;
}

/** Lambda errors come as a JSON cause (`{"errorType","errorMessage","trace"}`): its message is what a reader needs. */
function readableCause(cause: string | undefined): string | undefined {
  if (!cause?.startsWith("{")) return cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === "string" ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

function describeError(error?: string, rawCause?: string): string {
  // Masked before it is cut, so the cut leaves no part of a secret.
  const cause = readableCause(rawCause === undefined ? undefined : maskSecrets(rawCause));
  const parts = [error, cause && cause.length > MAX_CAUSE_CHARS ? `${cause.slice(0, MAX_CAUSE_CHARS)}…` : cause];
  return parts.filter((p) => p !== undefined && p !== "").join(": ");
}

/** True for statuses after which the execution does not change again (until a redrive). */
export function isEndedStatus(status: ExecutionStatus): status is "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" {
  return status === "SUCCEEDED" || status === "FAILED" || status === "TIMED_OUT" || status === "ABORTED";
}

/** RUNNING: `Scheduled()` → `Running("Running flow.")`, as `flow.run()` starts. */
export function flowStartTransition(startDate?: Date): FlowTransition {
  return { oldState: new Scheduled(undefined, { startTime: startDate ?? new Date() }), newState: new Running("Running flow.") };
}

/** The flow's final state for an ended execution, with Step Functions' error and cause. */
export function flowFinalStateFor(status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED", error?: string, cause?: string): State {
  const result = error !== undefined || cause !== undefined ? { error, cause } : undefined;
  const options = result === undefined ? {} : { result };
  switch (status) {
    case "SUCCEEDED":
      return new Success("All reference tasks succeeded.");
    case "FAILED":
      if (error === FLOW_FAILED_ERROR) return new Failed("Some reference tasks failed.", options);
      return new Failed(`Execution failed: ${describeError(error, cause) || "no error reported"}`, options);
    case "TIMED_OUT":
      return new TimedOut(`Execution timed out${error || cause ? `: ${describeError(error, cause)}` : "."}`, options);
    case "ABORTED":
      return new Cancelled(`Execution was aborted${error || cause ? `: ${describeError(error, cause)}` : "."}`, options);
  }
}

/** `Running("Running flow.")` → the final state. */
export function flowEndTransition(status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED", error?: string, cause?: string): FlowTransition {
  return { oldState: new Running("Running flow."), newState: flowFinalStateFor(status, error, cause) };
}

/** True when a task's Step Functions error did not come from flowhooks' own task code (timeout, OOM, crash, throttling). */
export function isInfrastructureError(error: string | undefined): boolean {
  return !(error ?? "").startsWith(FLOWHOOKS_ERROR_PREFIX);
}

/**
 * The error a task function throws when its attempt ended `Retrying`, so the task state's `Retry`
 * field schedules the next attempt; flowhooks' own, so never an infrastructure failure.
 */
export const RETRYING_ERROR = "flowhooks.Retrying";

/**
 * The error a task function throws when its attempt ended `Looped` (`signals.LOOP`): the task
 * state's `Catch` for it re-enters the task state (a fresh `Retry` budget), handing the error back
 * as the next invocation's `loop`. Its message is a `LoopRecord` as JSON. flowhooks' own, so never
 * an infrastructure failure, and never matched by a `Retry`.
 */
export const LOOPED_ERROR = "flowhooks.Looped";

/** What a `flowhooks.Looped` error carries from one iteration of a deployed loop to the next. */
export interface LoopRecord {
  /** The looping task (a stale record of another task, left in the execution JSON, is ignored). */
  task: string;
  /** The `Looped` state the iteration ended in (its result stored when above the results threshold). */
  state: StateJSON;
  /** History events the loop's iterations made so far (estimated as lib/compile counts them). */
  events: number;
}

/**
 * The `LoopRecord` in a caught `flowhooks.Looped` error, or undefined for any other error. The
 * cause is Lambda's JSON (`{"errorType","errorMessage","trace"}`), or the message itself.
 */
export function loopRecordOf(error: string | undefined, cause: string | undefined): LoopRecord | undefined {
  if (error !== LOOPED_ERROR || !cause) return undefined;
  try {
    const record = JSON.parse(readableCause(cause)!) as Partial<LoopRecord>;
    const state = record.state as { type?: unknown } | undefined;
    if (typeof record.task !== "string" || typeof record.events !== "number" || state?.type !== "Looped") return undefined;
    return record as LoopRecord;
  } catch {
    return undefined;
  }
}

/** Step Functions error names that mean the function or the state ran out of time. */
const TIMEOUT_ERRORS = new Set(["States.Timeout", "Sandbox.Timedout", "States.HeartbeatTimeout"]);

/**
 * The state a task attempt ended in when Step Functions recorded a failure or timeout and no code of
 * ours reported it: from history, from a Catch record in the execution JSON (the handler Lambda),
 * and from an upstream task's Catch record (the task Lambda). A timeout is `TimedOut`, anything else `Failed`.
 */
export function taskInfrastructureState(how: "failed" | "timed-out", error?: string, cause?: string): State {
  const result = { error, cause, infrastructure: true };
  const detail = describeError(error, cause);
  if (how === "timed-out" || TIMEOUT_ERRORS.has(error ?? "")) {
    return new TimedOut(`Task timed out in AWS before it could report its state (${detail || "States.Timeout"}).`, { result });
  }
  return new Failed(`Task failed in AWS before it could report its state (${detail || "States.Runtime"}).`, { result });
}

/** A task that was running when its execution stopped from outside (abort, execution timeout). */
export function taskInterruptedState(status: "ABORTED" | "TIMED_OUT"): State {
  return status === "ABORTED"
    ? new Cancelled("Execution was aborted while the task ran.")
    : new TimedOut("Execution timed out while the task ran.");
}

/** A task failure the state machine caught and recorded in its JSON (lib/compile's `<task>.Infra` Pass state). */
export interface CatchRecord {
  task: string;
  /** A mapped task's child the state machine caught (lib/compile's `<task>.ChildInfra` records its index). */
  mapIndex?: number;
  /** The caught Step Functions error and cause. */
  error?: string;
  cause?: string;
}

/**
 * True when some task output in an execution's final JSON (a record with a `state`, at any depth
 * up to 8) satisfies `test`; the first output `test` decides on (true or false) ends the search.
 */
function someTaskOutput(output: string | undefined, test: (record: { state: { type?: unknown } | null; attempt?: unknown; failed?: unknown }) => boolean | undefined): boolean {
  if (!output) return false;
  let data: unknown;
  try {
    data = JSON.parse(output);
  } catch {
    return false;
  }
  const visit = (value: unknown, depth: number): boolean => {
    if (depth > 8 || typeof value !== "object" || value === null) return false;
    const record = value as { state?: unknown };
    if (typeof record.state === "object") {
      const verdict = test(record as Parameters<typeof test>[0]);
      if (verdict !== undefined) return verdict;
    }
    return Object.values(value).some((child) => visit(child, depth + 1));
  };
  return visit(data, 0);
}

/**
 * True when a task output in the execution's final JSON says its task needed more than one attempt
 * (`attempt` > 1): its Retrying alerts must have gone out, which the history can confirm.
 */
export function outputShowsRetries(output: string | undefined): boolean {
  return someTaskOutput(output, (record) => (typeof record.attempt === "number" && record.attempt > 1 ? true : undefined));
}

/**
 * True when a mapped task's output in the execution's final JSON says a child failed (its parent
 * ended `Mapped` with `failed` set): a child may have crashed where no code of ours ran, which only
 * the history shows, even when the execution itself succeeded.
 */
export function outputShowsFailedChildren(output: string | undefined): boolean {
  return someTaskOutput(output, (record) => (record.state?.type === "Mapped" ? record.failed === true : undefined));
}

export function catchRecordsFromOutput(output: string | undefined): CatchRecord[] {
  if (!output) return [];
  let data: unknown;
  try {
    data = JSON.parse(output);
  } catch {
    return [];
  }
  const found: CatchRecord[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 8 || typeof value !== "object" || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      const infra = (child as { infrastructure?: unknown } | null)?.infrastructure;
      if (typeof infra === "object" && infra !== null && !Array.isArray(infra)) {
        const { Error: error, Cause: cause } = infra as { Error?: unknown; Cause?: unknown };
        const named = (child as { task?: unknown }).task;
        const mapIndex = (child as { mapIndex?: unknown }).mapIndex;
        found.push({
          // The record names its task; its key is the task's state key (a sanitised identifier).
          task: typeof named === "string" ? named : key,
          ...(typeof mapIndex === "number" && Number.isInteger(mapIndex) && mapIndex >= 0 ? { mapIndex } : {}),
          ...(typeof error === "string" ? { error } : {}),
          ...(typeof cause === "string" ? { cause } : {}),
        });
      } else {
        visit(child, depth + 1);
      }
    }
  };
  visit(data, 0);
  return found;
}
