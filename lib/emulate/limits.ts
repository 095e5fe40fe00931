/**
 * AWS's limits, enforced in the emulator so a local run fails where AWS would (aws-local-stepfunctions
 * checks none of them): 256 KiB per state input and output and per execution input
 * (`States.DataLimitExceeded`, which no `Catch` can catch: the execution fails at once), the 1 MB
 * definition, 25,000 execution history events, and Lambda's 6 MB synchronous payload.
 */
import { MAX_DEFINITION_CHARS, MAX_HISTORY_EVENTS } from "../compile/compile";
import { UnsupportedDefinitionError } from "./errors";
import { jsonBytes, StateSizes } from "./state-sizes";

export { jsonBytes };

/** Step Functions' limit on a state's input or output and on an execution's input, in bytes. */
export const MAX_STATE_PAYLOAD_BYTES = 256 * 1024;
/** Step Functions' limit on events in one execution's history (defined beside the compiler's loop budgets). */
export { MAX_HISTORY_EVENTS };
/** Lambda's limit on a synchronous invocation's request and on its response, in bytes. */
export const MAX_LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** History events a Task state's attempt adds besides entering and leaving the state (scheduled, started, succeeded or failed). */
const EVENTS_PER_TASK_ATTEMPT = 3;
/**
 * History events an inline Map state adds besides entering and leaving it (MapStateStarted,
 * MapStateSucceeded or MapStateFailed). Each iteration adds MapIterationStarted and
 * MapIterationSucceeded (or Failed) around its own states' events, all in the execution's history,
 * as aws-local-stepfunctions' log has them.
 */
const EVENTS_PER_MAP_STATE = 2;

export const DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded";
export const HISTORY_LIMIT_EXCEEDED = "States.Runtime";

/** Refuses a definition Step Functions would refuse at deploy time. */
export function assertDefinitionWithinLimit(definitionString: string): void {
  if (definitionString.length > MAX_DEFINITION_CHARS) {
    throw new UnsupportedDefinitionError(
      `The definition is ${definitionString.length} characters; Step Functions accepts ${MAX_DEFINITION_CHARS}, so it would not deploy. ` +
        "Split the flow into smaller flows or use fewer tasks.",
    );
  }
}

/** The ending a limit forces on an execution. */
export interface LimitFailure {
  error: string;
  cause: string;
}

/** A Lambda error as Step Functions names it, thrown by the emulated invocation. */
export class LambdaLimitError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** One structural slice of aws-local-stepfunctions' event log entries: what the watch reads. */
interface LogEvent {
  type: string;
  state?: { name: string; type?: string; input?: unknown; output?: unknown };
  /** A Map iteration's event: the Map state. */
  parentState?: { name: string };
  /** A StateCaught event: the catcher. */
  catch?: { catcher?: { ResultPath?: unknown } };
}

/**
 * Entries of aws-local-stepfunctions' log that are no event of Step Functions' history: a failed
 * attempt is its TaskFailed (counted with the attempt), a retry shows as the next attempt's events.
 */
const NOT_HISTORY_EVENTS = new Set(["StateFailed", "StateRetried", "StateCaught"]);

export interface LimitWatchOptions {
  /**
   * Count history events against the 25,000 limit. A Distributed Map's children are child
   * executions, each with a history of its own, so their events never reach the parent's.
   * @default true
   */
  countHistory?: boolean;
  /**
   * The definition the execution runs: the sizes of its Task and Pass states' outputs are then
   * worked out from their inputs' (lib/emulate/state-sizes.ts) instead of measured in full.
   * @default - every output measured in full
   */
  definition?: Record<string, any>;
}

/**
 * Watches one emulated execution. The first limit crossed ends it: `exceeded` is set and `abort`
 * stops the machine; the emulator reports the execution as failed with that error.
 */
export class LimitWatch {
  exceeded?: LimitFailure;
  /** History events so far, counted as Step Functions would. */
  historyEvents = 0;
  /** The largest state input or output seen, in bytes. */
  largestStateBytes = 0;

  private readonly countHistory: boolean;
  private readonly sizes: StateSizes;
  /** The inline Map state whose iterations ran last, for the history limit's message. */
  private mapState?: string;

  constructor(
    private readonly abort: () => void,
    options: LimitWatchOptions = {},
  ) {
    this.countHistory = options.countHistory ?? true;
    this.sizes = new StateSizes(options.definition);
  }

