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
}

export function readTaskEnvironment(env: NodeJS.ProcessEnv = process.env): TaskEnvironment {
  return {
    taskName: requireEnv("FLOWHOOKS_TASK", env),
    eventBus: env.FLOWHOOKS_EVENT_BUS || undefined,
    region: env.AWS_REGION || undefined,
  };
}
