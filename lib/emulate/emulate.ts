/**
 * `emulate()`: runs what `cdk deploy` would ship, here. The flow's stack is synthesized with real
 * bundling; the state machine's definition from the template runs in aws-local-stepfunctions; each
 * Task state invokes the bundled task Lambda in-process; what would reach EventBridge (execution
 * status changes, task transition events) goes, as SQS records, to the handler Lambda's code, which
 * runs the flow's state-handler chains and sends alerts to the configured channels.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock, type Clock } from "../core/clock";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { StateMachine } from "aws-local-stepfunctions";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { RunContext } from "../core/context";
import { isFlow, type Flow, type FlowGraph } from "../core/flow";
import type { StateHandler } from "../core/handlers";
import { Failed, State, type StateJSON } from "../core/states";
import type { FlowStateMachineProps } from "../cdk/flow-state-machine";
import { InMemoryTransitionStore } from "../aws/dedupe";
import type { Logger, LogFields } from "../aws/logger";
import type { Alert, AlertChannel } from "../notify/alert";
import { consoleChannel } from "../notify/console";
import { InMemoryDocumentStore } from "../aws/documents";
import type { AlertQueue } from "../aws/queue";
import { digestChannel, isDigestChannel, parseFlushRecord, type DigestChannel } from "../notify/digest";
import { slackDigestTarget } from "../notify/slack-digest";
import { slackAppTarget } from "../notify/slack-app";
import { snsChannel } from "../notify/sns";
import { UsageError } from "../cli/errors";
import { loadFlows, selectFlow } from "../cli/load";
import { findFlowStateMachines, selectConstruct, synthesizeApp, type FoundFlowStateMachine, type SynthesizeAppOptions } from "./app";
import type { TimelineTransition } from "../cli/timeline";
import { createEventsHandler, HANDLER_DEPS, type HandlerDeps } from "../../lambdas/handler/index";
import { DISTRIBUTED_MAP_RESOURCE, prepareDefinition, supplyStateContext, type DistributedMap, type PreparedDefinition } from "./definition";
import {
  DISTRIBUTED_EMULATION_CONCURRENCY,
  distributedMapLine,
  inOrderOfFinishing,
  readMapItems,
  TOLERATED_FAILURE_EXCEEDED,
  writeMapResults,
  type ChildExecutionResult,
} from "./distributed-map";
import { HistoryRecorder, putEventsEnvelope, sqsRecord, statusChangeEnvelope, type EmulatedStatus, type EventBridgeEnvelope } from "./envelopes";
import { UnsupportedDefinitionError } from "./errors";
import { deliverInProcess, localEventBridge, subscribe, type PutEventsEntry } from "./eventbridge";
import { LocalLambda } from "./lambda";
import { localSecretsManager, serveStackSecrets } from "./secrets-manager";
import { builtInSlackDigests, reportingDelivery, slackSecretVariables } from "./stack-channels";
import { preflightAsDeployed } from "./preflight";
import { assertDefinitionWithinLimit, LimitWatch } from "./limits";
import { newResultsFolder, withResultsFolder } from "./results";
import {
  EMULATED_STACK_ID,
  emulatedStackName,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  linkSdk,
  notEmulatedLine,
  readAssembly,
  synthesizeFlow,
  type SynthesizedFlow,
  type SynthesizedFunction,
} from "./synth";

const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
const PUT_EVENTS = "arn:aws:states:::events:putEvents";
const START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2";

export interface PrepareOptions {
  /** Path of the module that exports the flow (bundled as deployed). */
  entry: string;
  /** The flow, or its name or export name. @default - the only flow `entry` exports */
  flow?: Flow | string;
  /** The export of `entry` holding the flow. @default - the export that is the flow */
  exportName?: string;
  /** More FlowStateMachine props for the emulated stack (taskDefaults, alerts, …). @default {} */
  stackProps?: Partial<Omit<FlowStateMachineProps, "flow" | "entry" | "exportName">>;
  /** Where the synthesized app goes. @default - a new folder under the OS temp dir */
  outdir?: string;
  /**
   * A cloud assembly folder (`…/cdk.out`) synthesized earlier by the emulator from the same flow
   * and props: it is read instead of synthesizing again (tests share one synthesis).
   * @default - synthesized now
   */
  assembly?: string;
  /** Slack Incoming Webhook that receives the alerts (a local value for the stack's Slack secrets). @default - FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL, else no Slack */
  slackWebhookUrl?: string;
}

/** A synthesized, bundled flow, ready to emulate any number of times. */
export interface EmulationTarget {
  flow: Flow;
  entry: string;
  synthesized: SynthesizedFlow;
  prepared: PreparedDefinition;
  /** A split flow's child state machines, by the ARN the main definition starts them by. @default - none */
  parts?: Map<string, PreparedDefinition>;
}

/** Something the emulation did, as it happens (for live output). */
export type EmulatorEvent =
  | { type: "transition"; transition: TimelineTransition; source: "task-lambda" | "handler-lambda" }
  | { type: "alert"; channel: string; alert: Alert }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; message: string; fields: LogFields }
  | { type: "dead-letter"; envelope: EventBridgeEnvelope; error?: unknown };

