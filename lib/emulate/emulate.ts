/**
 * `emulate()`: runs what `cdk deploy` would ship, here. The flow's stack is synthesized with real
 * bundling; the state machine's definition from the template runs in aws-local-stepfunctions; each
 * Task state invokes the bundled task Lambda in-process; what would reach EventBridge (execution
 * status changes, task transition events) goes, as SQS records, to the handler Lambda's code, which
 * runs the flow's state-handler chains and sends alerts to the configured channels.
 */
import { randomUUID } from "node:crypto";
import { dirname, resolve } from "node:path";
import { systemClock, type Clock } from "../core/clock";
import { isFlow, type Flow } from "../core/flow";
import type { State } from "../core/states";
import type { FlowStateMachineProps } from "../cdk/flow-state-machine";
import { InMemoryDocumentStore } from "../aws/documents";
import type { LogFields } from "../aws/logger";
import type { Alert } from "../notify/alert";
import { UsageError } from "../cli/errors";
import { loadFlows, selectFlow } from "../cli/load";
import type { TimelineTransition } from "../cli/timeline";
import { emulatorChannels } from "./alert-channels";
import { findFlowStateMachines, selectConstruct, synthesizeApp, type FoundFlowStateMachine, type SynthesizeAppOptions } from "./app";
import { DISTRIBUTED_MAP_RESOURCE, prepareDefinition, type PreparedDefinition } from "./definition";
import type { EmulatedApprove, EmulationEngine, EmulationTarget, ExecutionOutcome } from "./engine";
import { putEventsEnvelope, statusChangeEnvelope, type EmulatedStatus, type EventBridgeEnvelope } from "./envelopes";
import { UnsupportedDefinitionError } from "./errors";
import { deployedAlertWindowSeconds, startHandlerLambda } from "./handler-lambda";
import { preflightAsDeployed } from "./preflight";
import { HandlerQueue } from "./handler-queue";
import { LambdaHost, REGION_ENV, type TaskInvocation } from "./lambda-host";
import { assertDefinitionWithinLimit } from "./limits";
import { LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TOKEN, LocalEngine, PUT_EVENTS, START_EXECUTION_SYNC } from "./local-engine";
import { newResultsFolder } from "./results";
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
} from "./synth";

export type { EmulationEngine, EmulationTarget } from "./engine";
export type { TaskInvocation } from "./lambda-host";

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
  /**
   * Answers each task that waits for approval (`triggers.manualOnly`), by name: `true` approves, a
   * string rejects with that reason. @default - none: such a task is rejected, the cause naming `--approve`
   */
  approve?: EmulatedApprove;
  /** Slack Incoming Webhook that receives the alerts. @default - FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL, else no Slack */
  slackWebhookUrl?: string;
  /** States that alert (as FLOWHOOKS_ALERT_ON). @default - the deployed handler's setting, else Failed, TimedOut, Retrying, Paused */
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
  /**
   * What interprets the definition: the default engine (aws-local-stepfunctions, in this process), or
   * another behind the same seam (`motoEngine()`: moto's Step Functions). An engine passed here is
   * left open for further runs; the caller closes it.
   * @default - the default engine
   */
  engine?: EmulationEngine;
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

/** Where a transition sits within one attempt: events of one attempt may carry the same millisecond and arrive in any order. */
function phase(t: TimelineTransition): number {
  if (t.kind === "flow") return t.newState.isRunning() ? 0 : 9;
  // A loop's next iteration starts from the Looped the previous one ended in.
  if (t.oldState.isPending() || t.oldState.isRetrying() || (t.oldState.isLooped() && t.newState.isRunning())) return 1;
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
  if (sameTask && (a.loop ?? 1) !== (b.loop ?? 1)) return (a.loop ?? 1) - (b.loop ?? 1);
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
  // An assembly the emulator synthesized earlier: its SDK link (beside cdk.out) is made again if what it pointed to is gone.
  if (options.assembly) linkSdk(dirname(resolve(options.assembly)));
  const synthesized = options.assembly
    ? readAssembly(resolve(options.assembly), EMULATED_STACK_ID, emulatedStackName(flow), undefined, { flowName: flow.name })
    : await synthesizeFlow({ flow, entry, exportName: options.exportName, props: options.stackProps, outdir: options.outdir, slackWebhookUrl: options.slackWebhookUrl });
  return { flow, entry, synthesized, ...prepareRunnable(synthesized) };
}

