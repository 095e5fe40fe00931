/**
 * State classes, as in Prefect 1.x: small value objects with `instanceof`-based predicates.
 *
 * Every class carries an explicit `stateName` (bundlers may rename classes, and JSON must not
 * depend on that), used by `toString()`, `toJSON()` and `State.fromJSON()`.
 */
import { brand } from "./brand";
import { deserializeResult, serializeResult, type SerializedResult } from "./serialize";

export interface StateOptions {
  /** The state's data: a task's return value, the error it threw, or the signal it raised. */
  result?: unknown;
}

export interface ScheduledOptions extends StateOptions {
  /** When the (next) run may start. @default now */
  startTime?: Date;
}

export interface RetryingOptions extends ScheduledOptions {
  /** The attempt that just failed (1-based). @default 1 */
  runCount?: number;
}

export interface LoopedOptions extends StateOptions {
  /** The loop iteration that just ended (1-based). @default 1 */
  loopCount?: number;
}

/** The JSON form of a state: what crosses Lambda, Step Functions and EventBridge boundaries. */
export interface StateJSON {
  type: StateName;
  message?: string;
  result?: SerializedResult;
  startTime?: string;
  runCount?: number;
  loopCount?: number;
}

export class State {
  static readonly stateName: string = "State";
  // Instance fields are declared and assigned in the constructor: the same own properties, in the
  // same order, as field initializers made (test/core/states.test.ts). Written when the emulator ran
  // a copy of these classes per container, where each initializer's define was slow; the runtime is
  // one module for all containers now (lib/cdk/bundle.ts), and plain assignments cost no more.
  declare message?: string;
  declare result?: unknown;

  constructor(message?: string, options?: StateOptions) {
    if (message !== undefined && typeof message !== "string") {
      throw new TypeError(
        `A state's message must be a string, got ${typeof message}; pass data as { result } instead.`,
      );
    }
    this.message = message;
    this.result = options !== undefined && "result" in options ? options.result : undefined;
  }

  /** The class's name, e.g. "Retrying". */
  get name(): StateName {
    return (this.constructor as typeof State).stateName as StateName;
  }

  isPending(): boolean {
    return this instanceof Pending;
  }
  isScheduled(): boolean {
    return this instanceof Scheduled;
  }
  isRetrying(): boolean {
    return this instanceof Retrying;
  }
  isRunning(): boolean {
    return this instanceof Running;
  }
  isFinished(): boolean {
    return this instanceof Finished;
  }
  isSuccessful(): boolean {
    return this instanceof Success;
  }
  isFailed(): boolean {
    return this instanceof Failed;
  }
  isSkipped(): boolean {
    return this instanceof Skipped;
  }
  isCancelled(): boolean {
    return this instanceof Cancelled;
  }
  isMapped(): boolean {
    return this instanceof Mapped;
  }
  isLooped(): boolean {
    return this instanceof Looped;
  }
  isPaused(): boolean {
    return this instanceof Paused;
  }

  /** `Name("message")`, or `Name()` without a message, as the Prefect guide prints states. */
  toString(): string {
    return this.message === undefined ? `${this.name}()` : `${this.name}("${this.message}")`;
  }

  toJSON(): StateJSON {
    const json: StateJSON = { type: this.name };
    if (this.message !== undefined) json.message = this.message;
    if (this.result !== undefined) json.result = serializeResult(this.result);
    return json;
  }

  static fromJSON(json: StateJSON | string): State {
    const data: StateJSON = typeof json === "string" ? JSON.parse(json) : json;
    if (!data || typeof data !== "object" || typeof data.type !== "string") {
      throw new TypeError(
        `State.fromJSON expects an object like {"type":"Success","message":"…"}, got ${JSON.stringify(data)}.`,
      );
    }
    const cls = STATE_CLASSES[data.type as StateName];
    if (!cls) {
      throw new TypeError(
        `Unknown state type "${data.type}"; expected one of ${Object.keys(STATE_CLASSES).join(", ")}.`,
      );
    }
    const options: RetryingOptions & LoopedOptions = {};
    // A mapped parent's result is its children's states, each in its JSON form.
    if (cls === Mapped && Array.isArray(data.result)) options.result = (data.result as StateJSON[]).map((child) => State.fromJSON(child));
    else if (data.result !== undefined) options.result = deserializeResult(data.result);
    if (data.startTime !== undefined) options.startTime = new Date(data.startTime);
    if (data.runCount !== undefined) options.runCount = data.runCount;
    if (data.loopCount !== undefined) options.loopCount = data.loopCount;
    return new (cls as new (m?: string, o?: RetryingOptions & LoopedOptions) => State)(data.message, options);
  }
}

