/**
 * The attempt: the one code path that decides a task's next state. Prefect 1's `TaskRunner` as
 * named steps, in order (`TaskRun.steps`): check upstream skipped, check trigger, set running, run
 * the body (with its timeout), propose the body's state, check for retry; then the closing steps
 * obey the retry policy for a `Retrying` a state handler made and end the attempt. Any step may end
 * the attempt early (`endAttempt`).
 *
 * One driver (`advance`) runs the steps. It stays synchronous while handlers and the body are, and
 * waits (one reaction, no async frame) only on what returned a thenable. The local runner (every
 * task and every mapped child, retries in-process through the injected clock) and the task Lambda
 * (`runTaskAttempt`, one attempt per invocation) both run a `TaskRun`.
 */
import type { Clock } from "./clock";
import { getRunContext, withRunContext, type RunContext } from "./context";
import { caseNotTaken, caseSkippedMessage, type FlowRunTask } from "./control";
import { FlowDefinitionError } from "./errors";
import type { FlowNode } from "./graph";
import { chainError, isThenable, LastHandlerPending, runChain, type ChainOutcome } from "./handlers";
import { expandStates, upstreamResult, UPSTREAM_SKIPPED_MESSAGE } from "./map";
import { hasRetriesLeft, retryDelaySeconds } from "./retry";
import { unserializablePart, unserializableResultError } from "./serialize";
import { RETRY, Signal } from "./signals";
import { Cancelled, Failed, Looped, Paused, Pending, Resume, Retrying, Running, Skipped, State, Success, TimedOut, TriggerFailed } from "./states";
import { manualOnly } from "./triggers";
import type { Task } from "./task";
import { tell, type TransitionEventContext, type TransitionListener } from "./transition";

/** Final states of upstream tasks by task name (a `Map` will do). */
export interface UpstreamStates {
  get(name: string): State | undefined;
}

export interface TaskAttemptRequest {
  node: FlowNode;
  /** 1-based attempt number (Step Functions' `$$.State.RetryCount` + 1). */
  attempt: number;
  /** The state before this attempt: `Pending()` for the first, the `Retrying` state for later ones. */
  initialState: State;
  /** Final states of the node's upstream tasks, by task name. */
  upstreamStates: UpstreamStates;
  /**
   * A mapped task's child: its upstream states (in `node.upstream` order) and arguments, from
   * `childUpstreamStates` / `childInputs`, instead of reading `upstreamStates` by name.
   * @default - the node's own, from `upstreamStates`
   */
  mapChild?: { upstream: State[]; inputs: unknown[] };
  /** The flow's parameters. */
  parameters: Readonly<Record<string, unknown>>;
  clock: Clock;
  random?: () => number;
  onTransition?: TransitionListener;
  /**
   * Answers a `manualOnly` task's approval: `true` approves, a string rejects with that reason
   * (`false`: "not approved").
   * @default - none: a task that waits for approval fails the run with an error naming the option
   */
  approve?: ApproveFunction;
  /**
   * Deployed approvals, where the wait is a Step Functions task token rather than a promise:
   * `"pause"` ends the attempt at `Paused` (the `.waitForTaskToken` invocation; the answer comes
   * from outside), and an `ApprovalAnswer` is the answer already given (the task state after the
   * wait; `initialState` is then the `Paused` the wait began from).
   * @default - in-process: `approve` is asked and awaited
   */
  approval?: "pause" | ApprovalAnswer;
  /**
   * Runs another flow for a `flowRun` task and resolves to its final state.
   * @default - none: a `flowRun` task fails the run, unless `bodyElsewhere` says who runs it
   */
  runSubFlow?: (flow: FlowRunTask["flow"], parameters: Readonly<Record<string, unknown>>) => Promise<State>;
  /**
   * A deployed `flowRun` task's attempt spans two invocations with the sub-flow's execution between
   * them: `"start"` ends the attempt once `Running` (the state machine runs the body); `{ ran }`
   * resumes it from `Running` with the sub-flow's final state as the body's.
   * @default - the whole attempt in this call
   */
  bodyElsewhere?: "start" | { ran: State };
  /**
   * The loop iteration this attempt belongs to, when it is not the first (the task Lambda: a deployed
   * loop re-enters the task state once per iteration). With an `initialState` that is the previous
   * iteration's `Looped`, the attempt starts as `flow.run()`'s next iteration does (Looped → Running).
   * @default - the first iteration: `{ count: 1, result: undefined }`
   */
  loop?: LoopContext;
}