/** The definitions to run (the main one and a split flow's parts): within Step Functions' size limit, with no Task state the emulator cannot run. */
function prepareRunnable(synthesized: SynthesizedFlow): Pick<EmulationTarget, "prepared" | "parts" | "subFlows"> {
  assertDefinitionWithinLimit(synthesized.definitionString);
  const prepared = prepareDefinition(synthesized.definitionString);
  const parts = new Map<string, PreparedDefinition>();
  for (const [arn, text] of synthesized.parts ?? []) {
    assertDefinitionWithinLimit(text);
    parts.set(arn, prepareDefinition(text));
  }
  const subFlows = new Map<string, PreparedDefinition>();
  for (const [arn, text] of synthesized.subFlows ?? []) {
    assertDefinitionWithinLimit(text);
    subFlows.set(arn, prepareDefinition(text));
  }
  for (const [name, state] of [prepared, ...parts.values(), ...subFlows.values()].flatMap((p) => [...p.taskStates])) {
    const resource = String(state.Resource);
    if (
      resource !== LAMBDA_INVOKE &&
      resource !== LAMBDA_INVOKE_WAIT_FOR_TOKEN &&
      resource !== PUT_EVENTS &&
      resource !== START_EXECUTION_SYNC &&
      resource !== DISTRIBUTED_MAP_RESOURCE &&
      !resource.startsWith("arn:aws:lambda:")
    ) {
      throw new UnsupportedDefinitionError(
        `Task state \`${name}\` calls ${resource}; the emulator runs Lambda invocations (${LAMBDA_INVOKE}, ${LAMBDA_INVOKE_WAIT_FOR_TOKEN}), ${PUT_EVENTS} and ${START_EXECUTION_SYNC} only.`,
      );
    }
  }
  return { prepared, parts, ...(subFlows.size > 0 ? { subFlows } : {}) };
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
  const found = findFlowStateMachines(outdir);
  const construct = selectConstruct(found, options.construct);
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
    subFlowPaths: subFlowPaths(construct, found),
  });
  return { flow, entry: metadata.entry, synthesized, ...prepareRunnable(synthesized), construct };
}


/**
 * The paths of the FlowStateMachines `construct`'s flowRun tasks run, and theirs: the emulator runs
 * their definitions and functions as the sub-flows' executions. Only those in the same stack.
 */
function subFlowPaths(construct: FoundFlowStateMachine, found: readonly FoundFlowStateMachine[]): string[] {
  const paths = new Set<string>();
  const visit = (c: FoundFlowStateMachine) => {
    for (const path of Object.values(c.metadata.flowRuns ?? {})) {
      const sub = found.find((f) => f.path === path);
      if (!sub || paths.has(path) || sub.templateFile !== construct.templateFile || sub.outdir !== construct.outdir) continue;
      paths.add(path);
      visit(sub);
    }
  };
  visit(construct);
  return [...paths];
}

