/**
 * Secrets in Lambda (lib/aws/secrets.ts) against moto's Secrets Manager and SSM: read by the ARN
 * the construct passes (or a name), JSON secret strings returned as stored, a rotated value picked
 * up once the cache runs out, and every way of not finding one a SecretNotFoundError that names the
 * fix without the value.
 */
import { expect, it } from "vitest";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { createSecrets, secretArnVariable, secretParamVariable } from "../../../lib/aws/secrets";
import { SecretNotFoundError } from "../../../lib/core/errors";
import { describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

const WEBHOOK = "https://hooks.slack.com/services/T0/B0/very-secret-value";
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: "orders-handler" };

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: Error) => e,
  );
}

describeMoto("secrets against moto's Secrets Manager and SSM", () => {
  const moto = useMoto({ executeStateMachines: false });
  const secretsManager = () => new SecretsManagerClient(motoClientConfig(moto.current));
  const ssm = () => new SSMClient(motoClientConfig(moto.current));

  async function createSecret(name: string, value: { SecretString?: string; SecretBinary?: Uint8Array }): Promise<string> {
    return (await secretsManager().send(new CreateSecretCommand({ Name: name, ...value }))).ARN!;
  }

  /** The reader as a Lambda function has it: the construct set FLOWHOOKS_SECRET_ARN_<NAME>. */
  function reader(vars: Record<string, string>, now = () => 0) {
    return createSecrets({ env: { ...LAMBDA, ...vars }, secretsManager: secretsManager(), ssm: ssm(), now, ttlMs: 60_000 });
  }

  it("a secret is read by the ARN the construct passes, or by its name", async () => {
    const arn = await createSecret("flowhooks/slack-webhook", { SecretString: WEBHOOK });
    expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:flowhooks\/slack-webhook-\w{6}$/);
    expect(await reader({ [secretArnVariable("SLACK_WEBHOOK_URL")]: arn }).get("SLACK_WEBHOOK_URL")).toBe(WEBHOOK);
    expect(await reader({ [secretArnVariable("SLACK_WEBHOOK_URL")]: "flowhooks/slack-webhook" }).get("SLACK_WEBHOOK_URL")).toBe(WEBHOOK);
  });

  it("a JSON secret string is returned exactly as stored, for the caller to parse", async () => {
    const json = JSON.stringify({ token: "xoxb-1-2-3", channel: "C0123ABCDEF", note: "ünïcode ✓" }, null, 2);
    const arn = await createSecret("flowhooks/slack-app", { SecretString: json });
    const value = await reader({ [secretArnVariable("SLACK_BOT_TOKEN")]: arn }).get("SLACK_BOT_TOKEN");
    expect(value).toBe(json);
    expect(JSON.parse(value).token).toBe("xoxb-1-2-3");
  });

  it("a rotated value is picked up once the cache's time runs out, not before", async () => {
    const arn = await createSecret("flowhooks/rotated", { SecretString: "first" });
    let now = 0;
    const secrets = reader({ [secretArnVariable("API_KEY")]: arn }, () => now);
    expect(await secrets.get("API_KEY")).toBe("first");
    await secretsManager().send(new PutSecretValueCommand({ SecretId: arn, SecretString: "second" }));
    now = 59_000;
    expect(await secrets.get("API_KEY")).toBe("first");
    now = 61_000;
    expect(await secrets.get("API_KEY")).toBe("second");
  });

  it("a secret that does not exist is a SecretNotFoundError that says to create it or fix the ARN", async () => {
    const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:flowhooks/none-AbCdEf";
    const error = await errorOf(reader({ [secretArnVariable("SLACK_WEBHOOK_URL")]: arn }).get("SLACK_WEBHOOK_URL"));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toContain("(ResourceNotFoundException)");
    expect(error.message).toContain("it does not exist; create it or fix the ARN");
  });

  it("a secret holding only binary is a SecretNotFoundError asking for a string value", async () => {
    const arn = await createSecret("flowhooks/binary", { SecretBinary: new TextEncoder().encode(WEBHOOK) });
    const error = await errorOf(reader({ [secretArnVariable("SLACK_WEBHOOK_URL")]: arn }).get("SLACK_WEBHOOK_URL"));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toContain("store the value as a plain-text secret string");
    expect(error.message).not.toContain("very-secret-value");
  });

  it("an SSM SecureString parameter is read decrypted; a missing one says it does not exist", async () => {
    await ssm().send(new PutParameterCommand({ Name: "/flowhooks/slack-webhook", Value: WEBHOOK, Type: "SecureString" }));
    expect(await reader({ [secretParamVariable("SLACK_WEBHOOK_URL")]: "/flowhooks/slack-webhook" }).get("SLACK_WEBHOOK_URL")).toBe(WEBHOOK);
    const error = await errorOf(reader({ [secretParamVariable("SLACK_WEBHOOK_URL")]: "/flowhooks/none" }).get("SLACK_WEBHOOK_URL"));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toContain("(ParameterNotFound)");
    expect(error.message).toContain("it does not exist");
  });
});