export interface EmulateOptions extends Partial<PrepareOptions> {
  /** A target from `prepareEmulation` (reuse one synthesis across runs). @default - synthesized from `entry` */
  target?: EmulationTarget;
  /** The flow's parameters (the execution input). @default {} */
  parameters?: Record<string, unknown>;
  /** Shorten the waits between retries to 0 ms (the summary says by how much). @default false */
  fastRetries?: boolean;
  /** Slack Incoming Webhook that receives the alerts. @default - FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL, else no Slack */
  slackWebhookUrl?: string;
  /** States that alert (as FLOWHOOKS_ALERT_ON). @default - the deployed handler's setting, else Failed, TimedOut, Retrying */
  alertOn?: string[];
  /** Called for every transition, alert and handler log line as it happens. @default - none */
  onEvent?: (event: EmulatorEvent) => void;
  /** Where console alerts go when no other channel is configured. @default - process.stdout */
  write?: (text: string) => void;
  /** How many times the queue hands a failing record to the handler before it goes to the dead-letter queue. @default 3 */
  maxReceiveCount?: number;
  /** The execution's name. @default - a random UUID */
  executionName?: string;
  /**
   * The handler side's clock: alert windows, rate limits and the queue's delays. Tests pass a
   * virtual clock, so the emulation never waits for a digest window or a busy Slack in real time.
   * @default systemClock
   */
  clock?: Clock;
  /** Task alerts of one execution within this many seconds go out as one Slack message. @default - the deployed handler's setting, else 5 */
  alertWindowSeconds?: number;
  /**
   * A Slack app that receives the alerts as one thread per execution (`apiBaseUrl`: a fake Web API
   * on 127.0.0.1 in tests). @default - FLOWHOOKS_SECRET_SLACK_BOT_TOKEN with FLOWHOOKS_SLACK_CHANNEL (and FLOWHOOKS_SLACK_API_URL), else none
   */
  slackApp?: { botToken: string; channel: string; apiBaseUrl?: string };
  /** For tests: the fetch Slack requests use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * How the task Lambdas' transition events reach the handler: `"in-process"` hands the PutEvents
   * entries straight to the emulator; `"http"` sends them with the real AWS SDK EventBridge client
   * to a PutEvents endpoint on 127.0.0.1 (signing, serialization and HTTP included, ~1 ms per event).
   * The entries and their routing are the same either way.
   * @default "in-process"
   */
  eventDelivery?: "in-process" | "http";
}

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

export interface EmulationResult {
  executionArn: string;
  status: Exclude<EmulatedStatus, "RUNNING">;
  output?: unknown;
  error?: string;
  cause?: string;
  /** The flow's final state, as the handler Lambda's flow chain ended it. */
  flowState?: State;
  /** Task transitions (from the task Lambdas' events and the handler's reconstructions) and flow transitions (the handler's chain), in time order. */
  transitions: TimelineTransition[];
  /** Every state the execution entered, in order (the path taken). */
  statesEntered: string[];
  invocations: TaskInvocation[];
  /** Alerts the channels accepted. */
  alerts: { channel: string; alert: Alert }[];
  /** Retry waits as deployed, and as emulated. */
  retryWaits: { deployedMs: number; emulatedMs: number; shortened: boolean };
  /** Records the handler never processed (they would sit in the dead-letter queue). */
  deadLettered: EventBridgeEnvelope[];
  /** Where the handler Lambda's code came from: the bundle `cdk deploy` ships, or (older bundles without an `events` export) source. */
  handlerCode: "bundled" | "source";
  /** The folder standing in for the results bucket (results above the threshold, by execution and task; a Distributed Map's items and written results): one per process, as one bucket. */
  resultsDir: string;
  /** The largest state input or output of the execution, in bytes (Step Functions allows 262,144). */
  largestStateBytes: number;
}

/** A record on the emulated queue: its body and how often the handler was given it. */
interface QueueItem {
  body: string;
  receives: number;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  return value !== undefined && Number(value) >= 0 ? Number(value) : undefined;
}

/** The deployed handler function's environment, where the template has one. */
function synthesizedHandlerEnv(synthesized: SynthesizedFlow): Record<string, string | undefined> {
  const fn = [...synthesized.functions.values()].find((f) => f.environment.FLOWHOOKS_DEDUPE_TABLE !== undefined && !f.handler.endsWith(".reconcile"));
  return fn?.environment ?? {};
}

/** What the dead-letter list shows for a record: its EventBridge envelope, or a stand-in naming a digest flush. */
function deadLetterEnvelope(body: string): EventBridgeEnvelope {
  const flush = parseFlushRecord(body);
  if (!flush) return JSON.parse(body) as EventBridgeEnvelope;
  return {
    version: "0",
    id: "digest-flush",
    "detail-type": "flowhooks digest flush",
    source: "flowhooks",
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [flush.group],
    detail: { ...flush },
  };
}

/** One attempt of a task (of a mapped task's child when `mapIndex` is given): how a timed-out attempt's late events are recognized. */
function attemptKey(task: string | undefined, mapIndex: number | undefined, attempt: number | undefined): string {
  return `${task}#${mapIndex ?? ""}#${attempt}`;
}

/** Where a transition sits within one attempt: events of one attempt may carry the same millisecond and arrive in any order. */
function phase(t: TimelineTransition): number {
  if (t.kind === "flow") return t.newState.isRunning() ? 0 : 9;
  if (t.oldState.isPending() || t.oldState.isRetrying()) return 1;
  if (t.oldState.isRunning()) return 2;
  return 3;
}

/**
 * Time order; ties broken by attempt, then by the order of transitions within an attempt. Two
 * tasks (or two children of a mapped task) in the same millisecond keep the order they were
 * recorded in, which is causal: a task starts after the task it reads from reported its end.
 */
export function byTimeThenPhase(a: TimelineTransition, b: TimelineTransition): number {
  const sameTask = a.kind === "task" && b.kind === "task" && a.name === b.name && a.mapIndex === b.mapIndex;
  if (sameTask && a.attempt !== b.attempt) return (a.attempt ?? 0) - (b.attempt ?? 0);
  const time = a.at.getTime() - b.at.getTime();
  if (time !== 0 || (a.kind === "task" && b.kind === "task" && !sameTask)) return time;
  return phase(a) - phase(b);
}

/** Synthesizes and bundles the flow's stack and reads the definition to emulate. */
export async function prepareEmulation(options: PrepareOptions): Promise<EmulationTarget> {
  const entry = resolve(options.entry);
  let flow: Flow;
  if (isFlow(options.flow)) flow = options.flow;
  else flow = selectFlow(await loadFlows(entry), options.entry, typeof options.flow === "string" ? options.flow : undefined);
  const synthesized = options.assembly
    ? readAssembly(resolve(options.assembly), EMULATED_STACK_ID, emulatedStackName(flow))
    : await synthesizeFlow({ flow, entry, exportName: options.exportName, props: options.stackProps, outdir: options.outdir, slackWebhookUrl: options.slackWebhookUrl });
  return { flow, entry, synthesized, ...prepareRunnable(synthesized) };
}

