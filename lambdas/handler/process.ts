/**
 * The handler Lambda's work, testable without Lambda: one parsed event → claims → state-handler
 * chains (flow, or a task that died where no code of ours ran) → built-in alerts.
 *
 * Throws when the event must be retried (an alert could not be delivered, AWS was unavailable).
 * State handlers run once per transition: once they ran, the claim is kept (handled, with the alert
 * still to deliver), so a retry delivers the alert alone; a send that may have arrived is never
 * repeated (see docs/alerts.md, "Delivery guarantee per failure mode").
 */
import { PRUNED_FLAG } from "../../lib/aws/state-names";
import type { ResultStore } from "../../lib/core/results";
import { keptCrashedChildEvents } from "./crashed-children";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { systemClock, type Clock } from "../../lib/core/clock";
import { withRunContext, type RunContext } from "../../lib/core/context";
import type { Flow } from "../../lib/core/flow";
import { runStateHandlers, type ChainOutcome, type StateHandler } from "../../lib/core/handlers";
import { hasRetriesLeft } from "../../lib/core/retry";
import { Failed, Running, State, type StateJSON, type StateName } from "../../lib/core/states";
import { childName } from "../../lib/core/map";
import { maskJSON, maskSecrets } from "../../lib/core/mask";
import type { Task } from "../../lib/core/task";
import type { Alert, AlertChannel } from "../../lib/notify/alert";
import { alertFromTransition } from "../../lib/notify/build";
import { deliverOnce, keepTrying, settleWithin, TIMED_OUT } from "./deliver";
import { AmbiguousDeliveryError } from "../../lib/core/errors";
import {
  ClaimInProgressError,
  flowFinalKey,
  flowStoppedKey,
  inProgress,
  type TransitionKey,
  type TransitionStore,
} from "../../lib/aws/dedupe";
import { isMapRunChildExecution, MalformedEventError, type ExecutionStatusEvent, type TaskTransitionEvent, type FlowhooksEvent } from "../../lib/aws/events";
import { executionTimeline, readHistoryForAlerts, type TimelineEntry } from "../../lib/aws/history";
import type { Logger } from "../../lib/aws/logger";
import { loadSfn } from "../../lib/aws/sdk";
import {
  catchRecordsFromOutput,
  outputShowsRetries,
  outputShowsFailedChildren,
  flowEndTransition,
  flowStartTransition,
  isEndedStatus,
  taskInfrastructureState,
} from "../../lib/aws/state-mapping";

/** The states alerted when `FLOWHOOKS_ALERT_ON` is not set. */
export const DEFAULT_ALERT_ON: readonly StateName[] = ["Failed", "TimedOut", "Retrying", "Paused"];

export interface ProcessorOptions {
  /** The flow this handler serves (from the bundled flow module). */
  flow: Flow;
  /** Where transitions are claimed before their chains and alerts run. */
  store: TransitionStore;
  /** Where built-in alerts go. @default [] */
  channels?: readonly AlertChannel[];
  /** States (by exact name) that raise a built-in alert. @default DEFAULT_ALERT_ON */
  alertOn?: ReadonlySet<string>;
  logger: Logger;
  /** Reads history and describes executions. @default - none: Catch records only, redrive count 0 for the flow's own report */
  sfn?: Pick<SFNClient, "send">;
  /** The run context's `runtime`. @default "lambda" */
  runtime?: RunContext["runtime"];
  /** Status events of other state machines are dropped as misrouted. @default - not checked */
  stateMachineArn?: string;
  /** Waits between retries of a store write, and times state-handler chains. @default systemClock */
  clock?: Clock;
  /** The results bucket, where a Distributed Map's collect step keeps its crashed children's events. @default - not read */
  results?: ResultStore;
}

/** What bounds one invocation's work. */
export interface ProcessLimits {
  /** When the invocation must have returned (epoch ms on the processor's clock): state-handler chains get what remains. @default - unbounded */
  deadline?: number;
}

