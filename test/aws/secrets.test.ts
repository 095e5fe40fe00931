import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { configuredSecretNames, createSecrets, loadConfiguredSecrets, localSecretVariable } from "../../lib/aws/secrets";
import { forgetSecretValues, maskSecrets } from "../../lib/core/mask";
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
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: VALUE, FLOWHOOKS_SECRET_MY_API_KEY: "key-1" } });
    expect(await store.get("SLACK_WEBHOOK_URL")).toBe(VALUE);
    expect(await store.get("my-api.key")).toBe("key-1");
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
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: "value-1" }).resolves({ SecretString: "value-2" });
    let now = 1_000_000;
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_HOOK: SECRET_ARN },
      secretsManager: new SecretsManagerClient({ region: "eu-west-1" }),
      now: () => now,
    });
    expect(await Promise.all([store.get("HOOK"), store.get("HOOK")])).toEqual(["value-1", "value-1"]);
    now += 5 * 60 * 1000 - 1;
    expect(await store.get("HOOK")).toBe("value-1");
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 1;
    expect(await store.get("HOOK")).toBe("value-2");
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("a failed fetch is not cached", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("throttled"), { name: "ThrottlingException" }))
      .resolves({ SecretString: "value" });
    const store = createSecrets({
      env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_HOOK: SECRET_ARN },
      secretsManager: new SecretsManagerClient({ region: "eu-west-1" }),
    });
    await expect(store.get("HOOK")).rejects.toThrow(/ThrottlingException/);
    expect(await store.get("HOOK")).toBe("value");
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

describe("values shorter than 4 characters are refused where they are read", () => {
  it("locally, naming the variable to change, and nothing is masked with it", async () => {
    forgetSecretValues();
    const error = await errorOf(createSecrets({ env: { FLOWHOOKS_SECRET_PIN: " ab " } }).get("PIN"));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toBe(
      'Secret "PIN" is 2 characters long; flowhooks masks secret values in alerts, logs and errors and cannot mask one shorter than 4 characters. Store a longer value in FLOWHOOKS_SECRET_PIN.',
    );
    expect(maskSecrets("ab cd")).toBe("ab cd");
  });

  it("in Lambda, and the refused value is not cached (a longer one stored meanwhile is read next time)", async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: "abc" }).resolves({ SecretString: "abcd-1234" });
    const store = createSecrets({ env: { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_HOOK: SECRET_ARN }, secretsManager: new SecretsManagerClient({ region: "eu-west-1" }) });
    await expect(store.get("HOOK")).rejects.toThrow(/Secret "HOOK" is 3 characters long; .* Store a longer value in the secret\./);
    expect(await store.get("HOOK")).toBe("abcd-1234");
  });
});

describe("every secret a function is given is read before it handles anything", () => {
  it("names come from the ARN and parameter variables in Lambda, from the value variables locally", () => {
    const env = { FLOWHOOKS_SECRET_ARN_DB: "arn:1", FLOWHOOKS_SECRET_PARAM_API_KEY: "/p", FLOWHOOKS_SECRET_LOCAL_ONE: "value", FLOWHOOKS_SECRET_ARN_EMPTY: "" };
    expect(configuredSecretNames({ ...lambdaEnv, ...env })).toEqual(["API_KEY", "DB"]);
    expect(configuredSecretNames(env)).toEqual(["LOCAL_ONE"]);
  });

  it("after loading, a value no code asked for is masked; a secret that cannot be read is named with its fix", async () => {
    forgetSecretValues();
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: "db-pass-9c1e" });
    secretsManager.on(GetSecretValueCommand, { SecretId: `${SECRET_ARN}-gone` }).rejects(Object.assign(new Error("gone"), { name: "ResourceNotFoundException" }));
    const env = { ...lambdaEnv, FLOWHOOKS_SECRET_ARN_DB: SECRET_ARN };
    const client = new SecretsManagerClient({ region: "eu-west-1" });
    expect(maskSecrets("pw=db-pass-9c1e")).toBe("pw=db-pass-9c1e");
    await loadConfiguredSecrets(createSecrets({ env, secretsManager: client }), env);
    expect(maskSecrets("pw=db-pass-9c1e")).toBe("pw=[redacted]");
    const broken = { ...env, FLOWHOOKS_SECRET_ARN_OLD: `${SECRET_ARN}-gone` };
    const error = await errorOf(loadConfiguredSecrets(createSecrets({ env: broken, secretsManager: client }), broken));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toMatch(/^Could not read 1 of the 2 secrets this function is given, so their values could not be masked: Secret "OLD": .* it does not exist; create it or fix the ARN\/name passed to the construct\.$/);
  });
});