/** `getRunContext().loop`: the iteration (1-based) and the last `LOOP`'s result. */
export type LoopContext = NonNullable<RunContext["loop"]>;

/** `flow.run({ approve })`: answers each task that waits for approval. */
export type ApproveFunction = (task: Task<any, any>, context: RunContext | undefined) => boolean | string | PromiseLike<boolean | string>;

/** The message of a task's `Running` state. */
export const RUNNING_MESSAGE = "Starting task run.";

/** The message of a task paused for approval. */
export const WAITING_FOR_APPROVAL = "Waiting for approval.";

/** What an approval came to: approved, rejected (the reason), or no answer in time (the seconds waited). */
export type ApprovalAnswer = { approved: true } | { rejected: string } | { timedOut: number };

/** What every task of a run shares (the local runner passes one object for all its tasks). */
export type AttemptEnvironment = Omit<TaskAttemptRequest, "node" | "attempt" | "initialState">;

/** Who hears how a task run ended: the local runner's scheduler, or `runTaskAttempt`'s promise. */
export interface TaskRunOwner {
  /** The task ended in `state` (with `retriesInProcess: false`, possibly a `Retrying`). */
  finished(index: number, state: State): void;
  /** An error escaped the task (a definition error, a throwing listener). */
  fail(error: unknown): void;
}

/** How one `TaskRun` is set up. */
export interface TaskRunSetup {
  /** The node's index (the local runner's topological position, a mapped child's index), passed back to the owner. */
  index: number;
  owner: TaskRunOwner;
  /** The first attempt's number (1-based). */
  attempt: number;
  /** The state before the first attempt. */
  initialState: State;
  /**
   * Sleep until each `Retrying` state's start time and attempt again, and run each loop iteration
   * after a `Looped` (local); or end at `Retrying` or `Looped` (Lambda: Step Functions retries the
   * state, and re-enters it for the next iteration).
   */
  retriesInProcess: boolean;
  /** The iteration the run starts in. @default - the first */
  loop?: LoopContext;
  /** The upstream tasks' final states, in `node.upstream` order. @default - read from the environment */
  upstream?: State[];
  /** The body's arguments. @default - resolved from the environment when the body runs */
  inputs?: unknown[];
}

/** What a step tells the driver. */
const CONTINUE = 0;
const WAIT = 1;
const DONE = 2;
type Next = typeof CONTINUE | typeof WAIT | typeof DONE;

/**
 * One task run: its state, and the steps of an attempt. Each step reads and sets the fields, and
 * returns CONTINUE, or WAIT after arranging for `advance` to be called when what it started
 * settles, or DONE once the owner was told. The step order is the attempt's definition.
 */
export class TaskRun {
  /** The attempt, in order. A step that ends the attempt jumps to the closing steps. */
  private static readonly steps: readonly ((this: TaskRun) => Next)[] = [
    TaskRun.prototype.checkUpstreamSkipped,
    TaskRun.prototype.checkCase,
    TaskRun.prototype.pickMergedInput,
    TaskRun.prototype.checkTrigger,
    TaskRun.prototype.pauseForApproval,
    TaskRun.prototype.askForApproval,
    TaskRun.prototype.answerApproval,
    TaskRun.prototype.setRunning,
    TaskRun.prototype.runTaskBody,
    TaskRun.prototype.proposeBodyState,
    TaskRun.prototype.checkForRetry,
    // Closing steps: every attempt ends through these.
    TaskRun.prototype.obeyRetryPolicy,
    TaskRun.prototype.finishAttempt,
  ];
  private static readonly closingStep = TaskRun.steps.indexOf(TaskRun.prototype.obeyRetryPolicy);
  /** Where a loop's next iteration starts: upstream states, case and approval were settled by the first. */
  private static readonly loopStep = TaskRun.steps.indexOf(TaskRun.prototype.setRunning);