export class Pending extends State {
  static override readonly stateName: string = "Pending";
}

export class Scheduled extends Pending {
  static override readonly stateName: string = "Scheduled";
  declare startTime: Date;
  constructor(message?: string, options: ScheduledOptions = {}) {
    super(message, options);
    this.startTime = options.startTime ?? new Date();
  }
  override toJSON(): StateJSON {
    return { ...super.toJSON(), startTime: this.startTime.toISOString() };
  }
}

export class Retrying extends Scheduled {
  static override readonly stateName: string = "Retrying";
  declare runCount: number;
  constructor(message?: string, options: RetryingOptions = {}) {
    super(message, options);
    this.runCount = options.runCount ?? 1;
  }
  override toJSON(): StateJSON {
    return { ...super.toJSON(), runCount: this.runCount };
  }
}

/** A task waiting for a person's approval (`triggers.manualOnly`); Prefect 1.x's `Paused`. */
export class Paused extends Scheduled {
  static override readonly stateName: string = "Paused";
}

/** A paused task that was approved and is about to run (Prefect 1.x's `Resume`). */
export class Resume extends Scheduled {
  static override readonly stateName: string = "Resume";
}

export class Running extends State {
  static override readonly stateName: string = "Running";
}

export class Finished extends State {
  static override readonly stateName: string = "Finished";
}

export class Success extends Finished {
  static override readonly stateName: string = "Success";
}

export class Skipped extends Success {
  static override readonly stateName: string = "Skipped";
}

export class Cached extends Success {
  static override readonly stateName: string = "Cached";
}

/**
 * A mapped task's parent state, once its children finished: `result` holds the children's final
 * states, in item order (Prefect 1.x's `Mapped`, whose `map_states` these are). A `Success`: the
 * children's failures count through triggers and reference tasks, which look at the children.
 */
export class Mapped extends Success {
  static override readonly stateName: string = "Mapped";
  declare result?: State[];
  /** The children's final states, in item order (the same array as `result`). */
  get mapStates(): State[] {
    return Array.isArray(this.result) ? this.result : [];
  }
}

export class Failed extends Finished {
  static override readonly stateName: string = "Failed";
}

export class TriggerFailed extends Failed {
  static override readonly stateName: string = "TriggerFailed";
}

export class TimedOut extends Failed {
  static override readonly stateName: string = "TimedOut";
}

export class Cancelled extends Finished {
  static override readonly stateName: string = "Cancelled";
}

/**
 * One iteration of a looping task ended (the task threw `signals.LOOP`) and the task runs again;
 * `result` is the value the LOOP carried, `loopCount` the iteration that ended (Prefect 1.x's `Looped`).
 */
export class Looped extends Finished {
  static override readonly stateName: string = "Looped";
  declare loopCount: number;
  constructor(message?: string, options: LoopedOptions = {}) {
    super(message, options);
    this.loopCount = options.loopCount ?? 1;
  }
  override toJSON(): StateJSON {
    return { ...super.toJSON(), loopCount: this.loopCount };
  }
}

export const STATE_CLASSES = {
  State,
  Pending,
  Scheduled,
  Retrying,
  Paused,
  Resume,
  Running,
  Finished,
  Success,
  Skipped,
  Cached,
  Mapped,
  Failed,
  TriggerFailed,
  TimedOut,
  Cancelled,
  Looped,
} as const;

// In hierarchy order (a parent before its children), so `instanceof` works across module copies.
for (const cls of Object.values(STATE_CLASSES)) brand(cls, `state.${cls.stateName}`);

export type StateName = keyof typeof STATE_CLASSES;
export type StateClass = (typeof STATE_CLASSES)[StateName];

/** True when `value` is one of the state classes above (used to validate `onlyStates` and the like). */
export function isStateClass(value: unknown): value is StateClass {
  return Object.values(STATE_CLASSES).includes(value as StateClass);
}
