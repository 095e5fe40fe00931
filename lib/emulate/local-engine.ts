/**
 * The default engine: the definition runs in aws-local-stepfunctions, in this process. Its Task states
 * invoke the task functions through the Lambda host, a split flow's part states run the child state
 * machines, a Distributed Map runs each item as a child execution of its own; Step Functions' limits
 * are watched (LimitWatch), and the execution history the handler reads is recorded as it happens.
 */
import { randomUUID } from "node:crypto";
import { StateMachine } from "aws-local-stepfunctions";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { DISTRIBUTED_MAP_RESOURCE, supplyStateContext, type DistributedMap, type PreparedDefinition } from "./definition";
import {
  DISTRIBUTED_EMULATION_CONCURRENCY,
  distributedMapLine,
  inOrderOfFinishing,
  readMapItems,
  TOLERATED_FAILURE_EXCEEDED,
  writeMapResults,
  type ChildExecutionResult,
} from "./distributed-map";
import type { EmulationEngine, ExecutionOutcome, ExecutionRequest } from "./engine";
import { HistoryRecorder } from "./envelopes";
import type { PutEventsEntry } from "./eventbridge";
import { LimitWatch } from "./limits";
import { LOCAL_ACCOUNT } from "./synth";
import { APPROVAL_REJECTED_ERROR, type ApprovedOutput } from "../aws/approvals";
import { rejectionCause } from "../aws/approval-store";
import { FLOW_RUN_PATH } from "../compile/flow-run";
import { LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TOKEN, PUT_EVENTS, START_EXECUTION_SYNC } from "../compile/resources";

export { LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TOKEN, PUT_EVENTS, START_EXECUTION_SYNC };

/**
 * The state machine of a prepared definition, made once per target (a machine runs any number of
 * executions). Not validated again: `prepareDefinition` checked the deployed definition with the
 * same options, and its adaptations (a Task `TimeoutSeconds`, retry-count markers) keep it valid;
 * aws-local-stepfunctions would run asl-validator in every constructor, which compiles all its
 * JSON schemas on each call (~0.15–0.4 s), on every `emulate()`.
 */
const machines = new WeakMap<PreparedDefinition, StateMachine>();
function machineOf(prepared: PreparedDefinition): StateMachine {
  let machine = machines.get(prepared);
  if (!machine) {
    machine = new StateMachine(prepared.definition as never, { validationOptions: { noValidate: true } });
    machines.set(prepared, machine);
  }
  return machine;
}

/** The error a failed run reports: Step Functions' error name and cause. */
function errorOf(e: unknown): { error: string; cause: string } {
  const err = e as Error & { cause?: Error };
  return { error: err.cause?.name ?? err.name, cause: err.cause?.message ?? err.message };
}

/** A Task state's failure, as the interpreter catches and retries it. */
function stateError(name: string, cause: string): Error {
  return Object.assign(new Error(cause), { name });
}

/** aws-local-stepfunctions, in this process. */
export class LocalEngine implements EmulationEngine {
  readonly name = "default";
  private recorder = new HistoryRecorder();

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    const execution = new LocalExecution(request);
    this.recorder = execution.history;
    return execution.run();
  }

  async history(): Promise<HistoryEvent[]> {
    return this.recorder.events;
  }

  async close(): Promise<void> {}
}

/** What an execution needs to know of its target's definitions, the same for every execution of it. */
interface TargetShape {
  parts: Map<string, PreparedDefinition>;
  iterated: Set<string>;
  distributedMaps: Map<string, DistributedMap>;
  distributedChildStates: Map<string, string>;
  /** Task states by name, with their Resource, across the definition and its parts. */
  taskStates: [string, string][];
  /** Task states with Retry fields (their intervals are 0 with fast retries). */
  retried: string[];
  flowRunWaitStates: string[];
}