  // Fields are declared, then assigned in the constructor (every one, so a TaskRun has one shape
  // from its start), not given initializers or parameter properties (see State's fields).
  declare private readonly env: AttemptEnvironment;
  declare private readonly node: FlowNode;
  declare private readonly setup: TaskRunSetup;
  declare private step: number;
  declare private attempt: number;
  declare private state: State;
  /** The last chain's outcome was final (a handler threw): nothing further runs. */
  declare private final: boolean;
  /** The state the body ran from. */
  declare private running: State;
  /** What the body ended in, before its state change. */
  declare private bodyState: State;
  /** The `Retrying` this engine made from the retry policy (any other one came from a state handler). */
  declare private policyRetrying: State | undefined;
  /** What a handler's `Retrying` without retries left becomes, even if the chain insists on retrying. */
  declare private noRetriesLeft: Failed | undefined;
  declare private readonly ctx: TransitionEventContext | undefined;
  /** The loop iteration (1-based; `signals.LOOP` starts the next one). */
  declare private loopCount: number;
  /** The approval's answer, once given. */
  declare private approval: ApprovalAnswer | undefined;

  constructor(env: AttemptEnvironment, node: FlowNode, setup: TaskRunSetup) {
    this.env = env;
    this.node = node;
    this.setup = setup;
    // The next iteration of a deployed loop starts where flow.run()'s does: upstream, case and approval were settled by the first.
    this.step = setup.initialState instanceof Looped ? TaskRun.loopStep : 0;
    this.attempt = setup.attempt;
    this.state = setup.initialState;
    this.final = false;
    // Set before they are known, so every TaskRun keeps one shape (one hidden class) from here on.
    this.running = undefined as unknown as State;
    this.bodyState = undefined as unknown as State;
    this.policyRetrying = undefined;
    this.noRetriesLeft = undefined;
    this.loopCount = setup.loop ? setup.loop.count : 1;
    this.approval = typeof env.approval === "object" ? env.approval : undefined;
    // Only a listener reads the attempt from a transition context; without one, none is made.
    this.ctx = env.onTransition ? { clock: env.clock, onTransition: env.onTransition, kind: "task", attempt: setup.attempt } : undefined;
  }

  /** Runs the first attempt (synchronously as far as nothing returns a thenable). */
  start(): void {
    const elsewhere = this.env.bodyElsewhere;
    if (typeof elsewhere === "object") {
      // The body ran outside this call (a deployed sub-flow): the attempt goes on from its outcome.
      this.running = this.state;
      this.bodyState = elsewhere.ran;
      this.step = TaskRun.steps.indexOf(TaskRun.prototype.proposeBodyState);
    }
    this.advance();
  }

  /** The driver: runs steps until one waits or the run is done. */
  private advance(): void {
    try {
      for (;;) {
        const next = TaskRun.steps[this.step++]!.call(this);
        if (next !== CONTINUE) return;
      }
    } catch (error) {
      this.setup.owner.fail(error);
    }
  }

  /** Ends the attempt: the closing steps run next. */
  private endAttempt(): Next {
    this.step = TaskRun.closingStep;
    return CONTINUE;
  }

  // --- the steps ---

  /** An upstream task was skipped and the task skips with it (`skipOnUpstreamSkip`). */
  private checkUpstreamSkipped(): Next {
    if (!this.node.task.skipOnUpstreamSkip || !anySkipped(this.upstream())) return CONTINUE;
    this.endAttempt();
    return this.change(this.verdictFrom(), new Skipped(UPSTREAM_SKIPPED_MESSAGE));
  }

  /** A `caseOf` block the task was called in was not taken: the task is Skipped. */
  private checkCase(): Next {
    if (this.node.cases === undefined) return CONTINUE;
    const upstream = this.upstream();
    const notTaken = caseNotTaken(this.node, (condition) => upstream[this.node.upstream.indexOf(condition)], upstreamResult);
    if (notTaken === undefined) return CONTINUE;
    this.endAttempt();
    return this.change(this.verdictFrom(), new Skipped(caseSkippedMessage(notTaken)));
  }

