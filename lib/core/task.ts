/**
 * Tasks: units of work in a flow. A task is callable: calling it inside a flow builder adds it to
 * the flow and returns a reference to its future result (`TaskRef`).
 */
import { brand } from "./brand";
import { FlowDefinitionError } from "./errors";
import { onFailureHandler, validateStateHandlers, type StateHandler } from "./handlers";
import { retryPolicy, type JitterStrategy, type RetryPolicy } from "./retry";
import type { State } from "./states";
import { allSuccessful, isTrigger, manualOnly, type Trigger } from "./triggers";

export interface TaskOptions {
  /** The task's name, unique within a flow. @default - the function's name, or "Task" */
  name?: string;
  /** Called on every state change of the task, in order. @default [] */
  stateHandlers?: StateHandler<Task<any, any>>[];
  /** Called as `onFailure(task, state)` when the task enters a failed state (after `stateHandlers`). @default - none */
  onFailure?: (task: Task<any, any>, state: State) => void | Promise<void>;
  /** Retries after a failed attempt. @default 0 */
  maxRetries?: number;
  /** Seconds before the first retry (Step Functions `IntervalSeconds`). @default 1 */
  retryDelaySeconds?: number;
  /** Delay multiplier for each further retry (Step Functions `BackoffRate`). @default 2 */
  backoffRate?: number;
  /** Upper bound of one retry delay (Step Functions `MaxDelaySeconds`). @default - no bound */
  maxDelaySeconds?: number;
  /** Randomise retry delays (Step Functions `JitterStrategy`). @default "NONE" */
  jitter?: JitterStrategy;
  /** An attempt that runs longer ends `TimedOut`; in the cloud, also the Lambda timeout. @default - no limit locally; the construct's default in the cloud */
  timeoutSeconds?: number;
  /** When the task runs, given its upstream tasks' states. @default allSuccessful */
  trigger?: Trigger;
  /** A task with a Skipped upstream task is Skipped too, whatever its trigger. @default true */
  skipOnUpstreamSkip?: boolean;
  /** Lambda memory in MB for this task in the cloud. @default - the construct's `taskDefaults.memorySize` */
  memorySize?: number;
  /** At most this many children of one `task.map(...)` run at once (Step Functions `MaxConcurrency`). @default - no cap locally and inline; 100 in a Distributed Map (docs/limits.md) */
  mapConcurrency?: number;
  /**
   * With `trigger: triggers.manualOnly`: a task not approved (or rejected) within this many
   * seconds of pausing ends `TimedOut`. @default - waits until answered
   */
  approvalTimeoutSeconds?: number;
}

/** Maps a function's parameter types to what may be passed inside a builder: a value or a reference to one. */
export type RefArgs<A extends unknown[]> = { [K in keyof A]: A[K] | TaskRef<A[K]> | ParameterRef<A[K]> };

/**
 * What may be passed to `task.map(...)` for a parameter of type `T`: a list (or a reference to one)
 * to map over, `flatten(listOfLists)`, or `unmapped(value)` to pass the value whole to every child.
 */
export type MapArgs<A extends unknown[]> = {
  [K in keyof A]:
    | readonly A[K][]
    | TaskRef<readonly A[K][]>
    | ParameterRef<readonly A[K][]>
    | Flattened<A[K]>
    | Unmapped<A[K] | TaskRef<A[K]> | ParameterRef<A[K]>>;
};

/** Where a task's argument comes from. `mapped`: a mapped task's argument mapped over (one item per child). */
export type InputSpec = (
  | { kind: "task"; task: Task<any, any> }
  | { kind: "parameter"; name: string; default?: unknown; hasDefault: boolean }
  | { kind: "constant"; value: unknown }
) & {
  /** One item per child (a `task.map(...)` argument not wrapped in `unmapped`). @default false */
  mapped?: boolean;
  /** Mapped over the concatenation of a list of lists (`flatten(...)`). @default false */
  flatten?: boolean;
};

/** `unmapped(x)`: inside `task.map(...)`, passes `x` whole to every child instead of mapping over it. */
export class Unmapped<T = unknown> {
  constructor(readonly value: T) {}
}

