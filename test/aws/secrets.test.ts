import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { createSecrets, localSecretVariable } from "../../lib/aws/secrets";
import { SecretNotFoundError } from "../../lib/core/errors";

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf";
const VALUE = "https://hooks.slack.com/services/T0/B0/very-secret-value";
const lambdaEnv = { AWS_LAMBDA_FUNCTION_NAME: "orders-handler" };

const secretsManager = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
afterEach(() => {
  secretsManager.reset();
  ssm.reset();
});

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: Error) => e,
  );
}

describe("secrets on a local run", () => {
  it("come from FLOWHOOKS_SECRET_<NAME>, upper-cased with non-alphanumerics as _", async () => {
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: VALUE, FLOWHOOKS_SECRET_MY_API_KEY: "k" } });
    expect(await store.get("SLACK_WEBHOOK_URL")).toBe(VALUE);
    expect(await store.get("my-api.key")).toBe("k");
    expect(localSecretVariable("slack webhook")).toBe("FLOWHOOKS_SECRET_SLACK_WEBHOOK");
  });

  it("a missing one says which variable to export", async () => {
    const error = await errorOf(createSecrets({ env: {} }).get("SLACK_WEBHOOK_URL"));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    // A secret configured nowhere is the subclass `whenMissing` falls back on.
    expect(error.name).toBe("SecretNotConfiguredError");
    expect(error.message).toBe(
      'Secret "SLACK_WEBHOOK_URL" is not set. For local runs, set it in the environment: ' +
        "export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…  (deployed, it comes from the FlowStateMachine construct's `secrets: { SLACK_WEBHOOK_URL: secret }`).",
    );
  });

  it("an empty variable counts as missing", async () => {
    await expect(createSecrets({ env: { FLOWHOOKS_SECRET_X: "" } }).get("X")).rejects.toThrow(/export FLOWHOOKS_SECRET_X=/);
  });
});

describe("secrets in Lambda", () => {
  it("come from Secrets Manager by the ARN the construct sets, never from a plain variable", async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: VALUE });
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL: SECRET_ARN, FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "ignored" },
      secretsManager: new SecretsManagerClient({ region: "eu-west-1" }),
    });
    expect(await store.get("SLACK_WEBHOOK_URL")).toBe(VALUE);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("come from an SSM SecureString parameter, decrypted", async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: VALUE } });
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_PARAM_SLACK_WEBHOOK_URL: "/flowhooks/slack" },
      ssm: new SSMClient({ region: "eu-west-1" }),
    });
    expect(await store.get("SLACK_WEBHOOK_URL")).toBe(VALUE);
    expect(ssm.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: "/flowhooks/slack", WithDecryption: true });
  });

  it("are cached for the TTL (default 5 minutes) and fetched again after it", async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: "v1" }).resolves({ SecretString: "v2" });
    let now = 1_000_000;
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_HOOK: SECRET_ARN },
      secretsManager: new SecretsManagerClient({ region: "eu-west-1" }),
      now: () => now,
    });
    expect(await Promise.all([store.get("HOOK"), store.get("HOOK")])).toEqual(["v1", "v1"]);
    now += 5 * 60 * 1000 - 1;
    expect(await store.get("HOOK")).toBe("v1");
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 1;
    expect(await store.get("HOOK")).toBe("v2");
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("a failed fetch is not cached", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("throttled"), { name: "ThrottlingException" }))
      .resolves({ SecretString: "v" });
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_HOOK: SECRET_ARN },
      secretsManager: new SecretsManagerClient({ region: "eu-west-1" }),
    });
    await expect(store.get("HOOK")).rejects.toThrow(/ThrottlingException/);
    expect(await store.get("HOOK")).toBe("v");
  });

  it("an unconfigured secret names the construct option and the variables", async () => {
    const error = await errorOf(createSecrets({ env: lambdaEnv }).get("SLACK_WEBHOOK_URL"));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toContain("alerts.slackWebhookSecret");
    expect(error.message).toContain("FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL");
    expect(error.message).toContain("FLOWHOOKS_SECRET_PARAM_SLACK_WEBHOOK_URL");
  });

  it("a deleted secret or a missing permission says what to fix", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: "ResourceNotFoundException" }))
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_HOOK: SECRET_ARN },
      secretsManager: new SecretsManagerClient({ region: "eu-west-1" }),
    });
    const missing = await errorOf(store.get("HOOK"));
    expect(missing).toBeInstanceOf(SecretNotFoundError);
    expect(missing.message).toBe(
      `Secret "HOOK": could not read the Secrets Manager secret ${SECRET_ARN} (ResourceNotFoundException): it does not exist; create it or fix the ARN/name passed to the construct.`,
    );
    const denied = await errorOf(store.get("HOOK"));
    expect(denied.message).toContain("the function's role lacks secretsmanager:GetSecretValue");
  });

  it("an SSM parameter that does not exist", async () => {
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_PARAM_HOOK: "/x" },
      ssm: new SSMClient({ region: "eu-west-1" }),
    });
    await expect(store.get("HOOK")).rejects.toThrow('Secret "HOOK": could not read the SSM parameter /x (ParameterNotFound)');
  });
});