  /** A `merge(...)`: its input is the first upstream result (in argument order) not Skipped; Skipped when all were. */
  private pickMergedInput(): Next {
    if (this.node.kind !== "merge") return CONTINUE;
    const upstream = this.upstream();
    for (const input of this.node.inputs) {
      if (input.kind !== "task") continue;
      const state = upstream[this.node.upstream.indexOf(input.task)];
      if (state !== undefined && !state.isSkipped()) {
        this.setup.inputs = [upstreamResult(state)];
        return CONTINUE;
      }
    }
    this.endAttempt();
    return this.change(this.verdictFrom(), new Skipped(ALL_MERGED_SKIPPED_MESSAGE));
  }

  /** The task's trigger rejects its upstream states. */
  private checkTrigger(): Next {
    const trigger = this.node.task.trigger;
    if (trigger.check(expandStates(this.upstream()))) return CONTINUE;
    this.endAttempt();
    return this.change(this.verdictFrom(), new TriggerFailed(trigger.failureMessage));
  }

  /** A `manualOnly` task: Pending → Paused("Waiting for approval."), once per task run. */
  private pauseForApproval(): Next {
    if (this.node.task.trigger !== manualOnly || this.approval !== undefined) return CONTINUE;
    if (!this.env.approve && this.env.approval !== "pause") {
      throw new FlowDefinitionError(
        `${String(this.node.task)} waits for approval (triggers.manualOnly); answer it with flow.run({ approve: (task) => true }) ` +
          `(return a string to reject with that reason), or \`flowhooks run --approve all|none\`.`,
      );
    }
    return this.change(this.state, new Paused(WAITING_FOR_APPROVAL, { startTime: this.env.clock.now() }));
  }

  /** Asks `approve` (raced against `approvalTimeoutSeconds`) unless a handler moved the task on. */
  private askForApproval(): Next {
    if (this.node.task.trigger !== manualOnly || this.approval !== undefined) return CONTINUE;
    if (this.final || !this.state.isPaused() || this.env.approval === "pause") return this.endAttempt();
    return this.settle(askApproval(this.env.approve!, this.node.task, this.env.clock), (answer) => (this.approval = answer));
  }

  /** Hands `value` to `keep` now (CONTINUE), or when it settles and then goes on (WAIT): the one place a step waits. */
  private settle<T>(value: T | PromiseLike<T>, keep: (value: T) => void): Next {
    if (!isThenable(value)) {
      keep(value as T);
      return CONTINUE;
    }
    value.then(
      (settled) => {
        keep(settled);
        this.advance();
      },
      (error: unknown) => this.setup.owner.fail(error),
    );
    return WAIT;
  }

  /** Paused → Resume (approved), Cancelled("Rejected: <reason>"), or TimedOut (no answer in time). */
  private answerApproval(): Next {
    const answer = this.approval;
    if (this.node.task.trigger !== manualOnly || answer === undefined || !this.state.isPaused()) return CONTINUE;
    if ("approved" in answer) return this.change(this.state, new Resume("Approval given to resume."));
    this.endAttempt();
    if ("rejected" in answer) return this.change(this.state, new Cancelled(`Rejected: ${answer.rejected}`));
    return this.change(this.state, new TimedOut(`No approval within ${answer.timedOut} seconds.`));
  }

  private setRunning(): Next {
    if (this.final || (this.state.isFinished() && !this.state.isLooped())) return this.endAttempt();
    return this.change(this.state, new Running(RUNNING_MESSAGE));
  }

  /** The body, unless a handler failed or chose another state than Running. */
  private runTaskBody(): Next {
    if (this.final || !this.state.isRunning()) return this.endAttempt();
    this.running = this.state;
    const task = this.node.task;
    if (this.env.bodyElsewhere === "start") {
      this.setup.owner.finished(this.setup.index, this.state);
      return DONE;
    }
    const ran = this.node.kind === "flowRun" ? this.runSubFlow(task as FlowRunTask) : runBody(task, this.inputs(), this.env.clock);
    // A synchronous body (the usual no-wait case) needs no callback to keep its state.
    if (!isThenable(ran)) {
      this.bodyState = ran;
      return CONTINUE;
    }
    return this.settle(ran, (state) => (this.bodyState = state));
  }

