/**
 * The Slack interactivity function (a Lambda function URL, `alerts.slack.approvals`): Approve and
 * Reject clicks on a Paused task's alert. Thin: decode the function URL event, hand it to
 * lib/aws/slack-interact.ts, return its answer. Configuration is read at the first request, not at
 * load, since every function of the flow's bundle loads this module.
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from "aws-lambda";
import type { Flow } from "../../lib/core/flow";
import type { Approvals } from "../../lib/aws/approvals";
import { createLogger, type Logger } from "../../lib/aws/logger";
import { createSecrets, secretArnVariable, type Secrets } from "../../lib/aws/secrets";
import { slackInteractionHandler, type InteractionResponse } from "../../lib/aws/slack-interact";
import { deployedApprovals } from "./approvals";
import { executionArnPrefix, readInteractEnv } from "./env";

export { InteractConfigError, readInteractEnv } from "./env";

/** What tests (and the emulator) inject. */
export interface InteractDeps {
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** @default - the deployed approval store (lambdas/interact/approvals.ts) */
  approvals?: Approvals;
  /** @default - Secrets Manager, through lib/aws/secrets.ts */
  secrets?: Pick<Secrets, "get">;
  /** @default Date.now */
  now?: () => number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  logger?: Logger;
}

const SIGNING_SECRET = "FLOWHOOKS_SLACK_SIGNING_SECRET";

/** The function URL handler; `_flow` keeps the bundle's one factory signature (lib/cdk/bundle.ts). */
export function createInteractHandler(_flow: Flow, deps: InteractDeps = {}): (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult> {
  let handle: ((request: { rawBody: string; headers: Record<string, string | undefined> }) => Promise<InteractionResponse>) | undefined;
  const setup = () => {
    const processEnv = deps.env ?? process.env;
    const env = readInteractEnv(processEnv);
    const secrets = deps.secrets ?? createSecrets({ env: { ...processEnv, [secretArnVariable(SIGNING_SECRET)]: env.signingSecretArn } });
    const logger = deps.logger ?? createLogger({ fields: { function: "slack-interact" } });
    // One store and its SDK clients per container (made on the first click that gets that far), not per click.
    let store: Promise<Approvals> | undefined;
    return slackInteractionHandler({
      signingSecret: () => secrets.get(SIGNING_SECRET),
      approvers: env.approvers,
      approvals: () => deps.approvals ?? (store ??= deployedApprovals(processEnv)),
      executionArnPrefix: executionArnPrefix(env.stateMachineArn),
      now: deps.now,
      fetch: deps.fetch,
      log: (level, message, fields) => logger[level](message, fields),
    });
  };
  return async (event) => {
    handle ??= setup();
    const rawBody = event.body === undefined ? "" : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    return handle({ rawBody, headers: event.headers ?? {} });
  };
}
