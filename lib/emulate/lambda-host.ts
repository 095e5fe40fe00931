/**
 * The Lambda host: runs the bundled task Lambdas in-process (one container per function), with the
 * local EventBridge and Secrets Manager endpoints they call, and turns the transition events they put
 * on the bus into timeline entries and records on the handler's queue. Both engines invoke task
 * functions through it; only how an invocation is asked for differs (a local handler, an HTTP call).
 */
import { State, type StateJSON } from "../core/states";
import type { TimelineTransition } from "../cli/timeline";
import { putEventsEnvelope, type EventBridgeEnvelope } from "./envelopes";
import { deliverInProcess, localEventBridge, subscribe, type PutEventsEntry } from "./eventbridge";
import { LocalLambda, type InvocationOutcome } from "./lambda";
import { withResultsFolder } from "./results";
import { localSecretsManager } from "./secrets-manager";
import { LOCAL_REGION, type SynthesizedFunction } from "./synth";

/** Variables every emulated function sees on top of its own. */
export const REGION_ENV = { AWS_REGION: LOCAL_REGION, AWS_DEFAULT_REGION: LOCAL_REGION };

export interface TaskInvocation {
  task: string;
  /** A mapped task's child: its index. @default - absent for other invocations */
  mapIndex?: number;
  stateName: string;
  /** 1-based, counting every invocation of the state (transient retries included, as `$$.State.RetryCount`). */
  invocation: number;
  outcome: "returned" | "error" | "timed-out";
  errorType?: string;
  durationMs: number;
}

/** Which attempt an invocation is: the state that asked, its attempt (1-based) and a mapped child's index. */
export interface AttemptOf {
  stateName: string;
  invocation: number;
  mapIndex?: number;
}

export interface LambdaHostOptions {
  functions: SynthesizedFunction[];
  executionArn: string;
  /** The folder standing in for the results bucket. */
  resultsDir: string;
  /** How task events reach the emulator (see EmulateOptions.eventDelivery). @default "in-process" */
  eventDelivery?: "in-process" | "http";
  /** A task Lambda reported a transition. */
  onTransition: (t: TimelineTransition) => void;
  /** An event the rule would route to the handler's queue. */
  deliver: (envelope: EventBridgeEnvelope) => void;
}

/** One attempt of a task (of a mapped task's child when `mapIndex` is given): how a timed-out attempt's late events are recognized. */
function attemptKey(task: string | undefined, mapIndex: number | undefined, attempt: number | undefined): string {
  return `${task}#${mapIndex ?? ""}#${attempt}`;
}

/** Sets process-wide variables for the emulation (the local endpoints, a region, dummy credentials) and returns how to undo it. */
function processEnv(vars: Record<string, string | undefined>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) continue;
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

export class LambdaHost {
  readonly invocations: TaskInvocation[] = [];
  /** Retry waits as deployed, summed from the Retrying states the task Lambdas reported. */
  deployedRetryWaitMs = 0;
  private readonly containers = new Map<string, LocalLambda>();
  private readonly byArn: Map<string, SynthesizedFunction>;
  private readonly killed = new Set<string>();
  private readonly undo: (() => void)[] = [];

  constructor(private readonly options: LambdaHostOptions) {
    this.byArn = new Map(options.functions.map((f) => [f.arn, f]));
  }

  /** Starts the endpoints the functions call and listens for their task events. */
  async start(): Promise<void> {
    const [eventBridgeUrl, secretsManagerUrl] = await Promise.all([localEventBridge(), localSecretsManager()]);
    this.undo.push(
      processEnv({
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridgeUrl,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManagerUrl,
        AWS_REGION: process.env.AWS_REGION ?? LOCAL_REGION,
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ? undefined : "emulator",
        AWS_SECRET_ACCESS_KEY: process.env.AWS_ACCESS_KEY_ID ? undefined : "emulator",
      }),
    );
    if ((this.options.eventDelivery ?? "in-process") === "in-process") this.undo.push(deliverInProcess());
    this.undo.push(subscribe(this.options.executionArn, (entry, detail) => this.onTaskEvent(entry, detail)));
  }

  /** Containers start before the execution, so cold starts do not count in the first task's time. */
  async initTaskContainers(): Promise<void> {
    await Promise.all(this.options.functions.filter((f) => f.assetDir && f.environment.FLOWHOOKS_TASK !== undefined).map((f) => this.container(f).init()));
  }