  /** Running → what the body ended in (RETRY raised by the body obeys the retry policy). */
  private proposeBodyState(): Next {
    const body = this.bodyState;
    if (body instanceof Looped) {
      body.loopCount = this.loopCount;
      body.message ??= `Task is looping (${this.loopCount}).`;
    }
    if (!(body instanceof Retrying)) {
      this.policyRetrying = body;
      return this.change(this.running, body);
    }
    const now = this.env.clock.now();
    this.policyRetrying = retryFromSignal(this.node.task, this.attempt, body, now, this.random());
    return this.change(this.running, this.policyRetrying, now);
  }

  /** A failure with retries left becomes the policy's `Retrying`, with the next attempt's start time. */
  private checkForRetry(): Next {
    if (this.final || !this.state.isFailed() || !hasRetriesLeft(this.node.task.retry, this.attempt)) return CONTINUE;
    const now = this.env.clock.now();
    this.policyRetrying = retryingState(this.node.task, this.attempt, now, this.random());
    return this.change(this.state, this.policyRetrying, now);
  }

  /**
   * A `Retrying` a state handler produced (threw RETRY, or returned one) obeys the retry policy too:
   * with retries left, the policy's run count and start time (unless the handler chose a start time
   * itself); without, `Failed` through the chain (see `finishAttempt`).
   */
  private obeyRetryPolicy(): Next {
    const state = this.state;
    if (!(state instanceof Retrying) || state === this.policyRetrying) return CONTINUE;
    const task = this.node.task;
    if (hasRetriesLeft(task.retry, this.attempt)) {
      if (state.result instanceof RETRY) {
        this.state = retryingState(task, this.attempt, this.env.clock.now(), this.random(), { message: state.message, result: state.result });
      }
      return CONTINUE;
    }
    this.noRetriesLeft = noRetriesLeft(task, this.attempt, state);
    return this.change(state, this.noRetriesLeft);
  }

  /**
   * The attempt ended: tell the owner, or (a `Retrying`, retrying in-process) sleep and attempt
   * again, or (`Looped`) run the next iteration.
   */
  private finishAttempt(): Next {
    if (this.noRetriesLeft && this.state instanceof Retrying) this.state = this.noRetriesLeft;
    const state = this.state;
    if (state instanceof Looped && !this.final && this.setup.retriesInProcess) return this.nextIteration(state);
    if (!(state instanceof Retrying) || !this.setup.retriesInProcess) {
      this.setup.owner.finished(this.setup.index, state);
      return DONE;
    }
    const clock = this.env.clock;
    clock.sleep(state.startTime.getTime() - clock.now().getTime()).then(
      () => this.nextAttempt(),
      (error: unknown) => this.setup.owner.fail(error),
    );
    return WAIT;
  }

  /** The next attempt runs in a run context of its own (the first attempt's may be shared by many tasks). */
  private nextAttempt(): void {
    this.beginAttempt(this.attempt + 1, 0);
    const outer = getRunContext();
    if (outer) withRunContext({ ...outer, attempt: this.attempt }, () => this.advance());
    else this.advance();
  }

  /** Resets what one attempt keeps, to start attempt `attempt` at step `step`. */
  private beginAttempt(attempt: number, step: number): void {
    this.attempt = attempt;
    if (this.ctx) this.ctx.attempt = attempt;
    this.step = step;
    this.final = false;
    // Set before they are known, so every TaskRun keeps one shape (one hidden class) from here on.
    this.running = undefined as unknown as State;
    this.bodyState = undefined as unknown as State;
    this.policyRetrying = undefined;
    this.noRetriesLeft = undefined;
  }

