/** moto for tests: one line to skip without it (fail with CI set), a server per suite on a free port. */
import { afterAll, afterEach, beforeAll } from "vitest";
import { MOTO_INSTALL, motoCommand, startMoto, type MotoServer, type StartMotoOptions } from "../../lib/emulate/moto/server";
import { describeWithTool } from "./external-tool";

export const motoInstalled = motoCommand() !== undefined;

/** `describe` for suites that need moto's server. */
export const describeMoto = describeWithTool("moto's server (moto_server)", motoInstalled, MOTO_INSTALL);

/** Starts moto before the suite's tests and stops it after; read `.current` inside tests. */
export function useMoto(options: StartMotoOptions = {}): { current: MotoServer } {
  const holder = {} as { current: MotoServer };
  beforeAll(async () => {
    holder.current = await startMoto(options);
  }, 60_000);
  afterAll(async () => {
    await holder.current?.stop();
  });
  return holder;
}

/** Credentials and region for SDK clients pointed at moto (never the host's). */
export function motoClientConfig(moto: MotoServer) {
  return {
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
}

/**
 * The claims table as lib/cdk/flow-alerts.ts deploys it: partition key `pk` (S), on-demand, TTL on
 * `expiresAt` (test/cdk/flow-alerts.test.ts pins these template properties; synthesizing here would
 * cost each moto suite seconds).
 */
export async function createClaimsTable(moto: MotoServer, tableName: string): Promise<void> {
  const { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } = await import("@aws-sdk/client-dynamodb");
  const client = new DynamoDBClient(motoClientConfig(moto));
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true } }));
  client.destroy();
}

/** What moto recorded (`GET /moto-api/data.json`): its backends' models, e.g. `data.sns.Topic`. */
export async function motoData(moto: MotoServer): Promise<Record<string, Record<string, unknown[]>>> {
  const response = await fetch(`${moto.endpoint}/moto-api/data.json`);
  if (!response.ok) throw new Error(`moto answered ${response.status} to GET /moto-api/data.json`);
  return (await response.json()) as Record<string, Record<string, unknown[]>>;
}

const AWS_ENV_KEYS = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SNS", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] as const;

/** Tests that point the SDK's default clients at moto through the environment get it back as it was after each test. */
export function restoreAwsEnvAfterEach(): void {
  const saved = Object.fromEntries(AWS_ENV_KEYS.map((k) => [k, process.env[k]]));
  afterEach(() => {
    for (const k of AWS_ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}
