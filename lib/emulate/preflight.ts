/**
 * The check `flow.run()` makes before a run (every notifier's secret: set and valid), made as the
 * deployed task functions would make it: inside a container with a task function's environment, so
 * each secret is read by ARN from the Secrets Manager stand-in, and a secret the stack does not give
 * is missing here as it would be deployed (a `whenMissing` notifier then checks its fallback).
 */
import { secrets } from "../aws/secrets";
import type { Flow } from "../core/flow";
import { SecretNotFoundError } from "../core/errors";
import { checkPreflight } from "../core/runner";
import { UsageError } from "../cli/errors";
import { containerEnv, runInContainer } from "./container-env";
import { lambdaRuntimeEnv } from "./lambda";
import type { SynthesizedFunction } from "./synth";

/** Resolves when the flow's notifiers can deliver as deployed; else rejects with one error naming the fix. */
export async function preflightAsDeployed(flow: Flow, functions: readonly SynthesizedFunction[], extraEnv: Record<string, string> = {}): Promise<void> {
  const taskFunction = functions.find((f) => f.environment.FLOWHOOKS_TASK !== undefined);
  if (!taskFunction) return;
  const env = containerEnv({ ...lambdaRuntimeEnv(taskFunction), ...extraEnv, ...taskFunction.environment });
  // Values cached by name from another emulation (another stand-in value) must not answer this check.
  secrets.clear();
  try {
    await runInContainer(env, () => checkPreflight(flow));
  } catch (error) {
    if (error instanceof SecretNotFoundError || error instanceof UsageError) throw error;
    // An invalid value (a webhook that is not Slack's) is input to fix before emulating: exit 2.
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  } finally {
    secrets.clear();
  }
}