  /**
   * `signals.LOOP`: the task runs again (Looped → Running), with a fresh retry budget and
   * `getRunContext().loop` = the next count and the LOOP's result. In the local runner only: the task
   * Lambda ends its invocation at `Looped`, and the state machine re-enters the task state.
   */
  private nextIteration(looped: Looped): Next {
    this.loopCount = looped.loopCount + 1;
    this.beginAttempt(1, TaskRun.loopStep);
    const outer = getRunContext();
    const loop = { count: this.loopCount, result: looped.result };
    // From a fresh microtask: a long synchronous loop must not grow the stack one iteration at a time.
    void Promise.resolve().then(() => {
      if (outer) withRunContext({ ...outer, attempt: 1, loop }, () => this.advance());
      else this.advance();
    });
    return WAIT;
  }

  /** A `flowRun` task's body: the other flow's run, whose final state is the task's. */
  private runSubFlow(task: FlowRunTask): Promise<State> {
    const run = this.env.runSubFlow;
    if (!run) {
      throw new FlowDefinitionError(
        `${String(task)} runs the flow \`${task.flow.name}\` with flowRun(...), which needs a runner that can start it: ` +
          `flow.run(), or (deployed) the state machine FlowStateMachine compiles with \`flowRuns: { ${task.flow.name}: … }\`.`,
      );
    }
    return run(task.flow, task.parameters);
  }

  // --- what the steps share ---

  /**
   * The state change `oldState → newState` through the task's handler chain; its outcome lands in
   * `state` and `final`. CONTINUE when the chain ran synchronously, else WAIT (the driver resumes
   * when the pending handler settles). `madeAt`: the clock read `newState` was made from (a
   * `Retrying`'s start time is that read plus the retry delay); if the chain keeps `newState`, the
   * transition's `at` is that same read, so `startTime - at` is exactly the delay.
   */
  private change(oldState: State, newState: State, madeAt?: Date): Next {
    const outcome = runChain(this.node.task, this.node.stateHandlers, oldState, newState);
    if (outcome instanceof LastHandlerPending) {
      outcome.returned.then(
        (value) => this.changed(oldState, outcome.settle(value), newState, madeAt),
        (error: unknown) => this.changed(oldState, chainError(error), newState, madeAt),
      );
      return WAIT;
    }
    if (isThenable(outcome)) {
      outcome.then(
        (o) => this.changed(oldState, o, newState, madeAt),
        (error: unknown) => this.setup.owner.fail(error),
      );
      return WAIT;
    }
    this.apply(oldState, outcome, newState, madeAt);
    return CONTINUE;
  }

  private changed(oldState: State, outcome: ChainOutcome, newState: State, madeAt: Date | undefined): void {
    try {
      this.apply(oldState, outcome, newState, madeAt);
    } catch (error) {
      this.setup.owner.fail(error);
      return;
    }
    this.advance();
  }

  private apply(oldState: State, outcome: ChainOutcome, newState: State, madeAt: Date | undefined): void {
    let at = outcome.state === newState ? madeAt : undefined;
    const asked = outcome.state;
    // RETRY raised by a state handler: the policy's Retrying (its run count and start time) is what
    // happened, so it is what the transition reports (obeyRetryPolicy keeps it); not a Retrying
    // started "now" that a retry alert would name as the next attempt's time.
    if (asked !== newState && asked instanceof Retrying && asked.result instanceof RETRY && asked !== this.policyRetrying && hasRetriesLeft(this.node.task.retry, this.attempt)) {
      at = this.env.clock.now();
      this.policyRetrying = retryingState(this.node.task, this.attempt, at, this.random(), { message: asked.message, result: asked.result });
      outcome = { state: this.policyRetrying, final: outcome.final };
    }
    this.state = outcome.state;
    this.final = outcome.final;
    if (this.ctx) tell(this.node.task, oldState, outcome, this.ctx, at);
  }

  /**
   * The old state of a trigger or skip verdict. Upstream states never change within a run, so
   * after attempt 1 the checks pass again; they fail there only when the platform counted a
   * transient retry (Lambda throttling) as an attempt, and the task was then never started.
   */
  private verdictFrom(): State {
    return this.attempt === 1 ? this.state : new Pending();
  }

  private upstream(): State[] {
    return (this.setup.upstream ??= this.env.mapChild?.upstream ?? upstreamStatesOf(this.node, this.env.upstreamStates));
  }

  private inputs(): unknown[] {
    return (this.setup.inputs ??= this.env.mapChild?.inputs ?? resolveInputs(this.node, this.env.upstreamStates, this.env.parameters));
  }

