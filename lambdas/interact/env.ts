/** The interactivity function's configuration, read from the environment in this one place. */
import { FlowhooksError } from "../../lib/core/errors";

/** The interactivity function was deployed without a setting it needs. */
export class InteractConfigError extends FlowhooksError {}

export interface InteractEnv {
  /** FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: Secrets Manager secret holding the Slack app's signing secret. */
  signingSecretArn: string;
  /** FLOWHOOKS_SLACK_APPROVERS: comma-separated Slack user ids allowed to answer. */
  approvers: string[];
  /** FLOWHOOKS_STATE_MACHINE_ARN: the flow's state machine; only its executions are answered. */
  stateMachineArn: string;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) {
    throw new InteractConfigError(`Environment variable ${name} is not set; it must hold ${what}. The FlowStateMachine construct sets it (alerts.slack.approvals) — redeploy the stack.`);
  }
  return value;
}

export function readInteractEnv(env: Env): InteractEnv {
  const approvers = required(env, "FLOWHOOKS_SLACK_APPROVERS", "the Slack user ids allowed to answer (alerts.slack.approvals.approvers)")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    signingSecretArn: required(env, "FLOWHOOKS_SLACK_SIGNING_SECRET_ARN", "the ARN of the secret holding the Slack app's signing secret"),
    approvers,
    stateMachineArn: required(env, "FLOWHOOKS_STATE_MACHINE_ARN", "the flow's state machine ARN"),
  };
}

/** `arn:…:stateMachine:NAME` → `arn:…:execution:NAME:`, the prefix of its executions' ARNs. */
export function executionArnPrefix(stateMachineArn: string): string {
  const parts = stateMachineArn.split(":");
  if (parts.length < 7 || parts[5] !== "stateMachine") {
    throw new InteractConfigError(`FLOWHOOKS_STATE_MACHINE_ARN must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), got ${JSON.stringify(stateMachineArn)}.`);
  }
  return `${[...parts.slice(0, 5), "execution", parts[6]].join(":")}:`;
}