/** The definitions to run (the main one and a split flow's parts): within Step Functions' size limit, with no Task state the emulator cannot run. */
function prepareRunnable(synthesized: SynthesizedFlow): Pick<EmulationTarget, "prepared" | "parts"> {
  assertDefinitionWithinLimit(synthesized.definitionString);
  const prepared = prepareDefinition(synthesized.definitionString);
  const parts = new Map<string, PreparedDefinition>();
  for (const [arn, text] of synthesized.parts ?? []) {
    assertDefinitionWithinLimit(text);
    parts.set(arn, prepareDefinition(text));
  }
  for (const [name, state] of [prepared, ...parts.values()].flatMap((p) => [...p.taskStates])) {
    const resource = String(state.Resource);
    if (
      resource !== LAMBDA_INVOKE &&
      resource !== PUT_EVENTS &&
      resource !== START_EXECUTION_SYNC &&
      resource !== DISTRIBUTED_MAP_RESOURCE &&
      !resource.startsWith("arn:aws:lambda:")
    ) {
      throw new UnsupportedDefinitionError(
        `Task state \`${name}\` calls ${resource}; the emulator runs Lambda invocations (${LAMBDA_INVOKE}), ${PUT_EVENTS} and ${START_EXECUTION_SYNC} only.`,
      );
    }
  }
  return { prepared, parts };
}

export interface AppEmulationOptions extends SynthesizeAppOptions {
  /** Which FlowStateMachine (its path, the end of its path, or its flow's name). @default - the app's only one */
  construct?: string;
}

/** An emulation target taken from the user's own app, with the construct it came from. */
export interface AppEmulationTarget extends EmulationTarget {
  construct: FoundFlowStateMachine;
}

/**
 * Synthesizes the user's CDK app (as `cdk synth` does) and prepares the FlowStateMachine it holds
 * (or the one `construct` names): exactly what would deploy, with the construct's own props.
 */
export async function prepareAppEmulation(options: AppEmulationOptions = {}): Promise<AppEmulationTarget> {
  const outdir = await synthesizeApp(options);
  const construct = selectConstruct(findFlowStateMachines(outdir), options.construct);
  const { metadata } = construct;
  if (metadata.stubBundling) {
    throw new UsageError(
      `FlowStateMachine ${construct.path} was synthesized with placeholder code (stubBundling, or FLOWHOOKS_STUB_BUNDLING=1 in the app); ` +
        "the emulator runs the bundled code, so synthesize without it.",
    );
  }
  const flows = await loadFlows(metadata.entry);
  const flow =
    metadata.exportName !== undefined
      ? flows.find((f) => f.exportName === metadata.exportName)?.flow
      : flows.find((f) => f.flow.name === metadata.flow)?.flow;
  if (!flow) {
    throw new UsageError(`${metadata.entry} no longer exports flow ${metadata.flow}${metadata.exportName ? ` as ${metadata.exportName}` : ""}, which ${construct.path} deploys; synthesize again.`);
  }
  linkSdk(construct.outdir);
  const synthesized = readAssembly(construct.outdir, construct.artifactId, construct.stackName, {
    constructPath: construct.path,
    stateMachineLogicalId: metadata.stateMachineLogicalId,
    templateFile: construct.templateFile,
  });
  return { flow, entry: metadata.entry, synthesized, ...prepareRunnable(synthesized), construct };
}

/** Records what the handler Lambda's chains decide: a first handler notes the old state, a last one the outcome. */
class ChainRecorder {
  private readonly pending: { obj: unknown; oldState: State; attempt?: number; mapIndex?: number; observed: boolean }[] = [];
  /** The bundle's own run context reader (the bundled handler carries its own copy of lib/core). */
  private getRunContext: () => RunContext | undefined = () => undefined;
  constructor(private readonly onTransition: (t: TimelineTransition) => void) {}

  readonly before: StateHandler = (obj, oldState) => {
    const context = this.getRunContext();
    this.pending.push({ obj, oldState, attempt: context?.attempt, mapIndex: context?.mapIndex, observed: Boolean(context?.observedAfterTheFact) });
  };

  readonly after: StateHandler = (obj, _oldState, newState) => {
    this.resolve(obj, newState);
  };

  /** The chain ended early: a handler threw (the handler Lambda logs it with the error). */
  threw(obj: string, error: unknown): void {
    const pending = this.pending.find((p) => String(p.obj) === obj);
    if (pending) this.resolve(pending.obj, new Failed(`Unexpected error while calling state handlers: ${String(error)}`, { result: error }));
  }

  private resolve(obj: unknown, newState: State): void {
    const index = this.pending.findIndex((p) => p.obj === obj);
    if (index < 0) return;
    const [p] = this.pending.splice(index, 1) as [(typeof this.pending)[number]];
    // Duck-typed: the bundled handler's Flow is another copy of the class.
    const isTask = !(isFlow(obj) || typeof (obj as { graph?: unknown }).graph === "function");
    this.onTransition({
      kind: isTask ? "task" : "flow",
      name: (obj as { name: string }).name,
      attempt: isTask ? p.attempt : undefined,
      ...(isTask && p.mapIndex !== undefined ? { mapIndex: p.mapIndex } : {}),
      oldState: p.oldState,
      newState,
      at: new Date(),
    });
  }