/** Time kept back from a chain for the alert and the store writes after it. */
export const ALERT_RESERVE_MS = 20_000;
/** Time kept back from a channel's send for the writes that record it. */
const SEND_RESERVE_MS = 5_000;
/** The least time a channel's send is given, even when the deadline is near. */
const MIN_SEND_MS = 1_000;
/** The least time a chain is given, even when the deadline is near. */
const MIN_CHAIN_MS = 1_000;
/**
 * How long a store write that records progress (a send, a handled chain) is retried when the
 * invocation has no deadline (tests, the emulator); with one, it is retried until the deadline.
 */
const KEEP_WITHOUT_DEADLINE_MS = 40_000;
/** Time kept back at the deadline for the invocation to report its batch. */
const KEEP_RESERVE_MS = 1_000;

/**
 * True when the task runtime follows this transition with `Retrying` (the body's attempt failed and
 * the task's retry policy has attempts left, as lib/core/runner.ts decides): the Retrying alert
 * speaks for the attempt, so a Failed alert for it would only be noise. State handlers in the task
 * Lambda still see every transition.
 */
export function retryFollows(task: Pick<Task<any, any>, "retry"> | undefined, oldState: State, newState: State, attempt: number): boolean {
  return task !== undefined && oldState.isRunning() && newState.isFailed() && hasRetriesLeft(task.retry, attempt);
}

/** The region in an execution ARN (`arn:aws:states:REGION:…`). */
export function regionOf(executionArn: string): string | undefined {
  return executionArn.split(":")[3] || undefined;
}

export class EventProcessor {
  private readonly flow: Flow;
  private readonly store: TransitionStore;
  private readonly channels: readonly AlertChannel[];
  private readonly alertOn: ReadonlySet<string>;
  private readonly logger: Logger;
  private readonly sfn?: Pick<SFNClient, "send">;
  private readonly runtime: RunContext["runtime"];
  private readonly stateMachineArn?: string;
  private readonly clock: Clock;
  private readonly results?: ResultStore;
  private limits: ProcessLimits = {};

  constructor(options: ProcessorOptions) {
    this.flow = options.flow;
    this.store = options.store;
    this.channels = options.channels ?? [];
    this.alertOn = options.alertOn ?? new Set(DEFAULT_ALERT_ON);
    this.logger = options.logger;
    this.sfn = options.sfn;
    this.runtime = options.runtime ?? "lambda";
    this.stateMachineArn = options.stateMachineArn;
    this.clock = options.clock ?? systemClock;
    this.results = options.results;
  }

  /** Not async itself: the promise of the step it hands the event to is returned as is (no extra ticks per record). */
  process(event: FlowhooksEvent, limits: ProcessLimits = {}): Promise<void> {
    this.limits = limits;
    if (event.kind === "task-transition") return this.processTaskEvent(event);
    return this.processExecutionStatus(event, limits);
  }

  private context(executionArn: string, extra: Partial<RunContext> = {}): RunContext {
    return { flowName: this.flow.name, executionId: executionArn, runtime: this.runtime, region: regionOf(executionArn), ...extra };
  }

