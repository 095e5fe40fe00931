/**
 * Secrets for notifiers and tasks: `secrets.get("SLACK_WEBHOOK_URL")`.
 *
 * Locally the value comes from the environment variable `FLOWHOOKS_SECRET_<NAME>`. In Lambda the
 * value never sits in the environment: the construct sets `FLOWHOOKS_SECRET_ARN_<NAME>` (a Secrets
 * Manager secret) or `FLOWHOOKS_SECRET_PARAM_<NAME>` (an SSM SecureString parameter) and the value
 * is fetched once and cached for a bounded time, so a rotated secret is picked up without a redeploy.
 * Values are never logged and never part of an error message.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { loadSecretsManager, loadSsm } from "./sdk";
import { SecretNotConfiguredError, SecretNotFoundError } from "../core/errors";
import { MIN_MASKED_LENGTH, registerSecretValue } from "../core/mask";
import type { Secrets } from "../notify/ports";

export type { Secrets } from "../notify/ports";

export interface SecretsOptions {
  /** Where configuration is read from. @default process.env (read on every call) */
  env?: Record<string, string | undefined>;
  /** How long a value fetched from AWS is reused, in milliseconds. @default 300000 (5 minutes) */
  ttlMs?: number;
  /** The clock for the cache, in epoch milliseconds (for tests). @default Date.now */
  now?: () => number;
  /** The Secrets Manager client (for tests). @default - one client per process, created on first use */
  secretsManager?: Pick<SecretsManagerClient, "send">;
  /** The SSM client (for tests). @default - one client per process, created on first use */
  ssm?: Pick<SSMClient, "send">;
}

/** `SLACK_WEBHOOK_URL` → `SLACK_WEBHOOK_URL`; `slack-webhook.url` → `SLACK_WEBHOOK_URL`. */
export function secretEnvSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

/** The environment variable that holds a secret's value locally. */
export function localSecretVariable(name: string): string {
  return `FLOWHOOKS_SECRET_${secretEnvSuffix(name)}`;
}

/** The environment variable that holds a secret's Secrets Manager ARN (or name) in Lambda. */
export function secretArnVariable(name: string): string {
  return `FLOWHOOKS_SECRET_ARN_${secretEnvSuffix(name)}`;
}

/** The environment variable that holds a secret's SSM parameter name in Lambda. */
export function secretParamVariable(name: string): string {
  return `FLOWHOOKS_SECRET_PARAM_${secretEnvSuffix(name)}`;
}

let sharedSecretsManager: SecretsManagerClient | undefined;
let sharedSsm: SSMClient | undefined;

const DEFAULT_TTL_MS = 5 * 60 * 1000;

/** A secrets reader; `secrets` is the one used by the notifiers. */
export function createSecrets(options: SecretsOptions = {}): Secrets {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new TypeError(`createSecrets: \`ttlMs\` must be a number of milliseconds ≥ 0, got ${String(ttlMs)}.`);
  }
  const now = options.now ?? Date.now;
  // Promises, not values, so concurrent alerts in one container make one AWS call.
  const cache = new Map<string, { value: Promise<string>; expiresAt: number }>();

  const env = () => options.env ?? process.env;

  async function fetchFromAws(name: string, vars: Record<string, string | undefined>): Promise<string> {
    const arn = vars[secretArnVariable(name)];
    const param = vars[secretParamVariable(name)];
    if (arn) {
      const { GetSecretValueCommand, SecretsManagerClient } = await loadSecretsManager();
      const client = options.secretsManager ?? (sharedSecretsManager ??= new SecretsManagerClient({}));
      const out = await client
        .send(new GetSecretValueCommand({ SecretId: arn }))
        .catch((error: unknown) => {
          throw awsReadError(name, "Secrets Manager secret", arn, "secretsmanager:GetSecretValue", error);
        });
      if (typeof out.SecretString !== "string" || out.SecretString === "") {
        throw new SecretNotFoundError(
          `Secret "${name}": the Secrets Manager secret ${arn} has no string value; store the value as a plain-text secret string.`,
        );
      }
      return out.SecretString;
    }
    if (param) {
      const { GetParameterCommand, SSMClient } = await loadSsm();
      const client = options.ssm ?? (sharedSsm ??= new SSMClient({}));
      const out = await client
        .send(new GetParameterCommand({ Name: param, WithDecryption: true }))
        .catch((error: unknown) => {
          throw awsReadError(name, "SSM parameter", param, "ssm:GetParameter (and kms:Decrypt)", error);
        });
      const value = out.Parameter?.Value;
      if (typeof value !== "string" || value === "") {
        throw new SecretNotFoundError(`Secret "${name}": the SSM parameter ${param} has no value; put the value in it.`);
      }
      return value;
    }
    throw new SecretNotConfiguredError(
      `Secret "${name}" is not configured for this Lambda function. Pass it to the FlowStateMachine construct ` +
        `(for the Slack webhook: alerts.slackWebhookSecret), or set ${secretArnVariable(name)} to a Secrets Manager ` +
        `secret ARN or ${secretParamVariable(name)} to an SSM SecureString parameter name on the function.`,
    );
  }

  return {
    async get(name: string): Promise<string> {
      if (typeof name !== "string" || name.trim() === "") {
        throw new TypeError(`secrets.get(name) needs a non-empty secret name such as "SLACK_WEBHOOK_URL".`);
      }
      const vars = env();
      if (!vars.AWS_LAMBDA_FUNCTION_NAME) {
        const value = vars[localSecretVariable(name)];
        if (value === undefined || value === "") {
          throw new SecretNotConfiguredError(
            `Secret "${name}" is not set. For local runs, set it in the environment: ` +
              `export ${localSecretVariable(name)}=…  (deployed, it comes from the FlowStateMachine construct's ` +
              `\`secrets: { ${/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name)}: secret }\`).`,
          );
        }
        registerSecretValue(checkMaskable(name, value, localSecretVariable(name)));
        return value;
      }
      const hit = cache.get(name);
      if (hit && hit.expiresAt > now()) return hit.value;
      const value = fetchFromAws(name, vars).then((v) => (registerSecretValue(checkMaskable(name, v, "the secret")), v));
      cache.set(name, { value, expiresAt: now() + ttlMs });
      // A failed fetch must not be cached: the next alert should try again.
      value.catch(() => {
        if (cache.get(name)?.value === value) cache.delete(name);
      });
      return value;
    },
    clear() {
      cache.clear();
    },
  };
}