  /** The flow as the handler sees it: the same object, with the recorders around every chain. */
  wrap(flow: Flow, runtime: { getRunContext: () => RunContext | undefined }): Flow {
    this.getRunContext = runtime.getRunContext;
    const wrapHandlers = <T>(handlers: readonly StateHandler<T>[]) => [this.before, ...handlers, this.after] as StateHandler<T>[];
    let graph: FlowGraph | undefined;
    return new Proxy(flow, {
      get: (target, prop, receiver) => {
        if (prop === "stateHandlers") return wrapHandlers(target.stateHandlers);
        if (prop === "graph") {
          return () => {
            if (graph) return graph;
            const real = target.graph();
            const nodes = real.nodes.map((n) => ({ ...n, stateHandlers: wrapHandlers(n.stateHandlers) }));
            graph = { ...real, nodes, byName: new Map(nodes.map((n) => [n.name, n])) } as FlowGraph;
            return graph;
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
  }
}

/** A Logger for the handler Lambda that reports lines as events and tells the recorder when a chain threw. */
function handlerLogger(onLine: (level: "debug" | "info" | "warn" | "error", message: string, fields: LogFields) => void, base: LogFields = {}): Logger {
  const line = (level: "debug" | "info" | "warn" | "error") => (message: string, fields: LogFields = {}) => onLine(level, message, { ...base, ...fields });
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error"), child: (fields) => handlerLogger(onLine, { ...base, ...fields }) };
}

/** Sets process-wide variables for the emulation (the local EventBridge endpoint, a region, dummy credentials) and returns how to undo it. */
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

/**
 * The handler Lambda's SQS handler from the bundled code `cdk deploy` ships: the deployed handler
 * function's export, else the `events` export of the flow's one code asset. Bundles built before
 * the asset exported it fall back to the same code from source.
 */
async function bundledEventsHandler(
  flow: Flow,
  functions: SynthesizedFunction[],
  deployedHandler: SynthesizedFunction | undefined,
  extraEnv: Record<string, string>,
): Promise<{ handler: (event: SQSEvent) => Promise<SQSBatchResponse>; code: "bundled" | "source" }> {
  const fn = deployedHandler ?? functions.find((f) => f.assetDir && f.environment.FLOWHOOKS_TASK !== undefined);
  if (fn?.assetDir) {
    // Its own module instance, as the handler function has its own container.
    const container = new LocalLambda({ ...fn, functionName: deployedHandler ? fn.functionName : `${fn.functionName}-events` }, extraEnv);
    const mod = await container.init();
    const exportName = deployedHandler ? deployedHandler.handler.split(".").pop()! : "events";
    const handler = mod[exportName];
    if (typeof handler === "function") {
      // The flow's state handlers run here and read the function's environment (secrets.get) after awaits.
      const bundled = handler as (event: SQSEvent) => Promise<SQSBatchResponse>;
      return { handler: (event) => container.run(() => bundled(event)), code: "bundled" };
    }
  }
  return { handler: createEventsHandler(flow), code: "source" };
}

/** Runs the synthesized flow once, end to end. */
export async function emulate(options: EmulateOptions): Promise<EmulationResult> {
  if (!options.target && !options.entry) throw new TypeError("emulate() needs `entry` (the module that exports the flow) or a `target` from prepareEmulation().");
  const target = options.target ?? (await prepareEmulation(options as PrepareOptions));
  const { flow, synthesized, prepared } = target;
  const onEvent = options.onEvent ?? (() => undefined);
  const parameters = options.parameters ?? {};
  const executionName = options.executionName ?? randomUUID();
  const stateMachineName = synthesized.stateMachineArn.split(":").pop()!;
  const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineName}:${executionName}`;

  const transitions: TimelineTransition[] = [];
  const record = (t: TimelineTransition, source: "task-lambda" | "handler-lambda") => {
    transitions.push(t);
    onEvent({ type: "transition", transition: t, source });
  };

  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  // The handler's queue: records wait their delay (a digest window, a deferral) on `clock`.
  // `early`: a flush scheduled by the handler, which may run as soon as the execution has ended.
  const delayed: { dueAt: number; item: QueueItem; early: boolean }[] = [];
  const deferrals = new Map<string, number>();
  const handlerQueue: AlertQueue = {
    send: async (body, delaySeconds) => enqueue({ body, receives: 0 }, delaySeconds * 1000, true),
    defer: async (record, seconds) => void deferrals.set(record.receiptHandle, seconds),
  };
  const documents = new InMemoryDocumentStore();

  // Alert channels, as configured for this run.
  const alerts: EmulationResult["alerts"] = [];
  const slackUrl = options.slackWebhookUrl ?? process.env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL;
  const baseChannels: AlertChannel[] = [];
  const windowSeconds = options.alertWindowSeconds ?? numberOrUndefined(synthesizedHandlerEnv(synthesized).FLOWHOOKS_ALERT_WINDOW_SECONDS);
  // The stack's channels only: a webhook given here serves the stack's Slack secrets, it turns on no digests the stack lacks.
  if (slackUrl && builtInSlackDigests({ handlerEnv: synthesizedHandlerEnv(synthesized), ownStack: !("construct" in target), flow })) {
    // The handler Lambda's grouping code, with the emulator's queue and an in-memory table.
    const target = slackDigestTarget({ webhookUrl: slackUrl, fetch: options.fetch });
    baseChannels.push(digestChannel({ target, store: documents, queue: handlerQueue, windowSeconds, now }));
  }
  const botToken = process.env.FLOWHOOKS_SECRET_SLACK_BOT_TOKEN;
  const slackApp =
    options.slackApp ??
    (botToken && process.env.FLOWHOOKS_SLACK_CHANNEL
      ? { botToken, channel: process.env.FLOWHOOKS_SLACK_CHANNEL, apiBaseUrl: process.env.FLOWHOOKS_SLACK_API_URL || undefined }
      : undefined);
  if (slackApp) {
    const target = slackAppTarget({ ...slackApp, fetch: options.fetch });
    baseChannels.push(digestChannel({ target, store: documents, queue: handlerQueue, windowSeconds, now }));
  }
  if (process.env.AWS_ENDPOINT_URL_SNS) {
    baseChannels.push(snsChannel({ topicArn: synthesized.alertTopicArn ?? `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:flowhooks-emulator-alerts` }));
  }
  if (baseChannels.length === 0) baseChannels.push(consoleChannel({ write: options.write }));
  const channels: AlertChannel[] = baseChannels.map((base) => {
    // Reported once it went out (a digest's alerts when flushed), never when it was dead-lettered instead.
    const channel = reportingDelivery(base, (alert) => {
      alerts.push({ channel: base.name, alert });
      onEvent({ type: "alert", channel: base.name, alert });
    });
    const wrapped: AlertChannel = {
      name: channel.name,
      send: async (bundled: Alert) => {
        // The bundled handler carries its own copy of the state classes; the channels here use this
        // process's, whose instanceof checks (Retrying's start time, TimedOut, …) must hold.
        const alert: Alert = { ...bundled, oldState: State.fromJSON(bundled.oldState.toJSON()), newState: State.fromJSON(bundled.newState.toJSON()) };
        await channel.send(alert);
      },
    };
    return isDigestChannel(channel) ? ({ ...wrapped, flush: channel.flush, notice: channel.notice } satisfies DigestChannel) : wrapped;
  });

  // The handler Lambda, with the deployed configuration where the template has one.
  const functions = [...synthesized.functions.values()];
  const notEmulated = notEmulatedLine(functions);
  if (notEmulated) options.write?.(notEmulated);
  // The events handler, not the reconciler that shares its code and environment.
  const deployedHandler = functions.find((f) => f.environment.FLOWHOOKS_DEDUPE_TABLE !== undefined && !f.handler.endsWith(".reconcile"));
  const handlerEnv: Record<string, string | undefined> = { ...(deployedHandler?.environment ?? { FLOWHOOKS_DEDUPE_TABLE: "flowhooks-emulator" }) };
  const stackAlertOn = options.stackProps?.alerts?.on;
  if (options.alertOn) handlerEnv.FLOWHOOKS_ALERT_ON = options.alertOn.join(",");
  else if (!deployedHandler && stackAlertOn) handlerEnv.FLOWHOOKS_ALERT_ON = stackAlertOn.join(",");
  const executionTimes: { start?: Date; stop?: Date } = {};
  // The flow's transitions carry the execution's start and stop times, as the handler Lambda's alerts do.
  const recorder = new ChainRecorder((t) =>
    record(t.kind === "flow" ? { ...t, at: (t.newState.isRunning() ? executionTimes.start : executionTimes.stop) ?? t.at } : t, "handler-lambda"),
  );
  const logger = handlerLogger((level, message, fields) => {
    if (level === "error" && message.startsWith("A state handler of ")) recorder.threw(message.slice("A state handler of ".length, message.indexOf(" threw;")), fields.error);
    onEvent({ type: "log", level, message, fields });
  });
  const history = new HistoryRecorder();
  const sfn = {
    send: async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === "GetExecutionHistoryCommand") return { events: history.events };
      if (command.constructor.name === "DescribeExecutionCommand") return { executionArn, redriveCount: 0 };
      throw new Error(`The emulator's Step Functions stand-in does not serve ${command.constructor.name}.`);
    },
  };
  // The bundled handler Lambda code gets the emulator's parts through its documented hook (HANDLER_DEPS).
  const handlerDeps: HandlerDeps = {
    env: handlerEnv,
    store: new InMemoryTransitionStore({ now }),
    channels,
    documents,
    queue: handlerQueue,
    now,
    sfn: sfn as never,
    logger,
    runtime: "emulator",
    wrapFlow: (bundled, runtime) => recorder.wrap(bundled, runtime),
  };
  // Checked before any container starts: a secret with no local value would fail every function reading it.
  const stopServingSecrets = serveStackSecrets(functions, { slackWebhookUrl: options.slackWebhookUrl, slackVariables: slackSecretVariables(flow) });
  const regionEnv = { AWS_REGION: LOCAL_REGION, AWS_DEFAULT_REGION: LOCAL_REGION };
  const { handler, code: handlerCode } = await bundledEventsHandler(flow, functions, deployedHandler, regionEnv).catch((error: unknown) => {
    stopServingSecrets();
    throw error;
  });

  // The rule → queue → handler path: one record at a time, redelivered while the handler reports it failed.
  const queueArn = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${synthesized.stackName}-events`;
  const maxReceives = options.maxReceiveCount ?? 3;
  const deadLettered: EventBridgeEnvelope[] = [];
  let queue = Promise.resolve();
  const enqueue = (item: QueueItem, delayMs: number, early = false) => {
    if (delayMs <= 0) return void deliverItem(item);
    delayed.push({ dueAt: now().getTime() + delayMs, item, early });
  };
  // Delayed records whose time came (a real-time clock moves by itself; a virtual one when the run is idle).
  const releaseDue = () => {
    const t = now().getTime();
    for (const entry of delayed.filter((d) => d.dueAt <= t)) {
      delayed.splice(delayed.indexOf(entry), 1);
      deliverItem(entry.item);
    }
  };
  const ticker = setInterval(releaseDue, 50);
  ticker.unref();
  const deliverItem = (item: QueueItem) => {
    queue = queue.then(async () => {
      let lastError: unknown;
      while (item.receives < maxReceives) {
        item.receives++;
        const record = sqsRecord(item.body, queueArn, item.receives);
        try {
          const response = await handler({ Records: [record] });
          if (response.batchItemFailures.length === 0) return;
        } catch (error) {
          lastError = error;
        }
        const deferSeconds = deferrals.get(record.receiptHandle);
        if (deferSeconds !== undefined && item.receives < maxReceives) {
          // The handler asked SQS to hold the record (a busy destination): it comes back then, not now.
          deferrals.delete(record.receiptHandle);
          enqueue(item, deferSeconds * 1000);
          return;
        }
        await sleep(10 * item.receives);
      }
      const envelope = deadLetterEnvelope(item.body);
      deadLettered.push(envelope);
      onEvent({ type: "dead-letter", envelope, error: lastError });
    });
  };
  const deliver = (envelope: EventBridgeEnvelope) => deliverItem({ body: JSON.stringify(envelope), receives: 0 });
  /** Runs the queue until nothing is left, moving `clock` on to each delayed record's time. */
  const drain = async () => {
    for (;;) {
      // Records added while the queue ran (a flush scheduled at once) run before time moves on.
      for (let current = queue; ; current = queue) {
        await current;
        if (current === queue) break;
      }
      if (delayed.length === 0) return;
      // The execution has ended: a digest window need not run out (its ending flushed it); the flush
      // itself still keeps Slack's pace, deferring to its slot.
      const early = delayed.filter((d) => d.early);
      if (early.length > 0) {
        for (const entry of early) {
          delayed.splice(delayed.indexOf(entry), 1);
          deliverItem(entry.item);
        }
        continue;
      }
      const next = delayed.reduce((a, b) => (b.dueAt < a.dueAt ? b : a));
      const waitMs = next.dueAt - now().getTime();
      if (waitMs > 0) await clock.sleep(waitMs);
      releaseDue();
      if (delayed.includes(next)) {
        delayed.splice(delayed.indexOf(next), 1);
        deliverItem(next.item);
      }
    }
  };

  // Task functions: one in-process container per function.
  const [eventBridgeUrl, secretsManagerUrl] = await Promise.all([localEventBridge(), localSecretsManager()]);
  const lambdas = new Map<string, LocalLambda>();
  const byArn = new Map<string, SynthesizedFunction>(functions.map((f) => [f.arn, f]));
  const resultsDir = newResultsFolder();
  let abortExecution = () => {};
  const limits = new LimitWatch(() => abortExecution());
  const lambdaFor = (fn: SynthesizedFunction) => {
    let l = lambdas.get(fn.functionName);
    if (!l) {
      l = new LocalLambda(withResultsFolder(fn, resultsDir), { ...regionEnv, FLOWHOOKS_EVENT_BUS: fn.environment.FLOWHOOKS_EVENT_BUS ?? "flowhooks-emulator" });
      lambdas.set(fn.functionName, l);
    }
    return l;
  };
  const savedDeps = (globalThis as Record<symbol, unknown>)[HANDLER_DEPS];
  (globalThis as Record<symbol, unknown>)[HANDLER_DEPS] = handlerDeps;
  const restoreEnv = processEnv({
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridgeUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManagerUrl,
    AWS_REGION: process.env.AWS_REGION ?? LOCAL_REGION,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ? undefined : "emulator",
    AWS_SECRET_ACCESS_KEY: process.env.AWS_ACCESS_KEY_ID ? undefined : "emulator",
  });

  const killed = new Set<string>();
  const invocations: TaskInvocation[] = [];
  const retryCounts = new Map<string, number>();
  /** When each state entry began (its first attempt): `$$.State.EnteredTime` for all its attempts, and its history's TaskStateEntered time. */
  const enteredTimes = new Map<string, Date>();
  let deployedRetryWaitMs = 0;
  const stopInProcess = (options.eventDelivery ?? "in-process") === "in-process" ? deliverInProcess() : () => undefined;
  const unsubscribe = subscribe(executionArn, (entry: PutEventsEntry) => {
    let detail: { task?: string; attempt?: number; mapIndex?: number; oldState?: StateJSON; newState?: StateJSON; at?: string; observedAfterTheFact?: boolean };
    try {
      detail = JSON.parse(entry.Detail ?? "{}");
    } catch {
      return;
    }
    // Lambda stops a timed-out function; what its body does afterwards never reaches the bus
    // (a crash the collect step reports afterwards, marked observedAfterTheFact, is no part of it).
    if (!detail.observedAfterTheFact && killed.has(attemptKey(detail.task, detail.mapIndex, detail.attempt))) return;
    if (detail.oldState && detail.newState && detail.task) {
      const newState = State.fromJSON(detail.newState);
      const at = detail.at ? new Date(detail.at) : new Date();
      if (newState.isRetrying() && "startTime" in newState) {
        // `at` and `startTime` come from separate clock reads a millisecond or two apart; waits are whole seconds or jittered, so 10 ms is exact enough.
        deployedRetryWaitMs += Math.round(Math.max(0, (newState as { startTime: Date }).startTime.getTime() - at.getTime()) / 10) * 10;
      }
      const mapIndex = typeof detail.mapIndex === "number" ? { mapIndex: detail.mapIndex } : {};
      record({ kind: "task", name: detail.task, attempt: detail.attempt, ...mapIndex, oldState: State.fromJSON(detail.oldState), newState, at }, "task-lambda");
    }
    deliver(putEventsEnvelope(entry));
  });

  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  const parts = target.parts ?? new Map<string, PreparedDefinition>();
  // States run once per Map item, concurrently: their attempts are counted per item (its input), not per state.
  const iterated = new Set([prepared, ...parts.values()].flatMap((p) => [...(p.iteratedStates ?? [])]));
  const distributedMaps = new Map<string, DistributedMap>([prepared, ...parts.values()].flatMap((p) => [...(p.distributedMaps ?? [])]));
  // Each execution has its own limits (a part runs as a child execution): Task states to their execution's watch.
  const watchOf = new Map<string, LimitWatch>();
  const watchFor = (stateName: string) => watchOf.get(stateName) ?? limits;
  // A Distributed Map's children are executions of their own: their Task states check the limits of the child they run in.
  const distributedChildStates = new Map([...distributedMaps.values()].flatMap((m) => [...m.inline.taskStates.keys()].map((child) => [child, m.stateName] as const)));
  /** Each running child execution's watch, by `<map state>#<index>`. */
  const childWatches = new Map<string, LimitWatch>();
  const watchOfInvocation = (stateName: string, mapIndex: number | undefined) => {
    const map = distributedChildStates.get(stateName);
    return map === undefined ? watchFor(stateName) : (childWatches.get(`${map}#${mapIndex}`) ?? limits);
  };
  for (const [stateName, state] of [prepared, ...parts.values()].flatMap((p) => [...p.taskStates])) {
    if (options.fastRetries && Array.isArray(state.Retry) && state.Retry.length > 0) retryIntervalOverrides[stateName] = 0;
    const resource = String(state.Resource);
    handlers[stateName] = async (rawInput) => {
      // Limits are found in the execution's event log, which is read asynchronously: let it catch up,
      // so that no state runs after its execution went over a limit (AWS stops the execution there).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const over = distributedChildStates.has(stateName) ? undefined : watchFor(stateName).exceeded;
      if (over) throw Object.assign(new Error(over.cause), { name: over.error });
      const entry = iterated.has(stateName) ? `${stateName}\0${JSON.stringify(rawInput)}` : stateName;
      const retryCount = retryCounts.get(entry) ?? 0;
      retryCounts.set(entry, retryCount + 1);
      if (retryCount === 0) enteredTimes.set(entry, new Date());
      const enteredAt = enteredTimes.get(entry)!;
      const input = supplyStateContext(rawInput, { retryCount, enteredTime: enteredAt.toISOString() }, stateName) as Record<string, any>;
      if (resource === START_EXECUTION_SYNC) return runPart(stateName, input);
      if (resource === DISTRIBUTED_MAP_RESOURCE) return runDistributedMap(distributedMaps.get(stateName)!, input);
      if (resource === PUT_EVENTS) {
        const entries = (input.Entries ?? []) as PutEventsEntry[];
        for (const e of entries) deliver(putEventsEnvelope(e));
        return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
      }
      const arn = resource === LAMBDA_INVOKE ? String(input.FunctionName) : resource;
      const fn = byArn.get(arn) ?? functions.find((f) => f.functionName === arn);
      if (!fn) throw Object.assign(new Error(`Function not found: ${arn}`), { name: "Lambda.ResourceNotFoundException" });
      const payload = resource === LAMBDA_INVOKE ? input.Payload : input;
      const task = fn.environment.FLOWHOOKS_TASK ?? stateName;
      // A mapped task's child invocation names its item (lambdas/task/payload.ts `MapItem`).
      const mapIndex = typeof payload?.item?.index === "number" && iterated.has(stateName) ? (payload.item.index as number) : undefined;
      const watch = watchOfInvocation(stateName, mapIndex);
      if (watch.exceeded) throw Object.assign(new Error(watch.exceeded.cause), { name: watch.exceeded.error });
      // A Distributed Map's child is an execution of its own: its events are in its history, not this one's.
      const recorded = !distributedChildStates.has(stateName);
      // The entry's first attempt is recorded at the time its payload says the state was entered: recovery from history keys alerts by it.
      if (recorded) history.attemptStarted(entry, stateName, retryCount === 0, fn.arn, retryCount === 0 ? enteredAt : new Date(), mapIndex);
      watch.checkLambdaRequest(stateName, payload);
      const outcome = await lambdaFor(fn).invoke(payload);
      const base = { task, ...(mapIndex !== undefined ? { mapIndex } : {}), stateName, invocation: retryCount + 1, durationMs: outcome.durationMs };
      if (outcome.ok) watch.checkLambdaResponse(stateName, outcome.payload);
      if (outcome.ok) {
        invocations.push({ ...base, outcome: "returned" });
        const result = resource === LAMBDA_INVOKE ? { ExecutedVersion: "$LATEST", Payload: outcome.payload, StatusCode: 200 } : outcome.payload;
        if (recorded) history.attemptSucceeded(entry, result);
        return result;
      }
      if (outcome.timedOut) killed.add(attemptKey(task, mapIndex, retryCount + 1));
      invocations.push({ ...base, outcome: outcome.timedOut ? "timed-out" : "error", errorType: outcome.errorType });
      // Step Functions names the error by the function's errorType; the cause is Lambda's JSON error.
      const cause = JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage, trace: outcome.trace });
      if (recorded) history.attemptFailed(entry, outcome.errorType, cause);
      throw Object.assign(new Error(cause), { name: outcome.errorType });
    };
  }

