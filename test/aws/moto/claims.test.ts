/**
 * The claims store (lib/aws/dedupe.ts) against moto's DynamoDB: real condition expressions, real
 * update expressions, on a table created as FlowAlerts deploys it. The same scenario runs against
 * test/helpers/fake-dynamodb.ts (kept for fault injection), and both must give the same answers and
 * leave the same items.
 */
import { expect, it } from "vitest";
import fc from "fast-check";
import { DescribeTimeToLiveCommand, DynamoDBClient, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { DynamoDbTransitionStore, flowFinalKey, type TransitionKey } from "../../../lib/aws/dedupe";
import { fakeTable } from "../../helpers/fake-dynamodb";
import { createClaimsTable, describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:e1";
const FAILED: TransitionKey = { executionArn: EXECUTION, object: "task:load", transition: "Running->Failed", attempt: 1 };
const RETRIED: TransitionKey = { executionArn: EXECUTION, object: "task:price", transition: "Running->Retrying", attempt: 2 };
const FINAL = flowFinalKey(EXECUTION, 0);
const START = Date.parse("2026-01-01T00:00:00Z");
const LEASE_SECONDS = 60;

/** What a call did: its value, or the name of the error it threw. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    const value = await call();
    return value instanceof Date ? value.toISOString() : value;
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

/**
 * Three handler containers (a, b, c) sharing one table under one clock: claims, a lease running
 * out and its claim taken over, owner-only release/handled/complete, handled claims and their
 * pending alert, lookups, the lease boundary and watermarks. Returns each step's outcome.
 */
async function claimsScenario(client: () => DynamoDBClient, tableName: string): Promise<Record<string, unknown>> {
  let now = START;
  const store = () => new DynamoDbTransitionStore({ tableName, client: client(), leaseSeconds: LEASE_SECONDS, ttlSeconds: 3600, now: () => new Date(now) });
  const [a, b, c] = [store(), store(), store()];
  const steps: Record<string, unknown> = {};
  const step = async (name: string, call: () => Promise<unknown>) => (steps[name] = await outcome(call));

  await step("a claims", () => a.claim(FAILED));
  await step("b claims while a's lease runs", () => b.claim(FAILED));
  await step("lookup under the lease", () => c.lookup(FAILED));
  now += LEASE_SECONDS * 1000;
  await step("lookup at the lease's last second", () => c.lookup(FAILED));
  await step("b claims at the lease's last second", () => b.claim(FAILED));
  now += 1000;
  await step("lookup after the lease", () => c.lookup(FAILED));
  await step("b takes over after the lease", () => b.claim(FAILED));
  await step("a marks handled after losing it", () => a.handled(FAILED, "stale"));
  await step("a completes after losing it", () => a.complete(FAILED));
  await step("a releases after losing it", () => a.release(FAILED));
  await step("lookup after a's release", () => c.lookup(FAILED));
  await step("b marks handled", () => b.handled(FAILED, "alert: load failed"));
  await step("lookup when handled", () => c.lookup(FAILED));
  await step("pending alert when handled", () => c.pendingAlert(FAILED));
  await step("c claims a handled transition", () => c.claim(FAILED));
  await step("c completes a handled transition", () => c.complete(FAILED));
  await step("lookup when done", () => a.lookup(FAILED));
  await step("pending alert when done", () => a.pendingAlert(FAILED));
  await step("a claims a done transition", () => a.claim(FAILED));
  now += 3600 * 1000;
  await step("a claims a done transition after its lease would have run out", () => a.claim(FAILED));

  await step("a claims the retry", () => a.claim(RETRIED));
  await step("b releases a's claim", () => b.release(RETRIED));
  await step("lookup after b's release", () => c.lookup(RETRIED));
  await step("a releases its claim", () => a.release(RETRIED));
  await step("lookup after a's release of its own claim", () => c.lookup(RETRIED));
  await step("b claims the released retry", () => b.claim(RETRIED));
  await step("b completes its claim", () => b.complete(RETRIED));
  await step("b releases a done claim", () => b.release(RETRIED));
  await step("lookup after releasing a done claim", () => c.lookup(RETRIED));

  await step("c completes a transition never claimed", () => c.complete(FINAL));
  await step("c marks handled a transition never claimed", () => c.handled(FINAL, "x"));
  await step("lookup of a transition never claimed", () => c.lookup(FINAL));
  await step("watermark before any", () => a.getWatermark("reconcile|sm"));
  await step("set watermark", () => a.setWatermark("reconcile|sm", new Date("2026-01-01T10:04:00Z")));
  await step("watermark read by another container", () => b.getWatermark("reconcile|sm"));
  return steps;
}

const EXPECTED = {
  "a claims": true,
  "b claims while a's lease runs": "ClaimInProgressError",
  "lookup under the lease": "in-progress",
  "lookup at the lease's last second": "in-progress",
  "b claims at the lease's last second": "ClaimInProgressError",
  "lookup after the lease": "none",
  "b takes over after the lease": true,
  "a marks handled after losing it": "ClaimLostError",
  "a completes after losing it": "ClaimLostError",
  "a releases after losing it": undefined,
  "lookup after a's release": "in-progress",
  "b marks handled": undefined,
  "lookup when handled": "handled",
  "pending alert when handled": "alert: load failed",
  "c claims a handled transition": false,
  "c completes a handled transition": undefined,
  "lookup when done": "done",
  "pending alert when done": undefined,
  "a claims a done transition": false,
  "a claims a done transition after its lease would have run out": false,
  "a claims the retry": true,
  "b releases a's claim": undefined,
  "lookup after b's release": "in-progress",
  "a releases its claim": undefined,
  "lookup after a's release of its own claim": "none",
  "b claims the released retry": true,
  "b completes its claim": undefined,
  "b releases a done claim": undefined,
  "lookup after releasing a done claim": "done",
  "c completes a transition never claimed": "ClaimLostError",
  "c marks handled a transition never claimed": "ClaimLostError",
  "lookup of a transition never claimed": "none",
  "watermark before any": undefined,
  "set watermark": undefined,
  "watermark read by another container": "2026-01-01T10:04:00.000Z",
};

/** Items as compared across tables: owner tokens are random per run, so only their presence counts. */
function normalise(items: Record<string, AttributeValue>[]): Record<string, AttributeValue>[] {
  return items
    .map((item) => (item.claimOwner ? { ...item, claimOwner: { S: "<owner>" } } : item))
    .sort((x, y) => String(x.pk?.S).localeCompare(String(y.pk?.S)));
}

type Op =
  | { kind: "claim" | "handled" | "complete" | "release" | "lookup" | "pendingAlert"; container: number; key: number }
  | { kind: "advance"; seconds: number };

const KEYS = [FAILED, RETRIED, FINAL];
/** Few keys and containers, and clock steps around the lease's end, so operations meet on one claim at its boundaries. */
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom("claim", "handled", "complete", "release", "lookup", "pendingAlert"), container: fc.nat(2), key: fc.nat(1) }) as fc.Arbitrary<Op> },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("advance" as const), seconds: fc.constantFrom(1, LEASE_SECONDS - 1, LEASE_SECONDS, LEASE_SECONDS + 1) }) },
);