  /** Step Functions' status changes, the flow's own final report and the reconciler's findings. */
  async processExecutionStatus(event: ExecutionStatusEvent, limits: ProcessLimits = {}): Promise<void> {
    this.limits = limits;
    const log = this.logger.child({ executionArn: event.executionArn, flow: this.flow.name });
    if (isMapRunChildExecution(event.executionArn)) {
      log.debug("Ignored the status of a Distributed Map's child execution: it runs one mapped child, not the flow.", { status: event.status });
      return;
    }
    if (this.stateMachineArn && event.stateMachineArn && event.stateMachineArn !== this.stateMachineArn) {
      throw new MalformedEventError(
        `Status event of state machine ${event.stateMachineArn} reached the handler of ${this.stateMachineArn}; scope the EventBridge rule to detail.stateMachineArn.`,
      );
    }
    const redriveCount = event.redriveCount ?? (await this.reportRedriveCount(event));
    const key = (transition: string): TransitionKey =>
      transition === "final" ? flowFinalKey(event.executionArn, redriveCount) : { executionArn: event.executionArn, object: "flow", transition, redriveCount };
    const start = flowStartTransition(event.startDate);

    if (event.status === "PENDING_REDRIVE") {
      log.info("Execution is pending a redrive; nothing to report until it runs again.", { status: event.status });
      return;
    }
    if (event.status === "RUNNING") {
      if ((await this.store.lookup(key("final"))) !== "none") {
        log.info("Ignored a RUNNING event that arrived after the execution's ending was recorded.", { origin: event.origin });
        return;
      }
      await this.runTransition(this.flow, this.flow.stateHandlers, key("Scheduled->Running"), start.oldState, start.newState, this.context(event.executionArn), log, {}, event.startDate);
      return;
    }
    if (!isEndedStatus(event.status)) return;
    // Step Functions may stop an execution after its own final report claimed `final`: that ending has its own key.
    const stopped = event.status === "TIMED_OUT" || event.status === "ABORTED";
    const endKey = stopped ? flowStoppedKey(event.executionArn, redriveCount) : key("final");
    const final = await this.store.lookup(endKey);
    if (final === "done") {
      log.info("Ending already recorded; duplicate ignored.", { status: event.status, origin: event.origin });
      return;
    }
    // Another invocation is on it, or crashed on it: retry once its lease has run out, never drop.
    if (final === "in-progress") throw inProgress(endKey);
    // Events arrive in any order: the flow's chain sees Scheduled → Running before the ending, as locally.
    await this.runTransition(this.flow, this.flow.stateHandlers, key("Scheduled->Running"), start.oldState, start.newState, this.context(event.executionArn), log, {}, event.startDate);
    await this.processDeadTasks(event, redriveCount, log);
    // A Distributed Map's crashed children whose events PutEvents may have lost: handled as those events, under their claims.
    if (this.results) for (const e of await keptCrashedChildEvents(this.results, this.flow, event.executionArn, log)) await this.processTaskEvent(e);
    const end = flowEndTransition(event.status, event.error, event.cause);
    await this.runTransition(this.flow, this.flow.stateHandlers, endKey, end.oldState, end.newState, this.context(event.executionArn), log, {
      status: event.status,
      origin: event.origin,
      startedAt: event.startDate,
    }, event.stopDate ?? event.at);
    if (stopped) await this.markDone(key("final"));
  }

  /** Records a transition as done without running anything (a late final report of a stopped run changes nothing). */
  private async markDone(key: TransitionKey): Promise<void> {
    try {
      if (await this.store.claim(key)) await this.store.complete(key);
    } catch (error) {
      if (!(error instanceof ClaimInProgressError)) throw error;
    }
  }

  /** A task transition whose chain already ran in the task Lambda: only the built-in alert is left. */
  async processTaskEvent(event: TaskTransitionEvent): Promise<void> {
    // A mapped child is its own object for claims and alerts: `t[3]`'s Failed and `t[4]`'s are two alerts.
    const name = childName(event.task, event.mapIndex);
    const log = this.logger.child({ executionArn: event.executionArn, flow: event.flow, task: name, attempt: event.attempt });
    if (event.flow !== this.flow.name) {
      throw new MalformedEventError(
        `Task event for flow \`${event.flow}\` reached the handler of flow \`${this.flow.name}\`; scope the EventBridge rule to detail.flow = "${this.flow.name}".`,
      );
    }
    let oldState: State, newState: State;
    try {
      oldState = State.fromJSON(event.oldState);
      newState = State.fromJSON(event.newState);
    } catch (error) {
      throw new MalformedEventError(`Task event carries a state that cannot be read: ${(error as Error).message}`, { cause: error });
    }
    if (!this.alertOn.has(newState.name)) {
      log.debug("Task transition needs no alert.", { transition: `${oldState.name}->${newState.name}` });
      return;
    }
    const task = this.taskObject(event.task, log);
    // A transition no code of the task reported (a distributed child's crash) is final: Step Functions caught it, nothing retries it.
    if (!event.observedAfterTheFact && retryFollows(this.flow.graph().byName.get(event.task)?.task, oldState, newState, event.attempt)) {
      log.debug("Failed attempt with retries left: its Retrying event alerts instead.", { transition: `${oldState.name}->${newState.name}` });
      return;
    }
    const key = taskAlertKey(event.executionArn, name, newState.name, event.attempt, event.stateEnteredAt ?? event.at);
    if (!(await this.store.claim(key))) {
      log.info("Task transition already alerted; duplicate ignored.", { transition: key.transition });
      return;
    }
    try {
      const context = this.context(event.executionArn, { attempt: event.attempt, ...mapIndexOf(event), ...(event.observedAfterTheFact ? { observedAfterTheFact: true } : {}) });
      await this.alert(task, key, oldState, newState, context, event.at, log);
    } catch (error) {
      await this.store.release(key);
      throw error;
    }
    await this.keep(() => this.store.complete(key), log);
  }