  /** A part state of a split flow: runs the child state machine to its end, as `startExecution.sync:2` waits for it. */
  const runPart = async (stateName: string, input: Record<string, any>) => {
    const child = parts.get(String(input.StateMachineArn));
    if (!child) throw Object.assign(new Error(`State machine not found: ${input.StateMachineArn}`), { name: "StepFunctions.StateMachineDoesNotExistException" });
    const childArn = `${String(input.StateMachineArn).replace(":stateMachine:", ":execution:")}:${randomUUID()}`;
    const run = machineOf(child).run(input.Input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
      context: { Execution: { Id: childArn, Input: input.Input, Name: childArn.split(":").at(-1), StartTime: new Date().toISOString() }, StateMachine: { Id: input.StateMachineArn } } as never,
    });
    const previousAbort = abortExecution;
    abortExecution = () => {
      run.abort();
      previousAbort();
    };
    const childLimits = new LimitWatch(() => run.abort());
    for (const name of child.taskStates.keys()) watchOf.set(name, childLimits);
    const logs = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === "StateEntered") statesEntered.push(event.state.name);
        childLimits.onEvent(event);
      }
    })();
    // As Step Functions reports a failed child execution to the state that started it (catchable there).
    const failed = (error: string, cause: string) =>
      Object.assign(new Error(JSON.stringify({ ExecutionArn: childArn, Error: error, Cause: cause })), { name: "States.TaskFailed" });
    try {
      const output = await run.result;
      if (childLimits.exceeded) throw failed(childLimits.exceeded.error, childLimits.exceeded.cause);
      return { ExecutionArn: childArn, Output: output, Status: "SUCCEEDED" };
    } catch (e) {
      if (childLimits.exceeded) throw failed(childLimits.exceeded.error, childLimits.exceeded.cause);
      const err = e as Error & { cause?: Error };
      throw failed(err.cause?.name ?? err.name, err.cause?.message ?? err.message);
    } finally {
      await logs.catch(() => undefined);
      abortExecution = previousAbort;
      limits.largestStateBytes = Math.max(limits.largestStateBytes, childLimits.largestStateBytes);
    }
  };

  /**
   * A Distributed Map (rewritten into a Task state by prepareDefinition): reads its items from the
   * local results folder, runs each through the inline Map with the same processor as an execution
   * of its own (its history and limits its own, as a child execution's; neither the items nor the
   * results pass through the parent's state data), and writes what its ResultWriter would.
   */
  const runDistributedMap = async (map: DistributedMap, input: Record<string, any>) => {
    const items = await readMapItems(resultsDir, map.stateName, input.reader ?? {});
    options.write?.(distributedMapLine(map, items.length));
    const running = new Set<{ abort: () => void }>();
    const previousAbort = abortExecution;
    abortExecution = () => {
      for (const run of running) run.abort();
      previousAbort();
    };
    const runChild = async (index: number): Promise<ChildExecutionResult> => {
      const startDate = new Date();
      const run = machineOf(map.inline).run(input.input as never, {
        overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
        context: { ...executionContext(), FlowhooksEmulator: { Items: [items[index]], Index: index } } as never,
      });
      running.add(run);
      const watch = new LimitWatch(() => run.abort());
      const watchKey = `${map.stateName}#${index}`;
      childWatches.set(watchKey, watch);
      let childInput: unknown;
      const logs = (async () => {
        for await (const event of run.eventLogs) {
          // Events without an index are the one-item stand-in Map's own: not the child execution's.
          if ((event as { index?: number }).index === undefined) continue;
          if (event.type === "StateEntered") statesEntered.push(event.state.name);
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
        if (watch.exceeded) return ended({ status: "FAILED", error: watch.exceeded.error, cause: watch.exceeded.cause });
        const err = e as Error & { cause?: Error };
        return ended({ status: "FAILED", error: err.cause?.name ?? err.name, cause: err.cause?.message ?? err.message });
      } finally {
        running.delete(run);
        childWatches.delete(watchKey);
        limits.largestStateBytes = Math.max(limits.largestStateBytes, watch.largestStateBytes);
      }
    };
    try {
      const children = await inOrderOfFinishing(items.length, map.maxConcurrency || DISTRIBUTED_EMULATION_CONCURRENCY, runChild);
      const failed = children.filter((c) => c.status === "FAILED");
      const tolerated = Math.max(map.toleratedFailureCount, Math.floor((items.length * map.toleratedFailurePercentage) / 100));
      if (failed.length > tolerated) {
        const first = failed[0]!;
        throw Object.assign(
          new Error(`Distributed Map \`${map.stateName}\`: ${failed.length} of ${items.length} child executions failed (child ${first.index}: ${first.error}: ${first.cause}); the map run tolerates ${tolerated}.`),
          { name: TOLERATED_FAILURE_EXCEEDED },
        );
      }
      if (!map.writesResults) return children.sort((a, b) => a.index - b.index).map((c) => c.output);
      const run = { stateMachineArn: synthesized.stateMachineArn, stateName: map.stateName, id: randomUUID(), writer: input.writer };
      return await writeMapResults(resultsDir, run, children);
    } finally {
      abortExecution = previousAbort;
    }
  };

  const statesEntered: string[] = [];
  /** The execution's context object (`$$`), as its states see it. */
  const executionContext = () => ({
    Execution: { Id: executionArn, Input: parameters, Name: executionName, StartTime: startDate.toISOString(), RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/emulator` },
    StateMachine: { Id: synthesized.stateMachineArn, Name: stateMachineName },
  });
  let status: Exclude<EmulatedStatus, "RUNNING"> = "SUCCEEDED";
  let output: unknown;
  let error: string | undefined;
  let cause: string | undefined;
  let startDate = new Date();
  try {
    // Containers start before the execution, so cold starts do not count in the first task's time.
    await Promise.all(functions.filter((f) => f.assetDir && f.environment.FLOWHOOKS_TASK !== undefined).map((f) => lambdaFor(f).init()));
    // The notifiers' secrets, checked as the task functions will read them, before the execution starts.
    await preflightAsDeployed(flow, functions, regionEnv);
    startDate = new Date();
    executionTimes.start = startDate;
    history.executionStarted(parameters, startDate);
    const common = { executionArn, stateMachineArn: synthesized.stateMachineArn, name: executionName, startDate, input: parameters };
    deliver(statusChangeEnvelope({ ...common, status: "RUNNING" }));
    // An input over the limit never starts a state; the limit decides the ending below.
    const inputLimit = LimitWatch.checkExecutionInput(parameters);
    if (!inputLimit) {
      const machine = machineOf(prepared);
      const execution = machine.run(parameters as never, {
        overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
        context: executionContext() as never,
      });
      abortExecution = execution.abort;
      const logs = (async () => {
        for await (const event of execution.eventLogs) {
          if (event.type === "StateEntered") statesEntered.push(event.state.name);
          limits.onEvent(event);
        }
      })();
      try {
        output = await execution.result;
      } catch (e) {
        const err = e as Error & { cause?: Error };
        if (err.name === "ExecutionTimeoutError") {
          status = "TIMED_OUT";
          error = "States.Timeout";
        } else if (err.name === "ExecutionAbortedError") {
          status = "ABORTED";
        } else {
          status = "FAILED";
          error = err.cause?.name ?? err.name;
          cause = err.cause?.message ?? err.message;
        }
      }
      await logs.catch(() => undefined);
    }
    const limit = inputLimit ?? limits.exceeded;
    if (limit) {
      // Uncatchable, as in Step Functions: the execution fails whatever Catch fields say.
      status = "FAILED";
      ({ error, cause } = limit);
      output = undefined;
    }
    const stopDate = new Date();
    executionTimes.stop = stopDate;
    history.executionEnded(status, { output, error, cause }, stopDate);
    deliver(statusChangeEnvelope({ ...common, status, stopDate, output, error, cause }));
    await drain();
  } finally {
    clearInterval(ticker);
    unsubscribe();
    stopInProcess();
    stopServingSecrets();
    restoreEnv();
    (globalThis as Record<symbol, unknown>)[HANDLER_DEPS] = savedDeps;
  }

  transitions.sort(byTimeThenPhase);
  const flowState = transitions.filter((t) => t.kind === "flow").at(-1)?.newState;
  const shortened = Boolean(options.fastRetries) && Object.keys(retryIntervalOverrides).length > 0;
  return {
    executionArn,
    status,
    output,
    error,
    cause,
    flowState,
    transitions,
    statesEntered,
    invocations,
    alerts,
    retryWaits: { deployedMs: deployedRetryWaitMs, emulatedMs: shortened ? 0 : deployedRetryWaitMs, shortened },
    deadLettered,
    handlerCode,
    resultsDir,
    largestStateBytes: limits.largestStateBytes,
  };
}
