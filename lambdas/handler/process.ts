/**
 * The handler Lambda's work, testable without Lambda: one parsed event → claims → state-handler
 * chains (flow, or a task that died where no code of ours ran) → built-in alerts.
 *
 * Throws when the event must be retried (an alert could not be delivered, AWS was unavailable);
 * the claim of whatever was not finished is released first, so the retry does it again.
 */
import { PRUNED_FLAG } from "../../lib/compile/compile";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { withRunContext, type RunContext } from "../../lib/core/context";
import type { Flow } from "../../lib/core/flow";
import { runStateHandlers, type StateHandler } from "../../lib/core/handlers";
import { hasRetriesLeft } from "../../lib/core/retry";
import { Running, State, type StateName } from "../../lib/core/states";
import type { Task } from "../../lib/core/task";
import type { AlertChannel } from "../../lib/notify/alert";
import { alertFromTransition } from "../../lib/notify/build";
import { flowFinalKey, inProgress, type TransitionKey, type TransitionStore } from "../../lib/aws/dedupe";
import { MalformedEventError, type ExecutionStatusEvent, type TaskTransitionEvent, type FlowhooksEvent } from "../../lib/aws/events";
import { getExecutionHistory, infrastructureTransitions, type TimelineEntry } from "../../lib/aws/history";
import type { Logger } from "../../lib/aws/logger";
import { loadSfn } from "../../lib/aws/sdk";
import {
  catchRecordsFromOutput,
  flowEndTransition,
  flowStartTransition,
  isEndedStatus,
  taskInfrastructureState,
} from "../../lib/aws/state-mapping";

