/**
 * Signals: errors a task (or a state handler) throws to choose its next state, as in Prefect 1.x.
 * The state a signal produces carries the signal itself as `result`, so extra fields set on the
 * signal (`sig.flag = true`) reach state handlers as `newState.result.flag`.
 */
import { brand } from "./brand";
import { registerErrorClass } from "./serialize";
import { Failed, Looped, Retrying, Skipped, State, Success, TriggerFailed } from "./states";

export abstract class Signal extends Error {
  [field: string]: unknown;

  constructor(message?: string, data?: Record<string, unknown>) {
    super(message ?? "");
    this.name = (this.constructor as { signalName?: string }).signalName ?? "Signal";
    if (data) Object.assign(this, data);
  }

  /** The message the signal was raised with (`undefined` when none). */
  get stateMessage(): string | undefined {
    return this.message === "" ? undefined : this.message;
  }

  /** The state this signal ends in. RETRY's state is finished by the task runner (run count, start time). */
  abstract toState(): State;

  override toString(): string {
    return this.stateMessage === undefined ? `${this.name}()` : `${this.name}("${this.message}")`;
  }
}

/** End the task in `Failed` (retried if retries remain, like any failure). */
export class FAIL extends Signal {
  static readonly signalName: string = "FAIL";
  toState(): State {
    return new Failed(this.stateMessage, { result: this });
  }
}

/** End the task in `TriggerFailed` (a `Failed`). */
export class TRIGGERFAIL extends FAIL {
  static override readonly signalName: string = "TRIGGERFAIL";
  override toState(): State {
    return new TriggerFailed(this.stateMessage, { result: this });
  }
}

/** End the attempt in `Retrying` when retries remain, otherwise in `Failed`. */
export class RETRY extends Signal {
  static readonly signalName = "RETRY";
  toState(): State {
    return new Retrying(this.stateMessage, { result: this });
  }
}

/** End the task in `Skipped` (a `Success`); downstream tasks are skipped too. */
export class SKIP extends Signal {
  static readonly signalName = "SKIP";
  toState(): State {
    return new Skipped(this.stateMessage, { result: this });
  }
}

/** End the task in `Success`. */
export class SUCCESS extends Signal {
  static readonly signalName = "SUCCESS";
  toState(): State {
    return new Success(this.stateMessage, { result: this });
  }
}

/**
 * End this iteration in `Looped` and run the task again (Prefect 1.x's `LOOP`):
 * `throw new signals.LOOP("page 2", { result: nextPage })`. The next iteration reads the result
 * and its count from `getRunContext().loop`. The engine sets the `Looped` state's `loopCount`.
 */
export class LOOP extends Signal {
  static readonly signalName = "LOOP";
  toState(): State {
    return new Looped(this.stateMessage, { result: this.result });
  }
}

brand(Signal, "signal");
for (const cls of [FAIL, TRIGGERFAIL, RETRY, SKIP, SUCCESS, LOOP]) {
  brand(cls, `signal.${cls.signalName}`);
  registerErrorClass(cls.signalName, (message, fields) => new cls(message, fields));
}
