/**
 * A GetSecretValue-compatible endpoint on 127.0.0.1: emulated functions read the secrets the stack
 * gives them (FlowStateMachine `secrets`, `alerts.slackWebhookSecret`) by ARN with the real Secrets
 * Manager client, as deployed (AWS_ENDPOINT_URL_SECRETS_MANAGER points here); the values come from
 * the local variables `flowhooks run` reads (`FLOWHOOKS_SECRET_<NAME>`). One endpoint per process,
 * so warm containers whose clients were created in an earlier emulation keep reaching it.
 */
import { SecretNotFoundError } from "../core/errors";
import { localSecretVariable, secretArnVariable } from "../aws/secrets";
import { startLocalService } from "./local-service";
import { SLACK_ALERTS_ARN } from "./stack-channels";
import type { SynthesizedFunction } from "./synth";

let server: Promise<string> | undefined;
/** Secret values by ARN, of the emulations running now. */
const served = new Map<string, string>();

const ARN_PREFIX = secretArnVariable("");

/** The endpoint's URL, starting it on first use. */
export function localSecretsManager(): Promise<string> {
  server ??= startLocalService("GetSecretValue", (request) => {
    const id = String(request.SecretId ?? "");
    const value = served.get(id);
    if (value === undefined) {
      return { status: 400, body: { __type: "ResourceNotFoundException", message: `The flowhooks emulator has no value for the secret ${id}.` } };
    }
    return { status: 200, body: { ARN: id, Name: id.split(":").pop(), SecretString: value, VersionId: "emulator", VersionStages: ["AWSCURRENT"], CreatedDate: 0 } };
  });
  return server;
}

/** One secret the stack's functions read, and the local variable its emulated value comes from. */
export interface StackSecret {
  /** The secret's ARN as the functions get it (placeholders resolved). */
  arn: string;
  /** The local variable holding its value, e.g. FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL. */
  variable: string;
  /** Where the stack names it: `secrets.<NAME>` or `alerts.slackWebhookSecret`. */
  prop: string;
  /**
   * True for `alerts.slackWebhookSecret`: the emulator gives the handler its own alert channels
   * (Slack with a webhook URL, else the console), so the built-in secret is served when set, never needed.
   */
  optional: boolean;
}

/** Every secret the functions of the stack read by ARN. */
export function stackSecrets(functions: Iterable<SynthesizedFunction>): StackSecret[] {
  const byArn = new Map<string, StackSecret>();
  for (const fn of functions) {
    for (const [key, arn] of Object.entries(fn.environment)) {
      if (key.startsWith(ARN_PREFIX) && key.length > ARN_PREFIX.length) {
        const suffix = key.slice(ARN_PREFIX.length);
        byArn.set(arn, { arn, variable: localSecretVariable(suffix), prop: `secrets.${suffix}`, optional: false });
      } else if (key === SLACK_ALERTS_ARN && !byArn.has(arn)) {
        byArn.set(arn, { arn, variable: localSecretVariable("SLACK_WEBHOOK_URL"), prop: "alerts.slackWebhookSecret", optional: true });
      }
    }
  }
  return [...byArn.values()];
}

/**
 * Serves the stack's secrets from local values until the returned function is called. Refuses,
 * before anything runs, a secret with no local value: every function reading it would fail.
 */
export function serveStackSecrets(
  functions: Iterable<SynthesizedFunction>,
  options: {
    /** Serves every Slack secret of the stack (`slackVariables`), over their local variables. @default - none */
    slackWebhookUrl?: string;
    /** The local variables of the stack's Slack webhook secrets. @default - FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL */
    slackVariables?: readonly string[];
    /** Where the local values are read. @default process.env */
    env?: Record<string, string | undefined>;
  } = {},
): () => void {
  const env = options.env ?? process.env;
  const secrets = stackSecrets(functions);
  const slackVariable = localSecretVariable("SLACK_WEBHOOK_URL");
  const slackVariables = new Set(options.slackVariables ?? [slackVariable]);
  const valueOf = (s: StackSecret) => (slackVariables.has(s.variable) && options.slackWebhookUrl) || env[s.variable] || undefined;
  const missing = secrets.filter((s) => !s.optional && !valueOf(s));
  if (missing.length > 0) {
    const lines = missing.map((s) => `export ${s.variable}=…   (FlowStateMachine ${s.prop}, ${s.arn})`);
    throw new SecretNotFoundError(
      `The stack gives its functions ${missing.length === 1 ? "a secret" : `${missing.length} secrets`} with no local value; the emulator serves each ` +
        `from a local variable instead of Secrets Manager. Set ${missing.length === 1 ? "it" : "them"} before emulating:\n  ${lines.join("\n  ")}` +
        (missing.some((s) => slackVariables.has(s.variable)) ? `\n(or pass --slack-webhook-url for ${missing.filter((s) => slackVariables.has(s.variable)).map((s) => s.variable).join(", ")})` : ""),
    );
  }
  const present = secrets.filter((s) => valueOf(s));
  for (const s of present) served.set(s.arn, valueOf(s)!);
  return () => {
    for (const s of present) served.delete(s.arn);
  };
}