  /** Tasks that died where no code of ours ran: their chains run here, after the fact. */
  private async processDeadTasks(event: ExecutionStatusEvent, redriveCount: number, log: Logger): Promise<void> {
    const timeline = await this.taskTimeline(event, redriveCount, log);
    const transitions = timeline.filter((t) => t.reconstructed);
    for (const t of transitions) {
      // A mapped child (`t[3]`) runs its task's state handlers, with its index in the run context.
      const node = this.flow.graph().byName.get(t.task ?? t.object);
      const taskLog = log.child({ task: t.object, attempt: t.attempt });
      const key: TransitionKey = {
        executionArn: event.executionArn,
        object: `task:${t.object}`,
        transition: `${t.oldState.name}->${t.newState.name}`,
        attempt: t.attempt,
        redriveCount,
      };
      const task = node?.task ?? this.taskObject(t.task ?? t.object, taskLog);
      const handlers = node?.stateHandlers ?? [];
      // History shows whether Step Functions retried the attempt: then its Retrying alert speaks for it.
      const retried = t.newState.isFailed() && transitions.some((r) => r.object === t.object && r.attempt === t.attempt && r.newState.isRetrying());
      await this.runTransition(task, handlers, key, t.oldState, t.newState, this.context(event.executionArn, { attempt: t.attempt, observedAfterTheFact: true, ...mapIndexOf(t) }), taskLog, {
        observedAfterTheFact: true,
      }, t.at, !retried);
    }
    // The emulator too: its task payloads carry `$$.State.EnteredTime` as its history records it, so keys match there as deployed.
    await this.recoverLostTaskAlerts(event, timeline.filter((t) => !t.reconstructed), log);
  }

  /**
   * Task transitions our code reported (Retrying, a thrown failure) whose event never made it (lost
   * by PutEvents, or its record used up its receives): the history shows them, keyed by the run of
   * the state they happened in, so one whose alert went out is skipped and a missing one is sent now.
   */
  private async recoverLostTaskAlerts(event: ExecutionStatusEvent, reported: TimelineEntry[], log: Logger): Promise<void> {
    for (const t of reported) {
      if (t.attempt === undefined || !t.enteredAt || !this.alertOn.has(t.newState.name) || !(t.newState.isRetrying() || t.newState.isFailed())) continue;
      const key = taskAlertKey(event.executionArn, t.object, t.newState.name, t.attempt, t.enteredAt);
      if (!(await this.store.claim(key))) continue;
      const taskLog = log.child({ task: t.object, attempt: t.attempt });
      taskLog.warn("A task transition's alert was missing (its event was lost); alerting it from the execution history.", { state: t.newState.name });
      try {
        const context = this.context(event.executionArn, { attempt: t.attempt, observedAfterTheFact: true, ...mapIndexOf(t) });
        await this.alert(this.taskObject(t.task ?? t.object, taskLog), key, t.oldState, t.newState, context, t.at, taskLog);
      } catch (error) {
        await this.store.release(key);
        throw error;
      }
      await this.keep(() => this.store.complete(key), taskLog);
    }
  }