/** The ARN of an execution of the synthesized state machine. */
function executionArnOf(synthesized: SynthesizedFlow, executionName: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${synthesized.stateMachineArn.split(":").pop()!}:${executionName}`;
}

/** True when some Task state has a Retry field (its waits are what `fastRetries` shortens). */
function hasRetries(target: EmulationTarget): boolean {
  return [target.prepared, ...(target.parts?.values() ?? [])].some((p) => [...p.taskStates.values()].some((state) => Array.isArray(state.Retry) && state.Retry.length > 0));
}

/** Runs the synthesized flow once, end to end: the handler Lambda, its queue and channels, the Lambda host, and the engine. */
export async function emulate(options: EmulateOptions): Promise<EmulationResult> {
  if (!options.target && !options.entry) throw new TypeError("emulate() needs `entry` (the module that exports the flow) or a `target` from prepareEmulation().");
  const target = options.target ?? (await prepareEmulation(options as PrepareOptions));
  const { flow, synthesized } = target;
  const onEvent = options.onEvent ?? (() => undefined);
  const parameters = options.parameters ?? {};
  const executionName = options.executionName ?? randomUUID();
  const executionArn = executionArnOf(synthesized, executionName);
  const clock = options.clock ?? systemClock;

  const transitions: TimelineTransition[] = [];
  const record = (t: TimelineTransition, source: "task-lambda" | "handler-lambda") => {
    transitions.push(t);
    onEvent({ type: "transition", transition: t, source });
  };
  const alerts: EmulationResult["alerts"] = [];
  const queue = new HandlerQueue({
    queueArn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${synthesized.stackName}-events`,
    clock,
    maxReceiveCount: options.maxReceiveCount ?? 3,
    onDeadLetter: (envelope, error) => onEvent({ type: "dead-letter", envelope, error }),
  });
  const documents = new InMemoryDocumentStore();
  const channels = emulatorChannels({
    ...options,
    windowSeconds: options.alertWindowSeconds ?? deployedAlertWindowSeconds(synthesized),
    synthesized,
    flow,
    ownStack: !("construct" in target),
    documents,
    queue: queue.alertQueue,
    clock,
    onAlert: (channel, alert) => {
      alerts.push({ channel, alert });
      onEvent({ type: "alert", channel, alert });
    },
  });
  const functions = [...synthesized.functions.values()];
  const notEmulated = notEmulatedLine(functions);
  if (notEmulated) options.write?.(notEmulated);
  const engine = options.engine ?? new LocalEngine();
  const executionTimes: { start?: Date; stop?: Date } = {};
  const resultsDir = newResultsFolder();
  const handlerLambda = await startHandlerLambda({
    flow,
    synthesized,
    executionArn,
    resultsDir,
    channels,
    documents,
    queue: queue.alertQueue,
    clock,
    alertOn: options.alertOn,
    stackAlertOn: options.stackProps?.alerts?.on,
    slackWebhookUrl: options.slackWebhookUrl,
    history: () => engine.history(),
    executionTimes,
    onTransition: (t) => record(t, "handler-lambda"),
    onLog: (level, message, fields: LogFields) => onEvent({ type: "log", level, message, fields }),
  }).catch((error: unknown) => {
    queue.close();
    throw error;
  });
  queue.connect(handlerLambda.handler);
  const host = new LambdaHost({ functions, executionArn, resultsDir, eventDelivery: options.eventDelivery, onTransition: (t) => record(t, "task-lambda"), deliver: (e) => queue.deliver(e) });
  const common = (startDate: Date) => ({ executionArn, stateMachineArn: synthesized.stateMachineArn, name: executionName, startDate, input: parameters });
  let outcome: ExecutionOutcome;
  try {
    await host.start();
    await host.initTaskContainers();
    // The notifiers' secrets, checked as the task functions will read them, before the execution starts.
    await preflightAsDeployed(flow, functions, REGION_ENV);
    outcome = await engine.execute({
      target,
      parameters,
      executionName,
      executionArn,
      host,
      fastRetries: Boolean(options.fastRetries),
      resultsDir,
      approve: options.approve,
      write: options.write,
      started: (startDate) => {
        executionTimes.start = startDate;
        queue.deliver(statusChangeEnvelope({ ...common(startDate), status: "RUNNING" }));
      },
      putEvents: (entries) => entries.forEach((entry) => queue.deliver(putEventsEnvelope(entry))),
    });
    executionTimes.stop = outcome.stopDate;
    const { status, stopDate, output, error, cause } = outcome;
    queue.deliver(statusChangeEnvelope({ ...common(outcome.startDate), status, stopDate, output, error, cause }));
    await queue.drain();
  } finally {
    queue.close();
    host.close();
    handlerLambda.close();
  }
  return emulationResult(options, target, { executionArn, outcome, transitions, alerts, host, deadLettered: queue.deadLettered, handlerCode: handlerLambda.code, resultsDir });
}

/** What `emulate()` resolves to, from what its parts saw. */
function emulationResult(
  options: EmulateOptions,
  target: EmulationTarget,
  seen: {
    executionArn: string;
    outcome: ExecutionOutcome;
    transitions: TimelineTransition[];
    alerts: EmulationResult["alerts"];
    host: LambdaHost;
    deadLettered: EventBridgeEnvelope[];
    handlerCode: "bundled" | "source";
    resultsDir: string;
  },
): EmulationResult {
  const { outcome, transitions, host } = seen;
  transitions.sort(byTimeThenPhase);
  const shortened = Boolean(options.fastRetries) && hasRetries(target);
  const deployedMs = host.deployedRetryWaitMs;
  return {
    executionArn: seen.executionArn,
    status: outcome.status,
    output: outcome.output,
    error: outcome.error,
    cause: outcome.cause,
    flowState: transitions.filter((t) => t.kind === "flow").at(-1)?.newState,
    transitions,
    statesEntered: outcome.statesEntered,
    invocations: host.invocations,
    alerts: seen.alerts,
    retryWaits: { deployedMs, emulatedMs: shortened ? Math.min(deployedMs, outcome.retryWaitMs ?? 0) : deployedMs, shortened },
    deadLettered: seen.deadLettered,
    handlerCode: seen.handlerCode,
    resultsDir: seen.resultsDir,
    largestStateBytes: outcome.largestStateBytes,
  };
}
