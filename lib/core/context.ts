/**
 * What is known about the current run, for code that only receives `(obj, oldState, newState)`:
 * notifiers read the flow name, execution id and attempt from here. The local runner, the task
 * Lambda and the handler Lambda each set it around the work they do.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { State } from "./states";

/** An alert a notifier delivered during the run, as `RunOptions.onAlert` hears of it. */
export interface AlertEvent {
  /** The channel that delivered it ("slack", "console", "sns", …). */
  channel: string;
  /** What it is about: `task load`, `task fetch[3]`, `flow orders`. */
  subject: string;
  /** The state the alert announced. */
  state: State;
  /** When the alert was sent (the notifier's clock). */
  at: Date;
}

/**
 * Told of each alert a notifier in the run delivered, after its channel accepted it (a failed
 * delivery is not told). Runs inside the notifier: what it throws fails that state handler.
 */
export type AlertListener = (alert: AlertEvent) => void;

export interface RunContext {
  /** The flow being run. */
  flowName: string;
  /** A local run id, or the Step Functions execution ARN in the cloud. */
  executionId: string;
  /** Where the run happens: "local" (flow.run), "lambda" (task or handler Lambda), "emulator". */
  runtime: "local" | "lambda" | "emulator";
  /** The AWS region, when known (for console links). */
  region?: string;
  /** True when the transition is reconstructed after the fact (the task's own code never reported it). */
  observedAfterTheFact?: boolean;
  /** The task's attempt (1-based), while a task runs. */
  attempt?: number;
  /** A mapped task's child: its index among the children (0-based); it is named `task[mapIndex]`. */
  mapIndex?: number;
  /**
   * A task's loop (`signals.LOOP`): `count` is the iteration (1 on the first run), `result` what
   * the last LOOP carried (undefined on the first run).
   */
  loop?: { readonly count: number; readonly result?: unknown };
  /** The flows that started this one through `flowRun(...)`, outermost first. @default [] */
  parentFlows?: readonly string[];
  /** Hears each alert the run's notifiers delivered (`RunOptions.onAlert`; sub-flows share it). @default - none */
  onAlert?: AlertListener;
}

/**
 * One storage per process, shared by every copy of this module (the package's ESM and CommonJS
 * builds, each bundled Lambda the emulator loads): every enabled AsyncLocalStorage adds work to
 * every promise the process makes, so a hundred copies each with their own made every `await`
 * ~100x dearer. Sharing also lets a copy read the context another copy entered.
 */
const STORAGE = Symbol.for("flowhooks.runContext.storage");
const storage: AsyncLocalStorage<RunContext> = ((globalThis as Record<symbol, unknown>)[STORAGE] ??= new AsyncLocalStorage<RunContext>()) as AsyncLocalStorage<RunContext>;

/** Runs `fn` with `context` visible to everything it calls, including state handlers. */
export function withRunContext<T>(context: RunContext, fn: () => T): T;
/** @internal `fn(...args)` in the context, without a closure per call. */
export function withRunContext<A extends unknown[], T>(context: RunContext, fn: (...args: A) => T, ...args: A): T;
export function withRunContext<A extends unknown[], T>(context: RunContext, fn: (...args: A) => T, ...args: A): T {
  return storage.run(context, fn, ...args);
}

/** The current run's context, or undefined outside a run. */
export function getRunContext(): RunContext | undefined {
  return storage.getStore();
}