  /**
   * History is the complete record (every attempt); the output's Catch records only show a task's
   * last attempt, so they are used when history cannot be read (the emulator). A succeeded
   * execution whose output shows no Catch record had no task die: no history read.
   */
  private async taskTimeline(event: ExecutionStatusEvent, redriveCount: number, log: Logger): Promise<TimelineEntry[]> {
    const records = catchRecordsFromOutput(event.output);
    // Unless the definition dropped outputs no later task read (large flows): their records are in the history only.
    // A task that was retried, in an execution that then succeeded, is looked up too: a Retrying
    // alert whose event was lost is recovered from the history (the output says which tasks retried).
    // So is a mapped task with a failed child: the child may have crashed (its Catch record is consumed by the parent's collect step).
    if (
      event.status === "SUCCEEDED" &&
      event.output !== undefined &&
      records.length === 0 &&
      !outputWasPruned(event.output) &&
      !outputShowsRetries(event.output) &&
      !outputShowsFailedChildren(event.output)
    ) {
      return [];
    }
    if (this.sfn) {
      const taskNames = new Set(this.flow.graph().nodes.map((n) => n.name));
      const history = await readHistoryForAlerts(this.sfn, event.executionArn);
      // This run's transitions only: an earlier run's were its own ending's to alert (keyed by that run).
      const timeline = executionTimeline(history, { flowName: this.flow.name, taskNames, run: redriveCount }).filter((entry) => entry.kind === "task");
      const found = timeline.filter((t) => t.reconstructed).length;
      if (found > 0) log.info("Reconstructed task transitions no task code reported.", { count: found });
      // A split flow's task states run in child executions, not in this history: their Catch records speak for them.
      if (found > 0 || records.length === 0) return timeline;
    }
    return records.map((r) => ({
      kind: "task" as const,
      object: childName(r.task, r.mapIndex),
      task: r.task,
      ...mapIndexOf(r),
      oldState: new Running("Starting task run."),
      newState: taskInfrastructureState("failed", r.error, r.cause),
      at: event.stopDate ?? event.at,
      reconstructed: true,
      run: redriveCount,
    }));
  }