/** Made once per target, as its state machines are: an emulation runs the same target again and again. */
const shapes = new WeakMap<ExecutionRequest["target"], TargetShape>();
function shapeOf(target: ExecutionRequest["target"]): TargetShape {
  let shape = shapes.get(target);
  if (shape) return shape;
  const parts = target.parts ?? new Map<string, PreparedDefinition>();
  const all = [target.prepared, ...parts.values()];
  const distributedMaps = new Map(all.flatMap((p) => [...(p.distributedMaps ?? [])]));
  const taskStates = all.flatMap((p) => [...p.taskStates]);
  shape = {
    parts,
    iterated: new Set(all.flatMap((p) => [...(p.iteratedStates ?? [])])),
    distributedMaps,
    distributedChildStates: new Map([...distributedMaps.values()].flatMap((m) => [...m.inline.taskStates.keys()].map((child) => [child, m.stateName] as const))),
    taskStates: taskStates.map(([name, state]) => [name, String(state.Resource)]),
    retried: taskStates.filter(([, state]) => Array.isArray(state.Retry) && state.Retry.length > 0).map(([name]) => name),
    flowRunWaitStates: flowRunWaitStates(target.prepared.definition),
  };
  shapes.set(target, shape);
  return shape;
}

/** One execution on aws-local-stepfunctions: its task handlers, limits, history and child runs. */
class LocalExecution {
  readonly history = new HistoryRecorder();
  private readonly statesEntered: string[] = [];
  abortExecution = () => {};
  private readonly limits: LimitWatch;
  private readonly handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  private readonly retryIntervalOverrides: Record<string, number> = {};
  /** A flowRun task's retry waits in a Wait state (`t.Wait`): 0 ms with fast retries, as its Retry fields. */
  private readonly waitTimeOverrides: Record<string, number> = {};
  private readonly parts: Map<string, PreparedDefinition>;
  /** States run once per Map item, concurrently: their attempts are counted per item (its input), not per state. */
  private readonly iterated: Set<string>;
  private readonly distributedMaps: Map<string, DistributedMap>;
  /** Each execution has its own limits (a part runs as a child execution): Task states to their execution's watch. */
  private readonly watchOf = new Map<string, LimitWatch>();
  /** A Distributed Map's children are executions of their own: their Task states check the limits of the child they run in. */
  private readonly distributedChildStates: Map<string, string>;
  /** Each running child execution's watch, by `<map state>#<index>`. */
  private readonly childWatches = new Map<string, LimitWatch>();
  private readonly retryCounts = new Map<string, number>();
  /** When each state entry began (its first attempt): `$$.State.EnteredTime` for all its attempts, and its history's TaskStateEntered time. */
  private readonly enteredTimes = new Map<string, Date>();
  private startDate = new Date();

  constructor(private readonly request: ExecutionRequest) {
    const { prepared } = request.target;
    this.limits = new LimitWatch(() => this.abortExecution(), { definition: prepared.definition });
    const shape = shapeOf(request.target);
    this.parts = shape.parts;
    this.iterated = shape.iterated;
    this.distributedMaps = shape.distributedMaps;
    this.distributedChildStates = shape.distributedChildStates;
    if (request.fastRetries) {
      for (const name of shape.flowRunWaitStates) this.waitTimeOverrides[name] = 0;
      for (const name of shape.retried) this.retryIntervalOverrides[name] = 0;
    }
    for (const [stateName, resource] of shape.taskStates) this.handlers[stateName] = (rawInput) => this.runTaskState(stateName, resource, rawInput);
  }

  /** Runs the main state machine to its end; limits decide the ending where one was passed. */
  async run(): Promise<ExecutionOutcome> {
    const { parameters } = this.request;
    this.startDate = new Date();
    this.history.executionStarted(parameters, this.startDate);
    this.request.started(this.startDate);
    let ending: Pick<ExecutionOutcome, "status" | "output" | "error" | "cause"> = { status: "SUCCEEDED" };
    // An input over the limit never starts a state; the limit decides the ending below.
    const inputLimit = LimitWatch.checkExecutionInput(parameters);
    if (!inputLimit) ending = await this.runMain();
    const limit = inputLimit ?? this.limits.exceeded;
    // Uncatchable, as in Step Functions: the execution fails whatever Catch fields say.
    if (limit) ending = { status: "FAILED", error: limit.error, cause: limit.cause };
    const stopDate = new Date();
    this.history.executionEnded(ending.status, ending, stopDate);
    return { ...ending, startDate: this.startDate, stopDate, statesEntered: this.statesEntered, largestStateBytes: this.limits.largestStateBytes };
  }