/**
 * A value flowhooks can mask: at least MIN_MASKED_LENGTH characters once trimmed. A shorter one is
 * refused where it is read, since masking "ok" or "1" would garble every alert and log line, and
 * leaving it unmasked would break the promise that secret values never appear.
 */
function checkMaskable(name: string, value: string, where: string): string {
  if (value.trim().length < MIN_MASKED_LENGTH) {
    throw new SecretNotFoundError(
      `Secret "${name}" is ${value.trim().length} character${value.trim().length === 1 ? "" : "s"} long; flowhooks masks secret values in alerts, ` +
        `logs and errors and cannot mask one shorter than ${MIN_MASKED_LENGTH} characters. Store a longer value in ${where}.`,
    );
  }
  return value;
}

const ARN_PREFIX = "FLOWHOOKS_SECRET_ARN_";
const PARAM_PREFIX = "FLOWHOOKS_SECRET_PARAM_";
const LOCAL_PREFIX = "FLOWHOOKS_SECRET_";

/**
 * The names of every secret `env` gives this function: in Lambda the `FLOWHOOKS_SECRET_ARN_<NAME>`
 * and `FLOWHOOKS_SECRET_PARAM_<NAME>` variables the construct sets, locally the
 * `FLOWHOOKS_SECRET_<NAME>` values.
 */
export function configuredSecretNames(env: Record<string, string | undefined>): string[] {
  const names: string[] = [];
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  // Own keys, not `Object.keys`: that asks for each key's descriptor (in Lambda a native call each,
  // in the emulator a Proxy trap each) to check it is enumerable, and this runs on every task
  // invocation. Only a secret's variable is looked at further (process.env's keys are all enumerable).
  const keys = Reflect.ownKeys(env);
  // Indexed: a for-of allocates an iterator result per key in code that is not optimized yet.
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key !== "string" || !key.startsWith(LOCAL_PREFIX)) continue;
    if (!env[key] || !Object.prototype.propertyIsEnumerable.call(env, key)) continue;
    let name: string | undefined;
    if (inLambda) {
      if (key.startsWith(ARN_PREFIX) && key.length > ARN_PREFIX.length) name = key.slice(ARN_PREFIX.length);
      else if (key.startsWith(PARAM_PREFIX) && key.length > PARAM_PREFIX.length) name = key.slice(PARAM_PREFIX.length);
    } else if (!key.startsWith(ARN_PREFIX) && !key.startsWith(PARAM_PREFIX) && key.length > LOCAL_PREFIX.length) {
      name = key.slice(LOCAL_PREFIX.length);
    }
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names.sort();
}

/**
 * Reads every secret `env` gives this function, so each value is masked from now on, before the
 * function handles anything: a value may reach it inside an event or an execution history (another
 * function read it) before any code here asked for it. Values come from the reader's cache when
 * fresh. Throws one `SecretNotFoundError` naming every secret that could not be read and the fix.
 */
export async function loadConfiguredSecrets(reader: Pick<Secrets, "get">, env: Record<string, string | undefined>): Promise<void> {
  await loadSecrets(reader, configuredSecretNames(env));
}

/** `loadConfiguredSecrets` for names already listed (`configuredSecretNames`); nothing to wait for when there are none. */
export function loadSecrets(reader: Pick<Secrets, "get">, names: readonly string[]): Promise<void> | undefined {
  if (names.length === 0) return undefined;
  let reads: Promise<PromiseSettledResult<string>[]>;
  try {
    reads = Promise.allSettled(names.map((name) => reader.get(name)));
  } catch (error) {
    // A reader that throws rather than rejects: the same rejection an async caller would see.
    return Promise.reject(error);
  }
  return reads.then((results) => {
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (failures.length > 0) {
      throw new SecretNotFoundError(
        `Could not read ${failures.length} of the ${names.length} secrets this function is given, so their values could not be masked: ${failures.join(" ")}`,
      );
    }
  });
}

function awsReadError(name: string, what: string, id: string, permission: string, error: unknown): SecretNotFoundError {
  const code = error instanceof Error ? error.name : "Error";
  const hint =
    code === "ResourceNotFoundException" || code === "ParameterNotFound"
      ? `it does not exist; create it or fix the ARN/name passed to the construct`
      : code.includes("AccessDenied")
        ? `the function's role lacks ${permission}`
        : `the call failed (${error instanceof Error ? error.message : String(error)})`;
  return new SecretNotFoundError(`Secret "${name}": could not read the ${what} ${id} (${code}): ${hint}.`);
}

/** The process-wide secrets reader (5-minute cache in Lambda; the environment locally). */
export const secrets: Secrets = createSecrets();