/** `flatten(ref)`: inside `task.map(...)`, maps over the items of a list of lists, one child per inner item. */
export class Flattened<T = unknown> {
  constructor(readonly value: TaskRef<readonly (readonly T[])[]> | ParameterRef<readonly (readonly T[])[]> | readonly (readonly T[])[]) {}
}

/** Passes `value` whole to every child of a `task.map(...)` (Prefect's `unmapped`). */
export function unmapped<T>(value: T): Unmapped<T> {
  return new Unmapped(value);
}

/** Maps over the items of a list of lists (Prefect's `flatten`): `parse.map(flatten(pages))`. */
export function flatten<T>(value: TaskRef<readonly (readonly T[])[]> | ParameterRef<readonly (readonly T[])[]> | readonly (readonly T[])[]): Flattened<T> {
  return new Flattened<T>(value);
}

/** One `caseOf(cond, value, …)` block: its condition task and the value it must return. */
export interface CaseGuard {
  readonly condition: Task<any, any>;
  readonly value: unknown;
  /** Which block (one id per `caseOf` call): `merge` refuses two refs from one block. */
  readonly block: number;
}

/** Collects the nodes a flow builder adds; installed while a builder function runs. */
export interface BuilderSink {
  /** A call (`mapped` false) or a `task.map(...)` call (`mapped` true). */
  addCall(task: Task<any, any>, args: unknown[], mapped?: boolean): TaskRef<unknown>;
  addOrdering(task: Task<any, any>, upstream: Task<any, any>): void;
  /** Runs `build` with every task called in it guarded by `guard` (a `caseOf` block). */
  withCase<T>(guard: CaseGuard, build: () => T): T;
  /** The `caseOf` blocks `task`'s node was called in, outermost first (empty outside any). */
  casesOf(task: Task<any, any>): readonly CaseGuard[];
}

/** The sink of the builder running now, or undefined outside a flow builder. */
export function currentBuilder(): BuilderSink | undefined {
  return activeBuilder;
}

let activeBuilder: BuilderSink | undefined;

/** Runs `build` with `sink` receiving task calls. Builders are synchronous. */
export function withBuilder<T>(sink: BuilderSink, build: () => T): T {
  if (activeBuilder) throw new FlowDefinitionError("Flows cannot be built inside another flow's builder; build them one after the other.");
  activeBuilder = sink;
  try {
    return build();
  } finally {
    activeBuilder = undefined;
  }
}

/** A reference to the future result of a task call inside a flow builder. */
export class TaskRef<R = unknown> {
  /** Phantom field: carries the result type so passing the wrong upstream is a compile error. */
  declare readonly __result?: R;

  constructor(
    /** The flow node this reference points to. */
    readonly task: Task<any, R>,
    private readonly sink: BuilderSink,
  ) {}

  /** Ordering-only edges (Prefect's `upstream_tasks`): this task runs after those. */
  after(...refs: (TaskRef<unknown> | Task<any, any>)[]): this {
    for (const ref of refs) {
      const upstream = ref instanceof TaskRef ? ref.task : ref;
      if (!(upstream instanceof Task)) {
        throw new FlowDefinitionError(`${this.task}.after(...) takes task references (the value a task call returns).`);
      }
      this.sink.addOrdering(this.task, upstream);
    }
    return this;
  }
}

/** A reference to a flow parameter, resolved from `flow.run({ parameters })` or the execution input. */
export class ParameterRef<T = unknown> {
  declare readonly __value?: T;
  constructor(
    readonly name: string,
    readonly defaultValue: T | undefined,
    readonly hasDefault: boolean,
  ) {}
}

/** A flow parameter inside a builder: `const n = parameter("n", 10); double(n)`. */
export function parameter<T = unknown>(name: string, defaultValue?: T): ParameterRef<T> {
  if (!activeBuilder) {
    throw new FlowDefinitionError(
      `parameter("${name}") was called outside a flow builder; call it inside new Flow({ name }, () => { … }).`,
    );
  }
  if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new FlowDefinitionError(`Parameter name ${JSON.stringify(name)} is not valid; use letters, digits, "_", "-" or ".".`);
  }
  return new ParameterRef<T>(name, defaultValue, arguments.length > 1);
}

