/**
 * Parsing of what reaches the handler Lambda: each SQS record body is an EventBridge envelope of
 * one of three kinds. Anything else is a `MalformedEventError` whose message says what was wrong,
 * so the record can be logged and dropped instead of being retried forever.
 */
import { FlowhooksError } from "../core/errors";
import { maskSecrets } from "../core/mask";
import { State, STATE_CLASSES, type StateJSON } from "../core/states";

/** An SQS record (or EventBridge event) that can never be processed; retrying cannot fix it. */
export class MalformedEventError extends FlowhooksError {}

export const TASK_EVENT_SOURCE = "flowhooks";
export const TASK_STATE_CHANGE = "flowhooks Task State Change";
export const FLOW_STATE_CHANGE = "flowhooks Flow State Change";
export const SFN_EVENT_SOURCE = "aws.states";
export const SFN_STATUS_CHANGE = "Step Functions Execution Status Change";

export const EXECUTION_STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type EndedStatus = "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

/** What Step Functions says about an execution: from its status change event, DescribeExecution or the final-step report. */
export interface ExecutionStatusEvent {
  kind: "execution-status";
  executionArn: string;
  /** Absent in the flow's own final-step report. */
  stateMachineArn?: string;
  status: ExecutionStatus;
  startDate?: Date;
  stopDate?: Date;
  /** The execution's output JSON (a string), when Step Functions included it. */
  output?: string;
  error?: string;
  cause?: string;
  /** Absent in the final-step report: the handler then asks DescribeExecution. */
  redriveCount?: number;
  /** Where the event came from (for logs). */
  origin: "aws.states" | "flow-report" | "reconciler";
  /** The envelope's time. */
  at: Date;
}

/** A task transition the task Lambda emitted after the task's state-handler chain ran. */
export interface TaskTransitionEvent {
  kind: "task-transition";
  flow: string;
  task: string;
  executionArn: string;
  attempt: number;
  oldState: StateJSON;
  newState: StateJSON;
  at: Date;
  /** When the task's state was entered (`$$.State.EnteredTime`), where the task Lambda knew it. */
  stateEnteredAt?: Date;
  /** A mapped task's child: its index (0-based), named `task[mapIndex]` in alerts; absent for the parent and unmapped tasks. */
  mapIndex?: number;
  /** True when no code of the task reported the transition (a Distributed Map's crashed child, reported by the collect step). */
  observedAfterTheFact?: boolean;
}

export type FlowhooksEvent = ExecutionStatusEvent | TaskTransitionEvent;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Where in an event a problem is, for error messages: its text is made when an error is thrown, not
 * for every event read (two JSON.stringify calls and a concatenation per record otherwise).
 */
class Where {
  constructor(
    private readonly detailType: unknown,
    private readonly source: unknown,
  ) {}

  toString(): string {
    return `Event ${JSON.stringify(this.detailType)} from ${JSON.stringify(this.source)}`;
  }
}

function requireString(obj: Json, field: string, where: Where): string {
  const value = obj[field];
  if (typeof value !== "string" || value === "") {
    throw new MalformedEventError(`${where}: \`${field}\` must be a non-empty string, got ${JSON.stringify(value) ?? "nothing"}.`);
  }
  return value;
}

/**
 * An execution ARN (standard `…:execution:<state machine>:<name>`, a Distributed Map child's
 * `…:execution:<state machine>/<label>:<id>`, or express `…:express:<state machine>:<name>:<id>`):
 * anything else can never be described, listed or alerted, so it is refused here once.
 */
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(?:execution|express):[^:\s]+(?::[^:\s]+){1,2}$/;
/** Step Functions' own bound on ARNs; longer ones cannot be real (and would not fit a claim's key). */
const MAX_ARN_CHARS = 2048;

function requireExecutionArn(obj: Json, where: Where): string {
  const value = requireString(obj, "executionArn", where);
  if (value.length > MAX_ARN_CHARS || !EXECUTION_ARN.test(value)) {
    throw new MalformedEventError(
      `${where}: \`executionArn\` must be a Step Functions execution ARN (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME), got ${JSON.stringify(value.slice(0, 200))}${value.length > 200 ? "…" : ""}.`,
    );
  }
  return value;
}

