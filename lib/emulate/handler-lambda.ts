/**
 * The handler Lambda of one emulation: the bundled code `cdk deploy` ships, with the deployed
 * function's environment, given the emulator's parts (the channels, the queue, an in-memory table, a
 * Step Functions stand-in reading the engine's history) through its documented hook (HANDLER_DEPS).
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { Clock } from "../core/clock";
import type { Flow } from "../core/flow";
import { InMemoryTransitionStore } from "../aws/dedupe";
import type { DocumentStore } from "../aws/documents";
import type { LogFields } from "../aws/logger";
import type { AlertQueue } from "../aws/queue";
import type { AlertChannel } from "../notify/alert";
import type { TimelineTransition } from "../cli/timeline";
import { createEventsHandler, HANDLER_DEPS, type HandlerDeps } from "../../lambdas/handler/index";
import { ChainRecorder, handlerLogger } from "./chain-recorder";
import { LocalLambda } from "./lambda";
import { serveStackSecrets } from "./secrets-manager";
import { slackSecretVariables } from "./stack-channels";
import { REGION_ENV } from "./lambda-host";
import type { SynthesizedFlow, SynthesizedFunction } from "./synth";

function numberOrUndefined(value: string | undefined): number | undefined {
  return value !== undefined && Number(value) >= 0 ? Number(value) : undefined;
}

/** The deployed handler function (the events handler, not the reconciler that shares its code and environment). */
export function deployedHandlerOf(synthesized: SynthesizedFlow): SynthesizedFunction | undefined {
  return [...synthesized.functions.values()].find((f) => f.environment.FLOWHOOKS_DEDUPE_TABLE !== undefined && !f.handler.endsWith(".reconcile"));
}

/** The deployed handler's alert window, where the template sets one. */
export function deployedAlertWindowSeconds(synthesized: SynthesizedFlow): number | undefined {
  return numberOrUndefined(deployedHandlerOf(synthesized)?.environment.FLOWHOOKS_ALERT_WINDOW_SECONDS);
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

export interface HandlerLambdaOptions {
  flow: Flow;
  synthesized: SynthesizedFlow;
  executionArn: string;
  channels: AlertChannel[];
  documents: DocumentStore;
  queue: AlertQueue;
  clock: Clock;
  /** States that alert (FLOWHOOKS_ALERT_ON). @default - the deployed handler's setting */
  alertOn?: string[];
  /** The stack props' `alerts.on`, used when the template has no handler function. @default - none */
  stackAlertOn?: readonly string[];
  /** The run's Slack webhook, served as the stack's secret. @default - none */
  slackWebhookUrl?: string;
  /** The folder standing in for the results bucket (the task functions' too). @default - the handler reads no results */
  resultsDir?: string;
  /** The execution's history, as `GetExecutionHistory` returns it (the engine's). */
  history: () => Promise<HistoryEvent[]>;
  /** The execution's start and stop times: the flow's transitions carry them, as the handler Lambda's alerts do. */
  executionTimes: { start?: Date; stop?: Date };
  onTransition: (t: TimelineTransition) => void;
  onLog: (level: "debug" | "info" | "warn" | "error", message: string, fields: LogFields) => void;
}

export interface HandlerLambda {
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Where its code came from: the bundle `cdk deploy` ships, or (older bundles without an `events` export) source. */
  code: "bundled" | "source";
  /** Stops serving the stack's secrets and takes the emulator's parts back from the hook. */
  close(): void;
}

/** The handler Lambda's environment, with the deployed configuration where the template has one. */
function handlerEnvironment(options: HandlerLambdaOptions, deployedHandler: SynthesizedFunction | undefined): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...(deployedHandler?.environment ?? { FLOWHOOKS_DEDUPE_TABLE: "flowhooks-emulator" }) };
  if (options.alertOn) env.FLOWHOOKS_ALERT_ON = options.alertOn.join(",");
  else if (!deployedHandler && options.stackAlertOn) env.FLOWHOOKS_ALERT_ON = options.stackAlertOn.join(",");
  // The results bucket is the task functions' local folder here (lib/emulate/results.ts): never a call to S3.
  if (env.FLOWHOOKS_RESULTS_BUCKET !== undefined) {
    delete env.FLOWHOOKS_RESULTS_BUCKET;
    if (options.resultsDir) env.FLOWHOOKS_RESULTS_DIR = options.resultsDir;
  }
  return env;
}

const ownFunctionsOf = new WeakMap<SynthesizedFlow, SynthesizedFunction[]>();

/**
 * The flow's own functions (the ones its definition invokes), else all: a stack may also hold the
 * flows its flowRun tasks run. Found once per synthesis: searching the definition for each function
 * took ~1 ms per emulation at 100 tasks.
 */
function ownFunctions(synthesized: SynthesizedFlow): SynthesizedFunction[] {
  let own = ownFunctionsOf.get(synthesized);
  if (!own) {
    const functions = [...synthesized.functions.values()];
    own = functions.filter((f) => synthesized.definitionString.includes(`:function:${f.functionName}"`));
    if (own.length === 0) own = functions;
    ownFunctionsOf.set(synthesized, own);
  }
  return own;
}

/** Loads the handler Lambda and hands it the emulator's parts; `close()` undoes it. */
export async function startHandlerLambda(options: HandlerLambdaOptions): Promise<HandlerLambda> {
  const functions = [...options.synthesized.functions.values()];
  const deployedHandler = deployedHandlerOf(options.synthesized);
  const { executionTimes } = options;
  const recorder = new ChainRecorder((t) =>
    options.onTransition(t.kind === "flow" ? { ...t, at: (t.newState.isRunning() ? executionTimes.start : executionTimes.stop) ?? t.at } : t),
  );
  const logger = handlerLogger((level, message, fields) => {
    if (level === "error" && message.startsWith("A state handler of ")) recorder.threw(message.slice("A state handler of ".length, message.indexOf(" threw;")), fields.error);
    options.onLog(level, message, fields);
  });
  const sfn = {
    send: async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === "GetExecutionHistoryCommand") return { events: await options.history() };
      if (command.constructor.name === "DescribeExecutionCommand") return { executionArn: options.executionArn, redriveCount: 0 };
      throw new Error(`The emulator's Step Functions stand-in does not serve ${command.constructor.name}.`);
    },
  };
  const now = () => options.clock.now();
  const handlerDeps: HandlerDeps = {
    env: handlerEnvironment(options, deployedHandler),
    store: new InMemoryTransitionStore({ now }),
    channels: options.channels,
    documents: options.documents,
    queue: options.queue,
    now,
    sfn: sfn as never,
    logger,
    runtime: "emulator",
    wrapFlow: (bundled, runtime) => recorder.wrap(bundled, runtime),
  };
  // Checked before any container starts: a secret with no local value would fail every function reading it.
  const stopServingSecrets = serveStackSecrets(functions, { slackWebhookUrl: options.slackWebhookUrl, slackVariables: slackSecretVariables(options.flow) });
  const { handler, code } = await bundledEventsHandler(options.flow, ownFunctions(options.synthesized), deployedHandler, REGION_ENV).catch((error: unknown) => {
    stopServingSecrets();
    throw error;
  });
  const slot = globalThis as Record<symbol, unknown>;
  const savedDeps = slot[HANDLER_DEPS];
  slot[HANDLER_DEPS] = handlerDeps;
  return {
    handler,
    code,
    close() {
      stopServingSecrets();
      slot[HANDLER_DEPS] = savedDeps;
    },
  };
}