// A Task is callable (inside builders), so its instances are functions with Task's prototype.
export interface Task<A extends unknown[] = unknown[], R = unknown> {
  (...args: RefArgs<A>): TaskRef<R>;
}

export class Task<A extends unknown[] = unknown[], R = unknown> {
  declare name: string;
  /** Declared state handlers followed by the `onFailure` handler, in call order. */
  declare readonly stateHandlers: readonly StateHandler<Task<any, any>>[];
  declare readonly retry: RetryPolicy;
  declare readonly timeoutSeconds?: number;
  declare readonly trigger: Trigger;
  declare readonly memorySize?: number;
  declare readonly skipOnUpstreamSkip: boolean;
  declare readonly mapConcurrency?: number;
  declare readonly approvalTimeoutSeconds?: number;
  /** The options this task was made with (used to copy it for a second call in one flow). */
  declare readonly options: TaskOptions;

  constructor(options: TaskOptions = {}) {
    const target = (new.target as { defaultTaskName?: string }).defaultTaskName ?? new.target.name;
    const defaultName = target === "Task" || !target ? "Task" : target;
    // The callable gets its name where it is made (a method: no `prototype` property either).
    // Redefining a function's `name` afterwards puts the object in V8's dictionary mode, which
    // made every read of a task's fields by the runner ~8x slower.
    const name = options !== null && typeof options === "object" && typeof options.name === "string" ? options.name : defaultName;
    const self = {
      [name](...args: unknown[]) {
        if (!activeBuilder) {
          throw new FlowDefinitionError(
            `${String(self)} was called outside a flow builder. Call it inside new Flow({ name }, () => { … }), ` +
              `or add it with new Flow({ name, tasks: [${(self as Task).name}] }); use flow.run() to run it.`,
          );
        }
        return activeBuilder.addCall(self as Task, args);
      },
    }[name] as unknown as Task<A, R>;
    Object.setPrototypeOf(self, new.target.prototype);
    self.configure(options, defaultName);
    return self;
  }

  /** @internal */
  protected configure(options: TaskOptions, defaultName: string): void {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Task options must be an object like { name: "load", maxRetries: 2 }.`);
    }
    const name = options.name ?? defaultName;
    if (typeof name !== "string" || name.trim() === "") {
      throw new FlowDefinitionError(`A task name must be a non-empty string; got ${JSON.stringify(name)}.`);
    }
    const owner = `Task \`${name}\``;
    const define = (key: string, value: unknown) =>
      Object.defineProperty(this, key, { value, writable: true, enumerable: true, configurable: true });
    // Named at creation (see the constructor); only a subclass's configure() override could differ.
    if (this.name !== name) define("name", name);
    define("options", { ...options });
    define("stateHandlers", [
      ...validateStateHandlers(options.stateHandlers, owner),
      ...onFailureHandler(options.onFailure, owner),
    ]);
    define("retry", retryPolicy(options, owner));
    if (options.timeoutSeconds !== undefined && !(options.timeoutSeconds > 0)) {
      throw new FlowDefinitionError(`${owner}: \`timeoutSeconds\` is ${options.timeoutSeconds}; it must be a number above 0.`);
    }
    define("timeoutSeconds", options.timeoutSeconds);
    if (options.trigger !== undefined && !isTrigger(options.trigger)) {
      throw new FlowDefinitionError(`${owner}: \`trigger\` must be one of flowhooks' triggers, e.g. triggers.anyFailed.`);
    }
    define("trigger", options.trigger ?? allSuccessful);
    if (options.memorySize !== undefined && (!Number.isInteger(options.memorySize) || options.memorySize < 128 || options.memorySize > 10240)) {
      throw new FlowDefinitionError(`${owner}: \`memorySize\` is ${options.memorySize}; Lambda takes a whole number of MB from 128 to 10240.`);
    }
    define("memorySize", options.memorySize);
    define("skipOnUpstreamSkip", options.skipOnUpstreamSkip ?? true);
    if (options.mapConcurrency !== undefined && (!Number.isInteger(options.mapConcurrency) || options.mapConcurrency < 1)) {
      throw new FlowDefinitionError(`${owner}: \`mapConcurrency\` is ${options.mapConcurrency}; it must be a whole number from 1 (or left out for no cap).`);
    }
    define("mapConcurrency", options.mapConcurrency);
    const approval = options.approvalTimeoutSeconds;
    if (approval !== undefined && (this.trigger !== manualOnly || !(approval > 0))) {
      throw new FlowDefinitionError(
        this.trigger !== manualOnly
          ? `${owner}: \`approvalTimeoutSeconds\` only applies to a task that waits for approval; add \`trigger: triggers.manualOnly\` or remove it.`
          : `${owner}: \`approvalTimeoutSeconds\` is ${approval}; it must be a number above 0 (or left out to wait until answered).`,
      );
    }
    define("approvalTimeoutSeconds", approval);
  }