  private runOptions(context: unknown) {
    return {
      overrides: { taskResourceLocalHandlers: this.handlers as never, retryIntervalOverrides: this.retryIntervalOverrides, waitTimeOverrides: this.waitTimeOverrides },
      context: context as never,
    };
  }

  /**
   * A flowRun task's `t.Run` (`states:startExecution.sync:2` on another flow's state machine): the
   * sub-flow runs as an execution of its own (its own history, limits and attempts, as in Step
   * Functions), and its ending is reported as Step Functions reports a child execution's: its output,
   * or `States.TaskFailed` with its description (status, error, cause) as the cause. Its own handler
   * Lambda is not emulated: the parent's task reports its failure.
   */
  private async runSubFlow(stateName: string, input: Record<string, any>): Promise<unknown> {
    const stateMachineArn = String(input.StateMachineArn);
    const executionName = randomUUID();
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName}`;
    const { target } = this.request;
    const child = new LocalExecution({
      ...this.request,
      target: { ...target, prepared: target.subFlows!.get(stateMachineArn)!, parts: new Map() },
      parameters: (input.Input ?? {}) as Record<string, unknown>,
      executionName,
      executionArn,
      started: () => {},
      putEvents: () => {},
    });
    this.history.attemptStarted(stateName, stateName, true, START_EXECUTION_SYNC);
    const restoreAbort = this.alsoAbort(() => child.abortExecution());
    try {
      const outcome = await child.run();
      if (outcome.status === "SUCCEEDED") {
        const output = { ExecutionArn: executionArn, Output: outcome.output, Status: "SUCCEEDED" };
        this.history.attemptSucceeded(stateName, output);
        return output;
      }
      const cause = JSON.stringify({ ExecutionArn: executionArn, Status: outcome.status, Error: outcome.error, Cause: outcome.cause });
      this.history.attemptFailed(stateName, "States.TaskFailed", cause);
      throw stateError("States.TaskFailed", cause);
    } finally {
      restoreAbort();
    }
  }

  private async runMain(): Promise<Pick<ExecutionOutcome, "status" | "output" | "error" | "cause">> {
    const execution = machineOf(this.request.target.prepared).run(this.request.parameters as never, this.runOptions(this.executionContext()));
    this.abortExecution = execution.abort;
    const logs = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === "StateEntered") this.statesEntered.push(event.state.name);
        this.limits.onEvent(event);
      }
    })();
    try {
      return { status: "SUCCEEDED", output: await execution.result };
    } catch (e) {
      const name = (e as Error).name;
      if (name === "ExecutionTimeoutError") return { status: "TIMED_OUT", error: "States.Timeout" };
      if (name === "ExecutionAbortedError") return { status: "ABORTED" };
      return { status: "FAILED", ...errorOf(e) };
    } finally {
      await logs.catch(() => undefined);
    }
  }

  /** The execution's context object (`$$`), as its states see it. */
  private executionContext() {
    const { executionArn, parameters, executionName, target } = this.request;
    return {
      Execution: { Id: executionArn, Input: parameters, Name: executionName, StartTime: this.startDate.toISOString(), RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/emulator` },
      StateMachine: { Id: target.synthesized.stateMachineArn, Name: target.synthesized.stateMachineArn.split(":").pop()! },
    };
  }

  private watchFor(stateName: string): LimitWatch {
    return this.watchOf.get(stateName) ?? this.limits;
  }

  private watchOfInvocation(stateName: string, mapIndex: number | undefined): LimitWatch {
    const map = this.distributedChildStates.get(stateName);
    return map === undefined ? this.watchFor(stateName) : (this.childWatches.get(`${map}#${mapIndex}`) ?? this.limits);
  }

  /** A Task state's attempt: `$$.State` supplied, then the part, map, PutEvents or Lambda call it makes. */
  private async runTaskState(stateName: string, resource: string, rawInput: unknown): Promise<unknown> {
    // Limits are found in the execution's event log, which is read asynchronously: let it catch up,
    // so that no state runs after its execution went over a limit (AWS stops the execution there).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const over = this.distributedChildStates.has(stateName) ? undefined : this.watchFor(stateName).exceeded;
    if (over) throw stateError(over.error, over.cause);
    const entry = this.entryOf(stateName, rawInput);
    const retryCount = this.retryCounts.get(entry) ?? 0;
    this.retryCounts.set(entry, retryCount + 1);
    if (retryCount === 0) this.enteredTimes.set(entry, new Date());
    const enteredAt = this.enteredTimes.get(entry)!;
    const taskToken = resource === LAMBDA_INVOKE_WAIT_FOR_TOKEN ? randomUUID() : undefined;
    const input = supplyStateContext(rawInput, { retryCount, enteredTime: enteredAt.toISOString(), taskToken }, stateName) as Record<string, any>;
    if (resource === LAMBDA_INVOKE_WAIT_FOR_TOKEN) return this.waitForTaskToken(stateName, entry, retryCount, enteredAt, input);
    if (resource === START_EXECUTION_SYNC) return this.request.target.subFlows?.has(String(input.StateMachineArn)) ? this.runSubFlow(stateName, input) : this.runPart(input);
    if (resource === DISTRIBUTED_MAP_RESOURCE) return this.runDistributedMap(this.distributedMaps.get(stateName)!, input);
    if (resource === PUT_EVENTS) {
      const entries = (input.Entries ?? []) as PutEventsEntry[];
      this.request.putEvents(entries);
      return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
    }
    return this.invokeFunction(stateName, resource, entry, retryCount, enteredAt, input);
  }

  /**
   * Which entry of the state an attempt belongs to, known by its input (the retries of one entry get
   * the same input): a Map's child per item, and each iteration of a loop (`signals.LOOP`), whose
   * payload carries the last `flowhooks.Looped` error. Step Functions counts `RetryCount` per entry.
   */
  private entryOf(stateName: string, rawInput: unknown): string {
    if (this.iterated.has(stateName)) return `${stateName}\0${JSON.stringify(rawInput)}`;
    const caught = (rawInput as { Payload?: { loop?: { caught?: unknown } | null } } | null)?.Payload?.loop?.caught;
    return caught ? `${stateName}\0${JSON.stringify(caught)}` : stateName;
  }

  /** A Lambda Task state's attempt, through the Lambda host, recorded in the history as Step Functions would. */
  private async invokeFunction(stateName: string, resource: string, entry: string, retryCount: number, enteredAt: Date, input: Record<string, any>): Promise<unknown> {
    const { host } = this.request;
    const arn = resource === LAMBDA_INVOKE ? String(input.FunctionName) : resource;
    const fn = host.find(arn);
    if (!fn) throw stateError("Lambda.ResourceNotFoundException", `Function not found: ${arn}`);
    const payload = resource === LAMBDA_INVOKE ? input.Payload : input;
    // A mapped task's child invocation names its item (lambdas/task/payload.ts `MapItem`).
    const mapIndex = typeof payload?.item?.index === "number" && this.iterated.has(stateName) ? (payload.item.index as number) : undefined;
    const watch = this.watchOfInvocation(stateName, mapIndex);
    if (watch.exceeded) throw stateError(watch.exceeded.error, watch.exceeded.cause);
    // A Distributed Map's child is an execution of its own: its events are in its history, not this one's.
    const recorded = !this.distributedChildStates.has(stateName);
    // The entry's first attempt is recorded at the time its payload says the state was entered: recovery from history keys alerts by it.
    if (recorded) this.history.attemptStarted(entry, stateName, retryCount === 0, fn.arn, retryCount === 0 ? enteredAt : new Date(), mapIndex);
    // Lambda's request is JSON: the function gets its own copy, never the execution's objects.
    const request = JSON.stringify(payload ?? null);
    watch.checkLambdaRequest(stateName, payload, Buffer.byteLength(request));
    const outcome = await host.invoke(fn, JSON.parse(request), { stateName, invocation: retryCount + 1, mapIndex }, (response, bytes) => watch.checkLambdaResponse(stateName, response, bytes));
    if (outcome.ok) {
      const result = resource === LAMBDA_INVOKE ? { ExecutedVersion: "$LATEST", Payload: outcome.payload, StatusCode: 200 } : outcome.payload;
      if (recorded) this.history.attemptSucceeded(entry, result);
      return result;
    }
    // Step Functions names the error by the function's errorType; the cause is Lambda's JSON error.
    const cause = JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage, trace: outcome.trace });
    if (recorded) this.history.attemptFailed(entry, outcome.errorType, cause);
    throw stateError(outcome.errorType, cause);
  }

  /**
   * A `.waitForTaskToken` state (a task's approval): the function runs (to Paused, or fails
   * `flowhooks.NotPaused`), then the state waits for `request.approve`, as Step Functions waits for
   * `SendTaskSuccess` / `SendTaskFailure`; its `TimeoutSeconds` is enforced by the interpreter.
   */
  private async waitForTaskToken(stateName: string, entry: string, retryCount: number, enteredAt: Date, input: Record<string, any>): Promise<unknown> {
    await this.invokeFunction(stateName, LAMBDA_INVOKE, entry, retryCount, enteredAt, input);
    const task = String(input.Payload?.task ?? stateName);
    const approve = this.request.approve;
    if (!approve) {
      throw stateError(
        APPROVAL_REJECTED_ERROR,
        `${task} waits for approval and the emulator was given no answer; run with --approve all|none, or on a terminal to be asked`,
      );
    }
    const answer = await approve(task);
    if (answer === true) return { approved: true, by: "emulator" } satisfies ApprovedOutput;
    throw stateError(APPROVAL_REJECTED_ERROR, rejectionCause(answer));
  }

  /** Stops `abort` along with the execution until the returned function restores the previous abort. */
  private alsoAbort(abort: () => void): () => void {
    const previous = this.abortExecution;
    this.abortExecution = () => {
      abort();
      previous();
    };
    return () => {
      this.abortExecution = previous;
    };
  }

  /** A part state of a split flow: runs the child state machine to its end, as `startExecution.sync:2` waits for it. */
  private async runPart(input: Record<string, any>): Promise<unknown> {
    const child = this.parts.get(String(input.StateMachineArn));
    if (!child) throw stateError("StepFunctions.StateMachineDoesNotExistException", `State machine not found: ${input.StateMachineArn}`);
    const childArn = `${String(input.StateMachineArn).replace(":stateMachine:", ":execution:")}:${randomUUID()}`;
    const context = { Execution: { Id: childArn, Input: input.Input, Name: childArn.split(":").at(-1), StartTime: new Date().toISOString() }, StateMachine: { Id: input.StateMachineArn } };
    const run = machineOf(child).run(input.Input as never, this.runOptions(context));
    const restoreAbort = this.alsoAbort(() => run.abort());
    const childLimits = new LimitWatch(() => run.abort(), { definition: child.definition });
    for (const name of child.taskStates.keys()) this.watchOf.set(name, childLimits);
    const logs = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === "StateEntered") this.statesEntered.push(event.state.name);
        childLimits.onEvent(event);
      }
    })();
    // As Step Functions reports a failed child execution to the state that started it (catchable there).
    const failed = ({ error, cause }: { error: string; cause: string }) => stateError("States.TaskFailed", JSON.stringify({ ExecutionArn: childArn, Error: error, Cause: cause }));
    try {
      const output = await run.result;
      if (childLimits.exceeded) throw failed(childLimits.exceeded);
      return { ExecutionArn: childArn, Output: output, Status: "SUCCEEDED" };
    } catch (e) {
      throw failed(childLimits.exceeded ?? errorOf(e));
    } finally {
      await logs.catch(() => undefined);
      restoreAbort();
      this.limits.largestStateBytes = Math.max(this.limits.largestStateBytes, childLimits.largestStateBytes);
    }
  }

  /**
   * A Distributed Map (rewritten into a Task state by prepareDefinition): reads its items from the
   * local results folder, runs each through the inline Map with the same processor as an execution
   * of its own (its history and limits its own, as a child execution's; neither the items nor the
   * results pass through the parent's state data), and writes what its ResultWriter would.
   */
  private async runDistributedMap(map: DistributedMap, input: Record<string, any>): Promise<unknown> {
    const { resultsDir, target } = this.request;
    const items = await readMapItems(resultsDir, map.stateName, input.reader ?? {});
    this.request.write?.(distributedMapLine(map, items.length));
    const running = new Set<{ abort: () => void }>();
    const restoreAbort = this.alsoAbort(() => {
      for (const run of running) run.abort();
    });
    try {
      const children = await inOrderOfFinishing(items.length, map.maxConcurrency || DISTRIBUTED_EMULATION_CONCURRENCY, (index) =>
        this.runDistributedChild(map, input, items[index], index, running),
      );
      const failed = children.filter((c) => c.status === "FAILED");
      const tolerated = Math.max(map.toleratedFailureCount, Math.floor((items.length * map.toleratedFailurePercentage) / 100));
      if (failed.length > tolerated) {
        const first = failed[0]!;
        throw stateError(
          TOLERATED_FAILURE_EXCEEDED,
          `Distributed Map \`${map.stateName}\`: ${failed.length} of ${items.length} child executions failed (child ${first.index}: ${first.error}: ${first.cause}); the map run tolerates ${tolerated}.`,
        );
      }
      if (!map.writesResults) return children.sort((a, b) => a.index - b.index).map((c) => c.output);
      const run = { stateMachineArn: target.synthesized.stateMachineArn, stateName: map.stateName, id: randomUUID(), writer: input.writer };
      return await writeMapResults(resultsDir, run, children);
    } finally {
      restoreAbort();
    }
  }

  /** One item of a Distributed Map, as a child execution with its own limits. */
  private async runDistributedChild(map: DistributedMap, input: Record<string, any>, item: unknown, index: number, running: Set<{ abort: () => void }>): Promise<ChildExecutionResult> {
    const startDate = new Date();
    const run = machineOf(map.inline).run(input.input as never, this.runOptions({ ...this.executionContext(), FlowhooksEmulator: { Items: [item], Index: index } }));
    running.add(run);
    const watch = new LimitWatch(() => run.abort(), { definition: map.inline.definition });
    const watchKey = `${map.stateName}#${index}`;
    this.childWatches.set(watchKey, watch);
    let childInput: unknown;
    const logs = (async () => {
      for await (const event of run.eventLogs) {
        // Events without an index are the one-item stand-in Map's own: not the child execution's.
        if ((event as { index?: number }).index === undefined) continue;
        if (event.type === "StateEntered") this.statesEntered.push(event.state.name);
        if (event.type === "StateEntered" && childInput === undefined) childInput = event.state.input;
        watch.onEvent(event);
      }
    })();
    const ended = (result: Pick<ChildExecutionResult, "status" | "output" | "error" | "cause">): ChildExecutionResult => ({
      index,
      input: childInput ?? null,
      startDate,
      stopDate: new Date(),
      ...result,
    });
    try {
      const output = ((await run.result) as unknown[])[0];
      await logs;
      if (watch.exceeded) return ended({ status: "FAILED", error: watch.exceeded.error, cause: watch.exceeded.cause });
      return ended({ status: "SUCCEEDED", output });
    } catch (e) {
      await logs.catch(() => undefined);
      const { error, cause } = watch.exceeded ?? errorOf(e);
      return ended({ status: "FAILED", error, cause });
    } finally {
      running.delete(run);
      this.childWatches.delete(watchKey);
      this.limits.largestStateBytes = Math.max(this.limits.largestStateBytes, watch.largestStateBytes);
    }
  }
}

/** The Wait states a flowRun task's retries wait in (lib/compile/flow-run.ts), anywhere in the definition. */
function flowRunWaitStates(definition: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown) => {
    if (typeof value !== "object" || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      const state = child as { Type?: unknown; SecondsPath?: unknown } | null;
      if (state?.Type === "Wait" && typeof state.SecondsPath === "string" && state.SecondsPath.startsWith(FLOW_RUN_PATH)) found.push(key);
      visit(child);
    }
  };
  visit(definition);
  return found;
}
