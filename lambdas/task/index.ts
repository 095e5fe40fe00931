/**
 * The task Lambda: every task function of a flow runs this code (one bundle per flow) and picks its
 * task from `FLOWHOOKS_TASK`. Thin: parse, call `runTask`, return.
 */
import type { Context } from "aws-lambda";
import type { Clock } from "../../lib/core/clock";
import { FlowDefinitionError } from "../../lib/core/errors";
import type { Flow } from "../../lib/core/flow";
import { eventBridgeEmitter, type EmitTaskEvent } from "./emit";
import { readTaskEnvironment, type TaskEnvironment } from "./env";
import type { MapPrepareOutput, MapPreparePayload, TaskResultOutput } from "./payload";
import { runTask, type TaskFunctionOutput } from "./run";
import { approvalStoreFromEnv, resultStoreFromEnv } from "../../lib/aws/results";
import type { ApprovalStore } from "../../lib/aws/approval-store";
import type { ResultStore } from "../../lib/core/results";
import { maskError, maskSecrets } from "../../lib/core/mask";
// lib/aws/index.ts, not secrets.ts: loading it gives the notifiers their AWS adapters (lib/notify/ports.ts).
import { configuredSecretNames, createSecrets, loadSecrets, secrets as processSecrets, type Secrets } from "../../lib/aws/index";

export { runTask, parseTaskPayload, TaskPayloadError, TaskRetryingError, MAX_TASK_OUTPUT_BYTES, type TaskFunctionOutput } from "./run";
export {
  INLINE_MAX_ITEMS,
  INLINE_MAX_BYTES,
  INLINE_MAX_HISTORY_EVENTS,
  HISTORY_EVENTS_PER_INLINE_CHILD,
  HISTORY_EVENTS_PER_CHILD_RETRY,
  CHILD_OUTPUT_ENVELOPE_BYTES,
  MAP_CHILD_MESSAGE_BYTES,
  MAX_RESULT_REF_BYTES,
  childOutputMaxBytes,
  boundChildMessage,
  inlineMaxItems,
  inlineMapBytes,
} from "./map";
export { eventBridgeEmitter, type EmitTaskEvent } from "./emit";
export * from "./payload";

export interface TaskHandlerOptions {
  /** Sends task transitions. @default - PutEvents to `FLOWHOOKS_EVENT_BUS` when set, else none */
  emit?: EmitTaskEvent;
  /** @default systemClock */
  clock?: Clock;
  /** Randomness for FULL jitter. @default Math.random */
  random?: () => number;
  /** The environment to read `FLOWHOOKS_TASK` and friends from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where large results go. @default - the S3 bucket in FLOWHOOKS_RESULTS_BUCKET (or folder in FLOWHOOKS_RESULTS_DIR), else none */
  results?: ResultStore;
  /** Where a Paused task keeps its task token. @default - the results bucket (SSE-KMS), else `results` */
  approvals?: ApprovalStore;
  /** Reads the secrets the function is given, before each invocation (cached). @default - the `secrets` tasks use, or one over `env` when it is given */
  secrets?: Pick<Secrets, "get">;
}

/** The task Lambda's handler: a task's output, or for a mapped task's prepare step the children's plan. */
export interface TaskHandler {
  (event: MapPreparePayload, context?: Context): Promise<MapPrepareOutput>;
  (event: unknown, context?: Context): Promise<TaskResultOutput>;
}

/** The Lambda handler for the tasks of `flow`. */
export function createTaskHandler(flow: Flow, options: TaskHandlerOptions = {}): TaskHandler {
  let emit = options.emit;
  let emitResolved = emit !== undefined;
  let results = options.results;
  let resultsResolved = results !== undefined;
  let approvals = options.approvals ?? (results as ApprovalStore | undefined);
  const reader = options.secrets ?? (options.env ? createSecrets({ env: options.env }) : processSecrets);
  const invoke = (event: unknown, env: TaskEnvironment): Promise<TaskFunctionOutput> => {
    if (!emitResolved) {
      emit = env.eventBus ? eventBridgeEmitter(env.eventBus, undefined, { clock: options.clock }) : undefined;
      emitResolved = true;
    }
    if (!resultsResolved) {
      results = resultStoreFromEnv(env);
      approvals = options.approvals ?? approvalStoreFromEnv(env);
      resultsResolved = true;
    }
    // Nothing this function throws (its error becomes a history cause and a Lambda log line) carries a secret.
    return runTask(event, {
      flow,
      taskName: env.taskName,
      region: env.region,
      clock: options.clock,
      random: options.random,
      emit,
      results,
      resultThresholdBytes: env.resultThresholdBytes,
      approvals,
    }).catch(throwMasked);
  };
  // Not an async function: with no secret to read first, the invocation is runTask's promise itself.
  return ((event: unknown) => {
    try {
      const env = readTaskEnvironment(options.env);
      const reading = knowSecrets(reader, options.env ?? process.env);
      return reading ? reading.then(() => invoke(event, env)) : invoke(event, env);
    } catch (error) {
      return Promise.reject(error);
    }
  }) as TaskHandler;
}

function throwMasked(error: unknown): never {
  throw maskError(error);
}

/**
 * Reads every secret the function is given before the task runs, so a value another function read
 * (quoted in an upstream result or an error) is masked here too, before any cut of the event text.
 * A secret that cannot be read does not stop the task (it fails at its own `secrets.get` if it needs
 * it); the handler, which masks every alert again, refuses to alert until it can read it.
 */
function knowSecrets(reader: Pick<Secrets, "get">, env: Record<string, string | undefined>): Promise<void> | undefined {
  // Nothing to wait for (no secrets configured, the usual case): no promise at all.
  return loadSecrets(reader, configuredSecretNames(env))?.catch(logUnreadSecrets);
}

function logUnreadSecrets(error: unknown): void {
  console.error(JSON.stringify({ level: "ERROR", message: "Could not read every secret this function is given; their values are masked once read.", error: maskSecrets(String(error)) }));
}

function looksLikeFlow(value: unknown): value is Flow {
  return typeof value === "object" && value !== null && typeof (value as Flow).graph === "function" && typeof (value as Flow).name === "string";
}

/**
 * The flow a bundled module exports: `exportName` if given, else the one export that is a flow
 * named `flowName`. Duck-typed, because the module may hold its own copy of flowhooks.
 */
export function selectFlow(module: Record<string, unknown>, flowName: string, exportName?: string): Flow {
  if (exportName !== undefined) {
    const value = module[exportName];
    if (!looksLikeFlow(value)) {
      throw new FlowDefinitionError(`The bundled module's export \`${exportName}\` is not a Flow; set exportName to the export that holds flow \`${flowName}\`.`);
    }
    return value;
  }
  const matches = Object.entries(module).filter(([, v]) => looksLikeFlow(v) && v.name === flowName);
  const unique = new Set(matches.map(([, v]) => v));
  if (unique.size !== 1) {
    throw new FlowDefinitionError(
      unique.size === 0
        ? `The bundled module exports no flow named \`${flowName}\`; export it (export const myFlow = new Flow(...)) or set exportName.`
        : `The bundled module exports several flows named \`${flowName}\` (${matches.map(([k]) => k).join(", ")}); set exportName.`,
    );
  }
  return matches[0]![1] as Flow;
}
