/** The task Lambda's environment, read in one place. */
import { FlowhooksError } from "../../lib/core/errors";

export class MissingEnvironmentError extends FlowhooksError {}

/** The value of `name`, or an error naming the variable (the construct sets it on every task function). */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new MissingEnvironmentError(
      `Environment variable ${name} is not set; task functions get it from FlowStateMachine, so deploy with the construct ` +
        `or set ${name} yourself.`,
    );
  }
  return value;
}

export interface TaskEnvironment {
  /** The task this function runs (`FLOWHOOKS_TASK`). */
  taskName: string;
  /** The EventBridge bus for task transitions (`FLOWHOOKS_EVENT_BUS`); unset means none are sent. */
  eventBus?: string;
  /** The AWS region (`AWS_REGION`, set by Lambda). */
  region?: string;
  /** The bucket results above the threshold go to (`FLOWHOOKS_RESULTS_BUCKET`, set by FlowStateMachine). */
  resultsBucket?: string;
  /** The folder results go to instead (`FLOWHOOKS_RESULTS_DIR`, set by the emulator). */
  resultsDir?: string;
  /** Results larger than this many bytes are stored (`FLOWHOOKS_RESULT_THRESHOLD_BYTES`). */
  resultThresholdBytes?: number;
}

export function readTaskEnvironment(env: NodeJS.ProcessEnv = process.env): TaskEnvironment {
  return {
    taskName: requireEnv("FLOWHOOKS_TASK", env),
    eventBus: env.FLOWHOOKS_EVENT_BUS || undefined,
    region: env.AWS_REGION || undefined,
    resultsBucket: env.FLOWHOOKS_RESULTS_BUCKET || undefined,
    resultsDir: env.FLOWHOOKS_RESULTS_DIR || undefined,
    resultThresholdBytes: thresholdBytes(env.FLOWHOOKS_RESULT_THRESHOLD_BYTES),
  };
}

function thresholdBytes(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new MissingEnvironmentError(`FLOWHOOKS_RESULT_THRESHOLD_BYTES is ${JSON.stringify(value)}; set it to a whole number of bytes (FlowStateMachine's resultThresholdBytes).`);
  }
  return n;
}