  /**
   * The run a final report (which carries no redrive count) belongs to. A report sent before the
   * latest redrive started belongs to the run before it, not to the run DescribeExecution now shows.
   * Reports carry whole-second times, so the comparison is made on whole seconds.
   */
  private async reportRedriveCount(event: ExecutionStatusEvent): Promise<number> {
    if (!this.sfn) return 0;
    const { DescribeExecutionCommand } = await loadSfn();
    const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn: event.executionArn }));
    const count = out.redriveCount ?? 0;
    const redriveSecond = out.redriveDate ? Math.floor(out.redriveDate.getTime() / 1000) * 1000 : undefined;
    if (count > 0 && redriveSecond !== undefined && event.at.getTime() < redriveSecond) return count - 1;
    return count;
  }

  /** A task of the flow, or a stand-in with its name when the deployed flow module no longer has it. */
  private taskObject(name: string, log: Logger): Task<any, any> {
    const node = this.flow.graph().byName.get(name);
    if (node) return node.task;
    log.warn(`Task \`${name}\` is not in flow \`${this.flow.name}\` as bundled; alerting without its handlers. Redeploy if the flow changed.`);
    return { name, toString: () => `<Task: ${name}>` } as unknown as Task<any, any>;
  }

  /**
   * Claim → chain → handled (the alert to deliver kept with the claim) → alert → done. The chain
   * runs once: a retry after a failed alert finds the claim handled and delivers the kept alert alone.
   */
  private async runTransition<T extends Flow | Task<any, any>>(
    obj: T,
    handlers: readonly StateHandler<T>[],
    key: TransitionKey,
    oldState: State,
    newState: State,
    context: RunContext,
    log: Logger,
    fields: Record<string, unknown> = {},
    at: Date | undefined = undefined,
    alert = true,
  ): Promise<void> {
    // The execution's start, for the duration a flow's ending shows.
    const startedAt = fields.startedAt instanceof Date ? fields.startedAt : undefined;
    if (!(await this.store.claim(key))) {
      const pending = await this.store.pendingAlert(key);
      if (pending === undefined) {
        log.info("Transition already processed; duplicate ignored.", { transition: key.transition, ...fields });
        return;
      }
      const kept = readPendingAlert(pending);
      log.info("State handlers already ran for this transition; delivering its alert alone.", { transition: key.transition, ...fields });
      await this.alert(obj, alertKeyFor(obj, key, kept.handlerError), oldState, kept.state, context, at ?? new Date(), log, startedAt);
      await this.keep(() => this.store.complete(key), log);
      return;
    }
    let outcome: ChainOutcome;
    let handlerError: boolean;
    const sends = alert && this.channels.length > 0;
    try {
      outcome = await this.runChain(obj, handlers, oldState, newState, context);
      // A handler that threw on a transition that was no failure makes a "failed" alert of its own kind (see alertKeyFor).
      handlerError = outcome.final && !newState.isFailed();
      if (sends && (this.alertOn.has(outcome.state.name) || this.outcomeChannels(obj, outcome.state).length > 0)) await this.store.handled(key, pendingAlertText(outcome.state, handlerError));
    } catch (error) {
      await this.store.release(key);
      throw error;
    }
    if (outcome.final) {
      log.error(`A state handler of ${String(obj)} threw; reporting ${String(outcome.state)}. The execution's own result is unchanged.`, {
        ...fields,
        proposed: String(newState),
        error: outcome.state.result,
      });
    }
    log.info(`${String(obj)}: ${String(oldState)} -> ${String(outcome.state)}`, { transition: key.transition, ...fields });
    if (sends) await this.alert(obj, alertKeyFor(obj, key, handlerError), oldState, outcome.state, context, at ?? new Date(), log, startedAt);
    await this.keep(() => this.store.complete(key), log);
  }

  /** The chain, bounded by the invocation's deadline: one that does not settle in time fails the transition, which is still alerted. */
  private async runChain<T extends Flow | Task<any, any>>(
    obj: T,
    handlers: readonly StateHandler<T>[],
    oldState: State,
    newState: State,
    context: RunContext,
  ): Promise<ChainOutcome> {
    const chain = Promise.resolve(withRunContext(context, () => runStateHandlers(obj, handlers, oldState, newState)));
    if (this.limits.deadline === undefined) return chain;
    const budgetMs = Math.max(MIN_CHAIN_MS, this.limits.deadline - this.clock.now().getTime() - ALERT_RESERVE_MS);
    const result = await settleWithin(chain, budgetMs, this.clock);
    if (result !== TIMED_OUT) return result;
    const failed = new Failed(
      `The state handlers of ${String(obj)} did not finish within ${Math.round(budgetMs / 1000)} s (the Lambda's remaining time); ` +
        `reporting this transition as failed. Make the handlers return sooner (time-out their calls), or move slow work into a task.`,
    );
    return { state: failed, final: true };
  }

  /**
   * A store write that must not be given up (it records that something was sent or handled): retried
   * with backoff until the invocation's deadline, since giving up leaves a send claim in progress
   * that a later delivery takes over and sends again; a claim another invocation took over is left to it.
   */
  private keep(write: () => Promise<void>, log: Logger): Promise<void> {
    const until = this.limits.deadline !== undefined ? this.limits.deadline - KEEP_RESERVE_MS : this.clock.now().getTime() + KEEP_WITHOUT_DEADLINE_MS;
    return keepTrying(write, { clock: this.clock, until, log });
  }

  /**
   * A channel's send, bounded by the invocation's remaining time (less what recording it needs): one
   * that does not settle in time may still arrive, so it counts as maybe sent (never sent again).
   */
  private async boundedSend(channel: AlertChannel, alert: Alert, outcomeOnly = false): Promise<void> {
    const sending = () => (outcomeOnly ? channel.outcome!(alert) : channel.send(alert));
    if (this.limits.deadline === undefined) return sending();
    const budgetMs = Math.max(MIN_SEND_MS, this.limits.deadline - this.clock.now().getTime() - SEND_RESERVE_MS);
    const result = await settleWithin(Promise.resolve(sending()), budgetMs, this.clock);
    if (result === TIMED_OUT) {
      throw new AmbiguousDeliveryError(
        `${channel.name} did not answer within ${Math.round(budgetMs / 1000)} s (the Lambda's remaining time); the alert may have arrived, so it is not sent again.`,
      );
    }
  }

  /** The channels told of a flow's ending that is not alerted; none for a task or a flow that has not ended. */
  private outcomeChannels(obj: Flow | Task<any, any>, state: State): readonly AlertChannel[] {
    return obj === (this.flow as unknown) && state.isFinished() ? this.channels.filter((c) => typeof c.outcome === "function") : [];
  }

  /** Sends the built-in alert to each channel once: a channel that got it is not sent it again on a retry. */
  private async alert(
    obj: Flow | Task<any, any>,
    key: TransitionKey,
    oldState: State,
    newState: State,
    context: RunContext,
    at: Date,
    log: Logger,
    startedAt?: Date,
  ): Promise<void> {
    // A flow ending nobody alerts (Success by default) is still told to channels that show outcomes (the Slack app's parent).
    const quiet = !this.alertOn.has(newState.name);
    const channels = quiet ? this.outcomeChannels(obj, newState) : this.channels;
    if (channels.length === 0) return;
    const alert = alertFromTransition(obj, oldState, newState, { context, at });
    // The execution's start, for the duration the flow's ending shows.
    if (startedAt) alert.startedAt = startedAt;
    // The claim's identity: a digest records the live event and its recovery from the history as one line.
    alert.transitionId = transitionIdOf(key);
    await deliverOnce({
      store: this.store,
      key,
      destinations: channels,
      send: (channel) => this.boundedSend(channel, alert, quiet),
      keep: (write) => this.keep(write, log),
      log,
      fields: { state: newState.name },
      what: "Alert",
    });
  }
}