  /** `States.DataLimitExceeded` for an execution input over 256 KiB, before any state runs. */
  static checkExecutionInput(input: unknown): LimitFailure | undefined {
    const bytes = jsonBytes(input);
    return bytes > MAX_STATE_PAYLOAD_BYTES
      ? { error: DATA_LIMIT_EXCEEDED, cause: `The execution input is ${bytes} bytes; Step Functions accepts ${MAX_STATE_PAYLOAD_BYTES}. Pass a reference (e.g. an S3 key) instead.` }
      : undefined;
  }

  /** Reads one event of aws-local-stepfunctions' log. */
  onEvent(event: LogEvent): void {
    if (event.type === "MapIterationStarted" && event.parentState) this.mapState = event.parentState.name;
    if (!NOT_HISTORY_EVENTS.has(event.type)) this.count(event.type === "StateEntered" && event.state?.type === "Map" ? 1 + EVENTS_PER_MAP_STATE : 1);
    if (!event.state) return;
    if (event.type === "StateEntered") this.checkState(event.state.name, "input", this.sizes.input(event.state.input));
    else if (event.type === "StateExited") this.checkState(event.state.name, "output", this.sizes.output(event.state.name, event.state.input, event.state.output));
    else if (event.type === "StateCaught") this.sizes.caughtBy(event.state.name, event.state.input, event.catch?.catcher);
  }

  /** Checks a synchronous Lambda request (`bytes`: its size as JSON, when already measured), throwing the error Lambda returns. */
  checkLambdaRequest(stateName: string, payload: unknown, bytes = jsonBytes(payload)): void {
    this.count(EVENTS_PER_TASK_ATTEMPT);
    if (bytes > MAX_LAMBDA_SYNC_PAYLOAD_BYTES) {
      throw new LambdaLimitError("Lambda.RequestTooLargeException", `State \`${stateName}\`: the request payload is ${bytes} bytes; Lambda accepts ${MAX_LAMBDA_SYNC_PAYLOAD_BYTES} for a synchronous invocation.`);
    }
  }

  /** Checks a Lambda response: over 6 MB Lambda fails it; over 256 KiB the Task state's result is too large. */
  checkLambdaResponse(stateName: string, payload: unknown, bytes = jsonBytes(payload)): void {
    if (bytes > MAX_LAMBDA_SYNC_PAYLOAD_BYTES) {
      throw new LambdaLimitError("Function.ResponseSizeTooLarge", `State \`${stateName}\`: the response is ${bytes} bytes; Lambda returns at most ${MAX_LAMBDA_SYNC_PAYLOAD_BYTES} from a synchronous invocation.`);
    }
    if (bytes > MAX_STATE_PAYLOAD_BYTES) {
      this.fail({ error: DATA_LIMIT_EXCEEDED, cause: `The result of state \`${stateName}\` is ${bytes} bytes; Step Functions accepts ${MAX_STATE_PAYLOAD_BYTES}.` });
      throw new LambdaLimitError(DATA_LIMIT_EXCEEDED, this.exceeded!.cause);
    }
  }

  private checkState(name: string, what: "input" | "output", bytes: number): void {
    this.largestStateBytes = Math.max(this.largestStateBytes, bytes);
    if (bytes > MAX_STATE_PAYLOAD_BYTES) {
      this.fail({ error: DATA_LIMIT_EXCEEDED, cause: `The ${what} of state \`${name}\` is ${bytes} bytes; Step Functions accepts ${MAX_STATE_PAYLOAD_BYTES}.` });
    }
  }

  private count(events: number): void {
    if (!this.countHistory) return;
    this.historyEvents += events;
    if (this.historyEvents > MAX_HISTORY_EVENTS) {
      const map = this.mapState
        ? ` Inline Map \`${this.mapState}\` writes each child's events into the execution's history: run it as a Distributed Map, whose children are executions with histories of their own ` +
          `(FlowStateMachine \`tasks: { "${this.mapState.replace(/\.Map$/, "")}": { mapMode: "auto" } }\`, or "distributed").`
        : "";
      this.fail({
        error: HISTORY_LIMIT_EXCEEDED,
        cause: `The execution history reached ${MAX_HISTORY_EVENTS} events, Step Functions' limit for one execution; split the flow into smaller flows.${map}`,
      });
    }
  }

  private fail(failure: LimitFailure): void {
    if (this.exceeded) return;
    this.exceeded = failure;
    this.abort();
  }
}