  private random(): () => number {
    return this.env.random ?? Math.random;
  }
}

/**
 * Runs one attempt of a task (the task Lambda: one per invocation): the steps of `TaskRun`.
 * Resolves to the state the attempt ended in: a finished state, `Looped` (the next iteration is the
 * next invocation), or `Retrying` with the next
 * attempt's `startTime`.
 */
export function runTaskAttempt(req: TaskAttemptRequest): Promise<State> {
  return new Promise<State>((resolve, reject) => {
    const run = new TaskRun(req, req.node, {
      index: 0,
      owner: new SettlingOwner(resolve, reject),
      attempt: req.attempt,
      initialState: req.initialState,
      retriesInProcess: false,
      ...(req.loop ? { loop: req.loop } : {}),
    });
    const outer = getRunContext();
    const loop = req.loop ?? outer?.loop ?? FIRST_LOOP;
    if (outer && (outer.attempt !== req.attempt || outer.loop !== loop)) withRunContext({ ...outer, attempt: req.attempt, loop }, () => run.start());
    else run.start();
  });
}

/** Settles `runTaskAttempt`'s promise: a class, not a closure per attempt (the task Lambda runs one per invocation). */
class SettlingOwner implements TaskRunOwner {
  // Declared and assigned, not parameter properties: see TaskRun's fields.
  declare private readonly resolve: (state: State) => void;
  declare readonly fail: (error: unknown) => void;

  constructor(resolve: (state: State) => void, fail: (error: unknown) => void) {
    this.resolve = resolve;
    this.fail = fail;
  }

  finished(_index: number, state: State): void {
    this.resolve(state);
  }
}

/** `getRunContext().loop` on a task's first run. */
export const FIRST_LOOP: RunContext["loop"] = Object.freeze({ count: 1, result: undefined });

/** The message of a `merge` whose upstream tasks were all Skipped. */
export const ALL_MERGED_SKIPPED_MESSAGE = "All upstream tasks of the merge were skipped.";

/**
 * Asks `approve` about `task`: synchronously when it answers synchronously, else raced against the
 * task's `approvalTimeoutSeconds` on the run's clock.
 */
function askApproval(approve: ApproveFunction, task: Task<any, any>, clock: Clock): ApprovalAnswer | Promise<ApprovalAnswer> {
  const answer = approve(task, getRunContext());
  if (!isThenable(answer)) return approvalAnswer(task, answer);
  const timeout = task.approvalTimeoutSeconds;
  if (timeout === undefined) return Promise.resolve(answer).then((a) => approvalAnswer(task, a));
  const timer = new AbortController();
  const late = clock.sleep(timeout * 1000, timer.signal).then((): ApprovalAnswer => ({ timedOut: timeout }));
  return Promise.race([Promise.resolve(answer).then((a) => approvalAnswer(task, a)), late]).finally(() => timer.abort());
}

function approvalAnswer(task: Task<any, any>, answer: unknown): ApprovalAnswer {
  if (answer === true) return { approved: true };
  if (typeof answer === "string") return { rejected: answer };
  if (answer === false) return { rejected: "not approved" };
  throw new TypeError(
    `approve(${String(task)}) returned ${typeof answer === "object" ? JSON.stringify(answer) : String(answer)}; ` +
      `return true to approve, or a string (the reason) or false to reject.`,
  );
}

/** The message of the state that follows failed attempt `attempt`. */
export function retryingMessage(attempt: number, maxRetries: number): string {
  return `Retrying Task (after attempt ${attempt} of ${maxRetries + 1})`;
}

/** The `Retrying` state after failed attempt `attempt`, with the next attempt's start time. */
export function retryingState(
  task: Task<any, any>,
  attempt: number,
  now: Date,
  random: () => number = Math.random,
  options: { message?: string; result?: unknown } = {},
): Retrying {
  const delayMs = retryDelaySeconds(task.retry, attempt, random) * 1000;
  return new Retrying(options.message ?? retryingMessage(attempt, task.retry.maxRetries), {
    runCount: attempt,
    startTime: new Date(now.getTime() + delayMs),
    result: options.result,
  });
}