/** The states alerted when `FLOWHOOKS_ALERT_ON` is not set. */
export const DEFAULT_ALERT_ON: readonly StateName[] = ["Failed", "TimedOut", "Retrying"];

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
}

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

  constructor(options: ProcessorOptions) {
    this.flow = options.flow;
    this.store = options.store;
    this.channels = options.channels ?? [];
    this.alertOn = options.alertOn ?? new Set(DEFAULT_ALERT_ON);
    this.logger = options.logger;
    this.sfn = options.sfn;
    this.runtime = options.runtime ?? "lambda";
    this.stateMachineArn = options.stateMachineArn;
  }

  async process(event: FlowhooksEvent): Promise<void> {
    if (event.kind === "task-transition") return this.processTaskEvent(event);
    return this.processExecutionStatus(event);
  }

  private context(executionArn: string, extra: Partial<RunContext> = {}): RunContext {
    return { flowName: this.flow.name, executionId: executionArn, runtime: this.runtime, region: regionOf(executionArn), ...extra };
  }

  /** Step Functions' status changes, the flow's own final report and the reconciler's findings. */
  async processExecutionStatus(event: ExecutionStatusEvent): Promise<void> {
    const log = this.logger.child({ executionArn: event.executionArn, flow: this.flow.name });
    if (this.stateMachineArn && event.stateMachineArn && event.stateMachineArn !== this.stateMachineArn) {
      throw new MalformedEventError(
        `Status event of state machine ${event.stateMachineArn} reached the handler of ${this.stateMachineArn}; scope the EventBridge rule to detail.stateMachineArn.`,
      );
    }
    const redriveCount = event.redriveCount ?? (await this.describeRedriveCount(event.executionArn));
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
    const final = await this.store.lookup(key("final"));
    if (final === "done") {
      log.info("Ending already recorded; duplicate ignored.", { status: event.status, origin: event.origin });
      return;
    }
    // Another invocation is on it, or crashed on it: retry once its lease has run out, never drop.
    if (final === "in-progress") throw inProgress(key("final"));
    // Events arrive in any order: the flow's chain sees Scheduled → Running before the ending, as locally.
    await this.runTransition(this.flow, this.flow.stateHandlers, key("Scheduled->Running"), start.oldState, start.newState, this.context(event.executionArn), log, {}, event.startDate);
    await this.processDeadTasks(event, redriveCount, log);
    const end = flowEndTransition(event.status, event.error, event.cause);
    await this.runTransition(this.flow, this.flow.stateHandlers, key("final"), end.oldState, end.newState, this.context(event.executionArn), log, {
      status: event.status,
      origin: event.origin,
    }, event.stopDate ?? event.at);
  }

  /** A task transition whose chain already ran in the task Lambda: only the built-in alert is left. */
  async processTaskEvent(event: TaskTransitionEvent): Promise<void> {
    const log = this.logger.child({ executionArn: event.executionArn, flow: event.flow, task: event.task, attempt: event.attempt });
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
    if (retryFollows(this.flow.graph().byName.get(event.task)?.task, oldState, newState, event.attempt)) {
      log.debug("Failed attempt with retries left: its Retrying event alerts instead.", { transition: `${oldState.name}->${newState.name}` });
      return;
    }
    // The event's own time tells a redriven attempt from a duplicate delivery of the same event.
    const key: TransitionKey = {
      executionArn: event.executionArn,
      object: `task:${event.task}`,
      transition: `${oldState.name}->${newState.name}`,
      attempt: event.attempt,
      redriveCount: event.at.toISOString(),
    };
    if (!(await this.store.claim(key))) {
      log.info("Task transition already alerted; duplicate ignored.", { transition: key.transition });
      return;
    }
    try {
      const context = this.context(event.executionArn, { attempt: event.attempt });
      await this.alert(task, key, oldState, newState, context, event.at, log);
      await this.store.complete(key);
    } catch (error) {
      await this.store.release(key);
      throw error;
    }
  }

  /** Tasks that died where no code of ours ran: their chains run here, after the fact. */
  private async processDeadTasks(event: ExecutionStatusEvent, redriveCount: number, log: Logger): Promise<void> {
    const transitions = await this.deadTaskTransitions(event, log);
    for (const t of transitions) {
      const node = this.flow.graph().byName.get(t.object);
      const taskLog = log.child({ task: t.object, attempt: t.attempt });
      const key: TransitionKey = {
        executionArn: event.executionArn,
        object: `task:${t.object}`,
        transition: `${t.oldState.name}->${t.newState.name}`,
        attempt: t.attempt,
        redriveCount,
      };
      const task = node?.task ?? this.taskObject(t.object, taskLog);
      const handlers = node?.stateHandlers ?? [];
      // History shows whether Step Functions retried the attempt: then its Retrying alert speaks for it.
      const retried = t.newState.isFailed() && transitions.some((r) => r.object === t.object && r.attempt === t.attempt && r.newState.isRetrying());
      await this.runTransition(task, handlers, key, t.oldState, t.newState, this.context(event.executionArn, { attempt: t.attempt, observedAfterTheFact: true }), taskLog, {
        observedAfterTheFact: true,
      }, t.at, !retried);
    }
  }

  /**
   * History is the complete record (every attempt); the output's Catch records only show a task's
   * last attempt, so they are used when history cannot be read (the emulator). A succeeded
   * execution whose output shows no Catch record had no task die: no history read.
   */
  private async deadTaskTransitions(event: ExecutionStatusEvent, log: Logger): Promise<TimelineEntry[]> {
    const records = catchRecordsFromOutput(event.output);
    // Unless the definition dropped outputs no later task read (large flows): their records are in the history only.
    if (event.status === "SUCCEEDED" && event.output !== undefined && records.length === 0 && !outputWasPruned(event.output)) return [];
    if (this.sfn) {
      const taskNames = new Set(this.flow.graph().nodes.map((n) => n.name));
      const history = await getExecutionHistory(this.sfn, event.executionArn);
      const found = infrastructureTransitions(history, { flowName: this.flow.name, taskNames });
      if (found.length > 0) log.info("Reconstructed task transitions no task code reported.", { count: found.length });
      // A split flow's task states run in child executions, not in this history: their Catch records speak for them.
      if (found.length > 0 || records.length === 0) return found;
    }
    return records.map((r) => ({
      kind: "task" as const,
      object: r.task,
      oldState: new Running("Starting task run."),
      newState: taskInfrastructureState("failed", r.error, r.cause),
      at: event.stopDate ?? event.at,
      reconstructed: true,
    }));
  }

  private async describeRedriveCount(executionArn: string): Promise<number> {
    if (!this.sfn) return 0;
    const { DescribeExecutionCommand } = await loadSfn();
    const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return out.redriveCount ?? 0;
  }

  /** A task of the flow, or a stand-in with its name when the deployed flow module no longer has it. */
  private taskObject(name: string, log: Logger): Task<any, any> {
    const node = this.flow.graph().byName.get(name);
    if (node) return node.task;
    log.warn(`Task \`${name}\` is not in flow \`${this.flow.name}\` as bundled; alerting without its handlers. Redeploy if the flow changed.`);
    return { name, toString: () => `<Task: ${name}>` } as unknown as Task<any, any>;
  }

  /** Claim → chain → alert; on any failure the claim is released so a retry does it all again. */
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
    if (!(await this.store.claim(key))) {
      log.info("Transition already processed; duplicate ignored.", { transition: key.transition, ...fields });
      return;
    }
    try {
      const outcome = await withRunContext(context, () => runStateHandlers(obj, handlers, oldState, newState));
      if (outcome.final) {
        log.error(`A state handler of ${String(obj)} threw; reporting ${String(outcome.state)}. The execution's own result is unchanged.`, {
          ...fields,
          proposed: String(newState),
          error: outcome.state.result,
        });
      }
      log.info(`${String(obj)}: ${String(oldState)} -> ${String(outcome.state)}`, { transition: key.transition, ...fields });
      if (alert) await this.alert(obj, key, oldState, outcome.state, context, at ?? new Date(), log);
      await this.store.complete(key);
    } catch (error) {
      await this.store.release(key);
      throw error;
    }
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
  ): Promise<void> {
    if (!this.alertOn.has(newState.name) || this.channels.length === 0) return;
    const alert = alertFromTransition(obj, oldState, newState, { context, at });
    const failures: unknown[] = [];
    for (const channel of this.channels) {
      const sentKey: TransitionKey = { ...key, transition: `${key.transition}#sent:${channel.name}` };
      if (!(await this.store.claim(sentKey))) continue;
      try {
        await channel.send(alert);
        await this.store.complete(sentKey);
        log.info(`Alert sent to ${channel.name}.`, { state: newState.name, channel: channel.name });
      } catch (error) {
        await this.store.release(sentKey);
        log.error(`Alert to ${channel.name} failed; the record will be retried.`, { state: newState.name, channel: channel.name, error });
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `Alerts to ${failures.length} channels failed.`);
  }
}

/** Whether the execution JSON dropped task outputs along the way (lib/compile `PRUNED_FLAG`). */
function outputWasPruned(output: string): boolean {
  try {
    return (JSON.parse(output) as Record<string, unknown> | null)?.[PRUNED_FLAG] === true;
  } catch {
    return false;
  }
}