  /** The function a state names (by ARN, or by name as `lambda:invoke`'s FunctionName may). */
  find(arnOrName: string): SynthesizedFunction | undefined {
    return this.byArn.get(arnOrName) ?? this.options.functions.find((f) => f.functionName === arnOrName || f.arn.endsWith(`:function:${arnOrName}`));
  }

  /** The task a function runs (its FLOWHOOKS_TASK), else the state's name. */
  taskOf(fn: SynthesizedFunction, stateName: string): string {
    return fn.environment.FLOWHOOKS_TASK ?? stateName;
  }

  /** One invocation, recorded (`checkResponse` may reject a successful one); a timed-out attempt's later events are dropped, as Lambda stopped it. */
  async invoke(fn: SynthesizedFunction, payload: unknown, attempt: AttemptOf, checkResponse?: (payload: unknown, bytes: number) => void): Promise<InvocationOutcome> {
    const outcome = await this.container(fn).invoke(payload);
    const task = this.taskOf(fn, attempt.stateName);
    const base = { task, ...(attempt.mapIndex !== undefined ? { mapIndex: attempt.mapIndex } : {}), stateName: attempt.stateName, invocation: attempt.invocation, durationMs: outcome.durationMs };
    if (outcome.ok) {
      // A response over Lambda's limit fails the state before it counts as returned.
      checkResponse?.(outcome.payload, outcome.bytes);
      this.invocations.push({ ...base, outcome: "returned" });
      return outcome;
    }
    if (outcome.timedOut) this.killed.add(attemptKey(task, attempt.mapIndex, attempt.invocation));
    this.invocations.push({ ...base, outcome: outcome.timedOut ? "timed-out" : "error", errorType: outcome.errorType });
    return outcome;
  }

  close(): void {
    for (const undo of this.undo.splice(0).reverse()) undo();
  }

  private container(fn: SynthesizedFunction): LocalLambda {
    let container = this.containers.get(fn.functionName);
    if (!container) {
      container = new LocalLambda(withResultsFolder(fn, this.options.resultsDir), { ...REGION_ENV, FLOWHOOKS_EVENT_BUS: fn.environment.FLOWHOOKS_EVENT_BUS ?? "flowhooks-emulator" });
      this.containers.set(fn.functionName, container);
    }
    return container;
  }

  /** A PutEvents entry of this execution from a task Lambda (its Detail parsed once, by the bus): a timeline entry (task transitions) and a record for the handler. */
  private onTaskEvent(entry: PutEventsEntry, parsed: Record<string, unknown> | undefined): void {
    if (!parsed) return;
    const detail = parsed as { task?: string; attempt?: number; mapIndex?: number; oldState?: StateJSON; newState?: StateJSON; at?: string; observedAfterTheFact?: boolean; loopCount?: number };
    // Lambda stops a timed-out function; what its body does afterwards never reaches the bus
    // (a crash the collect step reports afterwards, marked observedAfterTheFact, is no part of it).
    if (!detail.observedAfterTheFact && this.killed.size > 0 && this.killed.has(attemptKey(detail.task, detail.mapIndex, detail.attempt))) return;
    if (detail.oldState && detail.newState && detail.task) {
      const newState = State.fromJSON(detail.newState);
      const at = detail.at ? new Date(detail.at) : new Date();
      if (newState.isRetrying() && "startTime" in newState) {
        // The task Lambda makes a Retrying's `startTime` and its transition's `at` from one clock read (lib/core/attempt.ts), so this is the wait exactly.
        this.deployedRetryWaitMs += Math.max(0, (newState as { startTime: Date }).startTime.getTime() - at.getTime());
      }
      // Built key by key in the order the timeline has always had (kind, name, attempt, mapIndex, loop, states, at), without spreads.
      const transition = { kind: "task", name: detail.task, attempt: detail.attempt } as TimelineTransition;
      if (typeof detail.mapIndex === "number") transition.mapIndex = detail.mapIndex;
      if (detail.loopCount) transition.loop = detail.loopCount;
      transition.oldState = State.fromJSON(detail.oldState);
      transition.newState = newState;
      transition.at = at;
      this.options.onTransition(transition);
    }
    this.options.deliver(putEventsEnvelope({ ...entry, Detail: parsed }));
  }
}