function optionalString(obj: Json, field: string): string | undefined {
  const value = obj[field];
  return typeof value === "string" ? value : undefined;
}

/** The last date text `optionalDate` read and its time: an execution's envelopes mostly carry the same second. */
let lastDateText: string | undefined;
let lastDateMs = Number.NaN;

/** Step Functions sends epoch milliseconds; the SDK and our own reports send dates or ISO strings. */
function optionalDate(value: unknown): Date | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") {
    // `new Date(text)` is `new Date(Date.parse(text))`: the text's time is read once while it repeats.
    if (value !== lastDateText) {
      lastDateMs = Date.parse(value);
      lastDateText = value;
    }
    return Number.isNaN(lastDateMs) ? undefined : new Date(lastDateMs);
  }
  const date = value instanceof Date ? value : new Date(value as number);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A state's field that cannot be read (a function, not a closure per state: bundles name each closure made). */
function badStateField(where: string, value: Json, field: string, what: string): MalformedEventError {
  return new MalformedEventError(`${where}: \`${field}\` must be ${what}, got ${maskSecrets(JSON.stringify(value[field]) ?? "").slice(0, 100)}.`);
}

/** Where a state of an event is, for an error message (made only when one is thrown). */
function stateWhere(event: Where, stateField: string): string {
  return `${event}: \`${stateField}\``;
}

/**
 * A state's JSON, checked in full here at the edge (every field the alert renders), so a record
 * that would throw later is dropped once with one log line instead of failing until the DLQ.
 */
function parseStateJSON(value: unknown, event: Where, stateField: "oldState" | "newState"): StateJSON {
  if (!isObject(value) || typeof value.type !== "string" || !Object.hasOwn(STATE_CLASSES, value.type)) {
    throw new MalformedEventError(
      `${event}: \`${stateField}\` must be a state's JSON like {"type":"Failed","message":"…"} (type one of ${Object.keys(STATE_CLASSES).join(", ")}), got ${maskSecrets(JSON.stringify(value) ?? "").slice(0, 300)}.`,
    );
  }
  if (value.message !== undefined && typeof value.message !== "string") throw badStateField(stateWhere(event, stateField), value, "message", "a string");
  if (value.startTime !== undefined && (typeof value.startTime !== "string" || Number.isNaN(Date.parse(value.startTime)))) {
    throw badStateField(stateWhere(event, stateField), value, "startTime", "an ISO date string");
  }
  if (value.runCount !== undefined && !(Number.isInteger(value.runCount) && (value.runCount as number) >= 1)) {
    throw badStateField(stateWhere(event, stateField), value, "runCount", "a whole number ≥ 1");
  }
  try {
    State.fromJSON(value as unknown as StateJSON);
  } catch (error) {
    throw new MalformedEventError(`${stateWhere(event, stateField)} cannot be read as a state: ${(error as Error).message}`, { cause: error });
  }
  return value as unknown as StateJSON;
}

/**
 * True for a Distributed Map's child execution (`…:execution:<state machine>/<map run label>:<id>`;
 * state machine names cannot hold "/"). It runs one mapped child, not the flow: its status is no
 * flow transition (the child's own task events and the parent's history speak for it).
 */
export function isMapRunChildExecution(executionArn: string): boolean {
  return (executionArn.split(":")[6] ?? "").includes("/");
}