/** The alert a handled claim keeps until it is delivered: the state the chain settled on. */
interface PendingAlert {
  state: State;
  handlerError: boolean;
}

/** Bounded: the claim table's items hold at most 400 KB. */
const MAX_PENDING_ALERT_CHARS = 64 * 1024;

/**
 * The kept alert, masked before it is stored (and before it is cut): a retry may rebuild it in a
 * container that never read the secret the text quotes, so the claim table never holds it.
 */
function pendingAlertText(state: State, handlerError: boolean): string {
  const json = maskJSON(state.toJSON());
  const text = JSON.stringify({ state: json, handlerError });
  if (text.length <= MAX_PENDING_ALERT_CHARS) return text;
  const { type, message, startTime, runCount } = json;
  return JSON.stringify({ state: { type, message: message?.slice(0, MAX_PENDING_ALERT_CHARS / 2), startTime, runCount }, handlerError });
}

function readPendingAlert(text: string): PendingAlert {
  // Masked again with what this container knows (a claim kept by an older version may hold raw text).
  const data = JSON.parse(maskSecrets(text)) as { state: StateJSON; handlerError?: boolean };
  return { state: State.fromJSON(data.state), handlerError: data.handlerError === true };
}

/**
 * The key a transition's alert is sent under. A flow handler that throws on several transitions of
 * one run (at RUNNING and again at the end) reports the same failure: one alert per run.
 */
function alertKeyFor(obj: Flow | Task<any, any>, key: TransitionKey, handlerError: boolean): TransitionKey {
  if (!handlerError || key.object !== "flow") return key;
  return { executionArn: key.executionArn, object: key.object, transition: "handler-failed", redriveCount: key.redriveCount };
}

/**
 * The key of a task transition's alert: one per (execution, task, alerted state, attempt, run of the
 * task's state). The run is told by when the state was entered (new after a redrive), in whole
 * seconds, so the context's `EnteredTime` and the history's `TaskStateEntered` time agree even if
 * they were stamped a few milliseconds apart; events from task code that did not know it fall back
 * to the event's own time.
 */
export function taskAlertKey(executionArn: string, task: string, state: string, attempt: number, run: Date): TransitionKey {
  const second = new Date(Math.floor(run.getTime() / 1000) * 1000).toISOString();
  return { executionArn, object: `task:${task}`, transition: `alert:${state}`, attempt, redriveCount: `entered=${second}` };
}

/** A transition's identity within its execution (the alert's `transitionId`): object, transition, attempt and run. */
function transitionIdOf(key: TransitionKey): string {
  return [key.object, key.transition, key.attempt ?? "-", key.redriveCount].join("|");
}

/** The run context's `mapIndex` of a mapped child's transition; nothing for any other. */
function mapIndexOf(entry: { mapIndex?: number }): Pick<RunContext, "mapIndex"> {
  return entry.mapIndex === undefined ? {} : { mapIndex: entry.mapIndex };
}

/** Whether the execution JSON dropped task outputs along the way (`PRUNED_FLAG`, lib/aws/state-names.ts, which lib/compile sets). */
function outputWasPruned(output: string): boolean {
  try {
    return (JSON.parse(output) as Record<string, unknown> | null)?.[PRUNED_FLAG] === true;
  } catch {
    return false;
  }
}