/** Runs `ops` by three containers sharing one table; each step's outcome. */
async function runOps(ops: Op[], client: () => DynamoDBClient, tableName: string): Promise<unknown[]> {
  let now = START;
  const stores = [0, 1, 2].map(() => new DynamoDbTransitionStore({ tableName, client: client(), leaseSeconds: LEASE_SECONDS, ttlSeconds: 3600, now: () => new Date(now) }));
  const out: unknown[] = [];
  for (const o of ops) {
    if (o.kind === "advance") {
      now += o.seconds * 1000;
      continue;
    }
    const store = stores[o.container]!;
    const key = KEYS[o.key]!;
    out.push(await outcome(() => (o.kind === "handled" ? store.handled(key, `alert ${o.container}`) : store[o.kind](key))));
  }
  return out;
}

describeMoto("the claims store against moto's DynamoDB", () => {
  const moto = useMoto({ executeStateMachines: false });

  it("claims, leases, takeovers, owner-only writes, handled claims and watermarks behave as the store promises on a real table", async () => {
    await createClaimsTable(moto.current, "claims-behaviour");
    expect(await claimsScenario(() => new DynamoDBClient(motoClientConfig(moto.current)), "claims-behaviour")).toEqual(EXPECTED);
  });

  it("the fake table gives the same answers as moto and leaves the same items", async () => {
    const fake = fakeTable();
    let fakeSteps: Record<string, unknown>;
    let fakeItems: Record<string, AttributeValue>[];
    try {
      fakeSteps = await claimsScenario(() => fake.client(), "claims-fake");
      fakeItems = [...fake.items.values()];
    } finally {
      // The fake mocks every DynamoDBClient; moto's clients must reach moto.
      fake.restore();
    }
    await createClaimsTable(moto.current, "claims-compared");
    const client = () => new DynamoDBClient(motoClientConfig(moto.current));
    const motoSteps = await claimsScenario(client, "claims-compared");
    const motoItems = (await client().send(new ScanCommand({ TableName: "claims-compared", ConsistentRead: true }))).Items ?? [];
    expect(fakeSteps).toEqual(motoSteps);
    expect(normalise(fakeItems)).toEqual(normalise(motoItems));
  });

  it("any sequence of claims, leases running out, handled, complete, release and lookups answers the same on the fake as on moto", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const fake = fakeTable();
        let fakeOut: unknown[];
        try {
          fakeOut = await runOps(ops, () => fake.client(), "fake");
        } finally {
          fake.restore();
        }
        const table = `claims-property-${run++}`;
        await createClaimsTable(moto.current, table);
        expect(fakeOut).toEqual(await runOps(ops, () => new DynamoDBClient(motoClientConfig(moto.current)), table));
      }),
      { numRuns: 60 },
    );
  });

  it("every claim carries its TTL in the attribute the table expires items by", async () => {
    await createClaimsTable(moto.current, "claims-ttl");
    const client = new DynamoDBClient(motoClientConfig(moto.current));
    const store = new DynamoDbTransitionStore({ tableName: "claims-ttl", client, ttlSeconds: 3600, now: () => new Date(START) });
    await store.claim(FAILED);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: "claims-ttl" }));
    const [item] = (await client.send(new ScanCommand({ TableName: "claims-ttl" }))).Items ?? [];
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: "expiresAt", TimeToLiveStatus: "ENABLED" });
    expect(item?.expiresAt).toEqual({ N: String(START / 1000 + 3600) });
  });
});