  /**
   * Inside a flow builder: one child run of this task per item (Prefect's `task.map`). Each argument
   * is mapped over (a list, or a reference to one; `flatten(listOfLists)` maps over the inner items)
   * unless wrapped in `unmapped(...)`. Children get items at the same index; the lists must have one
   * length. Returns a reference to the children's results, in order.
   */
  map(...args: MapArgs<A>): TaskRef<R[]> {
    if (!activeBuilder) {
      throw new FlowDefinitionError(
        `${String(this)}.map(...) was called outside a flow builder; call it inside new Flow({ name }, () => { … }).`,
      );
    }
    return activeBuilder.addCall(this, args, true) as TaskRef<R[]>;
  }

  /** The task's work. Override it in a subclass, or build the task from a function with `task(fn)`. */
  run(..._args: A): R | Promise<R> {
    return undefined as R;
  }

  /** A copy with other options (same `run`), used when one task is called twice in a flow. */
  copy(overrides: TaskOptions = {}): Task<A, R> {
    const clone = new (this.constructor as new (o: TaskOptions) => Task<A, R>)({ ...this.options, ...overrides });
    if (this instanceof FunctionTask) (clone as unknown as FunctionTask<A, R>).fn = this.fn as never;
    return clone;
  }

  toString(): string {
    return `<Task: ${this.name}>`;
  }
}

/** A task whose `run` is a plain function. */
export class FunctionTask<A extends unknown[], R> extends Task<A, R> {
  declare fn: (...args: A) => R | Promise<R>;
  override run(...args: A): R | Promise<R> {
    return this.fn(...args);
  }
}

/**
 * A task from a function: `task(function load(id: string) { … })` or `task({ maxRetries: 2 }, load)`.
 * The function's name is the task's name unless `options.name` is given.
 */
export function task<A extends unknown[], R>(fn: (...args: A) => R): Task<A, Awaited<R>>;
export function task<A extends unknown[], R>(options: TaskOptions, fn: (...args: A) => R): Task<A, Awaited<R>>;
export function task<A extends unknown[], R>(
  a: TaskOptions | ((...args: A) => R),
  b?: (...args: A) => R,
): Task<A, Awaited<R>> {
  const [options, fn] = typeof a === "function" ? [{}, a] : [a ?? {}, b];
  if (typeof fn !== "function") {
    throw new TypeError("task(fn) or task(options, fn) needs a function: task(function load() { … }).");
  }
  const made = new FunctionTask<A, R>({ ...options, name: options.name ?? (fn.name || "Task") });
  made.fn = fn;
  return made as unknown as Task<A, Awaited<R>>;
}

brand(Task, "task");
brand(FunctionTask, "task.function");
brand(TaskRef, "taskRef");
brand(Unmapped, "unmapped");
brand(Flattened, "flattened");
brand(ParameterRef, "parameterRef");

/** True for a task, including one made by another copy of flowhooks (its CommonJS or ESM build). */
export function isTask(value: unknown): value is Task<any, any> {
  return value instanceof Task;
}