/** The arguments of a task call: upstream results, flow parameters and constants, in order. */
export function resolveInputs(
  node: FlowNode,
  upstreamStates: UpstreamStates,
  parameters: Readonly<Record<string, unknown>>,
): unknown[] {
  const inputs = node.inputs;
  const args: unknown[] = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input.kind === "task") args[i] = upstreamResult(upstreamStates.get(input.task.name));
    else if (input.kind === "parameter") args[i] = Object.hasOwn(parameters, input.name) ? parameters[input.name] : input.default;
    else args[i] = input.value;
  }
  return args;
}

function upstreamStatesOf(node: FlowNode, states: UpstreamStates): State[] {
  const upstream = node.upstream;
  const out: State[] = new Array(upstream.length);
  for (let i = 0; i < upstream.length; i++) {
    const s = states.get(upstream[i]!.name);
    if (!s) throw new FlowDefinitionError(`${String(node.task)} has no state for its upstream task \`${upstream[i]!.name}\`.`);
    out[i] = s;
  }
  return out;
}

function anySkipped(states: readonly State[]): boolean {
  for (let i = 0; i < states.length; i++) if (states[i]!.isSkipped()) return true;
  return false;
}

/** What a retry asked for after the last attempt becomes: `Failed`, keeping its message and result. */
function noRetriesLeft(task: Task<any, any>, attempt: number, asked: Retrying): Failed {
  return new Failed(asked.message ?? `RETRY raised with no retries left (attempt ${attempt} of ${task.retry.maxRetries + 1}).`, {
    result: asked.result,
  });
}

/** RETRY raised by the body at `now`: `Retrying` with the policy's timing if retries remain, else `Failed`. */
function retryFromSignal(task: Task<any, any>, attempt: number, raised: Retrying, now: Date, random: () => number): State {
  if (!hasRetriesLeft(task.retry, attempt)) return noRetriesLeft(task, attempt, raised);
  return retryingState(task, attempt, now, random, { message: raised.message, result: raised.result });
}

const TIMED_OUT = Symbol("timed out");

/**
 * Runs the task's body once and turns what happened into the proposed next state. A body that
 * returns (or throws) synchronously is done before any timeout could fire, so it gets its state
 * at once; only a returned thenable is raced against the timeout.
 */
function runBody(task: Task<any, any>, inputs: unknown[], clock: Clock): State | Promise<State> {
  let value: unknown;
  try {
    value = task.run(...inputs);
  } catch (error) {
    return bodyErrorState(error);
  }
  if (!isThenable(value)) return succeeded(task, value);
  return awaitBody(task, value, clock);
}

async function awaitBody(task: Task<any, any>, pending: PromiseLike<unknown>, clock: Clock): Promise<State> {
  const { timeoutSeconds } = task;
  try {
    let value: unknown;
    if (timeoutSeconds === undefined) value = await pending;
    else {
      const body = Promise.resolve(pending);
      // Cancel the timer once the body settles, so a long timeout never keeps the process alive.
      const timer = new AbortController();
      try {
        value = await Promise.race([body, clock.sleep(timeoutSeconds * 1000, timer.signal).then(() => TIMED_OUT)]);
      } finally {
        timer.abort();
      }
      if (value === TIMED_OUT) {
        body.catch(() => undefined); // the abandoned body may still reject; it no longer matters
        return new TimedOut("Task timed out during execution.");
      }
    }
    return succeeded(task, value);
  } catch (error) {
    return bodyErrorState(error);
  }
}

/** The body returned `value`: Success, unless JSON cannot carry it (then Failed, in every runtime alike). */
function succeeded(task: Task<any, any>, value: unknown): State {
  const part = unserializablePart(value);
  if (part === undefined) return new Success("Task run succeeded.", { result: value });
  return bodyErrorState(unserializableResultError(task.name, part));
}

function bodyErrorState(error: unknown): State {
  if (error instanceof RETRY) return new Retrying(error.stateMessage, { result: error });
  if (error instanceof Signal) return error.toState();
  return new Failed(`Error during execution of task: ${String(error)}`, { result: error });
}