/** Parses an EventBridge envelope (already JSON-decoded) into a flowhooks event. */
export function parseEventBridgeEvent(envelope: unknown): FlowhooksEvent {
  if (!isObject(envelope)) throw new MalformedEventError(`Expected an EventBridge event object, got ${JSON.stringify(envelope)}.`);
  const source = envelope.source;
  const detailType = envelope["detail-type"];
  const detail = envelope.detail;
  const at = optionalDate(envelope.time) ?? new Date();
  const where = new Where(detailType, source);
  if (!isObject(detail)) throw new MalformedEventError(`${where} has no \`detail\` object.`);

  if (source === SFN_EVENT_SOURCE && detailType === SFN_STATUS_CHANGE) {
    const status = requireString(detail, "status", where);
    if (!(EXECUTION_STATUSES as readonly string[]).includes(status)) {
      throw new MalformedEventError(`${where}: unknown execution status ${JSON.stringify(status)}; expected one of ${EXECUTION_STATUSES.join(", ")}.`);
    }
    return {
      kind: "execution-status",
      origin: "aws.states",
      executionArn: requireExecutionArn(detail, where),
      // Required: without it a misrouted event could not be told from one of this state machine.
      stateMachineArn: requireString(detail, "stateMachineArn", where),
      status: status as ExecutionStatus,
      startDate: optionalDate(detail.startDate),
      stopDate: optionalDate(detail.stopDate),
      output: optionalString(detail, "output"),
      error: optionalString(detail, "error"),
      cause: optionalString(detail, "cause"),
      redriveCount: typeof detail.redriveCount === "number" ? detail.redriveCount : 0,
      at,
    };
  }

  if (source === TASK_EVENT_SOURCE && detailType === FLOW_STATE_CHANGE) {
    const status = requireString(detail, "status", where);
    if (status !== "SUCCEEDED" && status !== "FAILED") {
      throw new MalformedEventError(`${where}: \`status\` must be "SUCCEEDED" or "FAILED", got ${JSON.stringify(status)}.`);
    }
    requireString(detail, "flow", where);
    return {
      kind: "execution-status",
      origin: "flow-report",
      executionArn: requireExecutionArn(detail, where),
      status,
      error: optionalString(detail, "error"),
      cause: optionalString(detail, "cause"),
      stopDate: at,
      at,
    };
  }

  if (source === TASK_EVENT_SOURCE && detailType === TASK_STATE_CHANGE) {
    const attempt = detail.attempt;
    if (typeof attempt !== "number" || !Number.isInteger(attempt) || attempt < 1) {
      throw new MalformedEventError(`${where}: \`attempt\` must be an integer ≥ 1, got ${JSON.stringify(attempt)}.`);
    }
    const mapIndex = detail.mapIndex;
    if (mapIndex !== undefined && mapIndex !== null && !(typeof mapIndex === "number" && Number.isInteger(mapIndex) && mapIndex >= 0)) {
      throw new MalformedEventError(`${where}: \`mapIndex\` must be an integer ≥ 0 (a mapped child's index), got ${JSON.stringify(mapIndex)}.`);
    }
    const eventAt = optionalDate(detail.at);
    if (!eventAt) throw new MalformedEventError(`${where}: \`at\` must be an ISO date string, got ${JSON.stringify(detail.at)}.`);
    const stateEnteredAt = optionalDate(detail.stateEnteredTime);
    return {
      kind: "task-transition",
      flow: requireString(detail, "flow", where),
      task: requireString(detail, "task", where),
      executionArn: requireExecutionArn(detail, where),
      attempt,
      oldState: parseStateJSON(detail.oldState, where, "oldState"),
      newState: parseStateJSON(detail.newState, where, "newState"),
      at: eventAt,
      ...(stateEnteredAt ? { stateEnteredAt } : {}),
      ...(typeof mapIndex === "number" ? { mapIndex } : {}),
      ...(detail.observedAfterTheFact === true ? { observedAfterTheFact: true } : {}),
    };
  }

  throw new MalformedEventError(
    `${where} is not one flowhooks handles; the rule should route only "${SFN_STATUS_CHANGE}" from ${SFN_EVENT_SOURCE} ` +
      `and "${TASK_STATE_CHANGE}" / "${FLOW_STATE_CHANGE}" from ${TASK_EVENT_SOURCE}.`,
  );
}

/** Parses one SQS record body (an EventBridge envelope as JSON text). */
export function parseRecordBody(body: string): FlowhooksEvent {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch (error) {
    throw new MalformedEventError(
      `SQS record body is not JSON (${(error as Error).message}); it should be an EventBridge event delivered by the flow's rule.`,
    );
  }
  return parseEventBridgeEvent(envelope);
}
