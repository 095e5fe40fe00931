/**
 * The versioned documents (lib/aws/documents.ts: digests, Slack thread heads, rate budgets) against
 * moto's DynamoDB, in the claims table as FlowAlerts deploys it; the same scenario against the fake
 * table must answer the same.
 */
import { expect, it } from "vitest";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDbDocumentStore, type DocumentStore } from "../../../lib/aws/documents";
import { updateDocument } from "../../../lib/notify/documents";
import { fakeTable } from "../../helpers/fake-dynamodb";
import { createClaimsTable, describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const WRITERS = 6;

interface Digest {
  alerts: string[];
}

/** Conditional writes by version, then WRITERS concurrent read-modify-write updates of one document. */
async function documentsScenario(store: () => DocumentStore): Promise<Record<string, unknown>> {
  const [a, b] = [store(), store()];
  const steps: Record<string, unknown> = {};
  steps["get before any write"] = await a.get("digest|e1");
  steps["create"] = await a.put<Digest>("digest|e1", { alerts: ["load failed"] }, undefined);
  steps["create again"] = await b.put<Digest>("digest|e1", { alerts: ["other"] }, undefined);
  steps["read"] = await b.get("digest|e1");
  steps["write at the version read"] = await b.put<Digest>("digest|e1", { alerts: ["load failed", "price retrying"] }, 1);
  steps["write at a stale version"] = await a.put<Digest>("digest|e1", { alerts: ["lost update"] }, 1);
  steps["read after writes"] = await a.get("digest|e1");
  await Promise.all(
    Array.from({ length: WRITERS }, (_, i) =>
      updateDocument<Digest>(store(), "digest|e2", (current) => ({ value: { alerts: [...(current?.alerts ?? []), `task ${i}`] }, result: undefined })),
    ),
  );
  const concurrent = await a.get<Digest>("digest|e2");
  steps["concurrent updates"] = { version: concurrent?.version, alerts: [...(concurrent?.value.alerts ?? [])].sort() };
  return steps;
}

const EXPECTED = {
  "get before any write": undefined,
  create: true,
  "create again": false,
  read: { value: { alerts: ["load failed"] }, version: 1 },
  "write at the version read": true,
  "write at a stale version": false,
  "read after writes": { value: { alerts: ["load failed", "price retrying"] }, version: 2 },
  "concurrent updates": { version: WRITERS, alerts: Array.from({ length: WRITERS }, (_, i) => `task ${i}`).sort() },
};

describeMoto("versioned documents against moto's DynamoDB", () => {
  const moto = useMoto({ executeStateMachines: false });
  const client = () => new DynamoDBClient(motoClientConfig(moto.current));

  it("a write succeeds only at the version read, and concurrent updates lose nothing", async () => {
    await createClaimsTable(moto.current, "docs-behaviour");
    const steps = await documentsScenario(() => new DynamoDbDocumentStore({ tableName: "docs-behaviour", client: client(), now: () => new Date(NOW) }));
    expect(steps).toEqual(EXPECTED);
  });

  it("the fake table answers as moto does", async () => {
    const fake = fakeTable();
    let fakeSteps: Record<string, unknown>;
    try {
      fakeSteps = await documentsScenario(() => new DynamoDbDocumentStore({ tableName: "docs-fake", client: fake.client(), now: () => new Date(NOW) }));
    } finally {
      fake.restore();
    }
    await createClaimsTable(moto.current, "docs-compared");
    const motoSteps = await documentsScenario(() => new DynamoDbDocumentStore({ tableName: "docs-compared", client: client(), now: () => new Date(NOW) }));
    expect(fakeSteps).toEqual(motoSteps);
  });

  it("a document carries its TTL in the table's TTL attribute, renewed on every write", async () => {
    await createClaimsTable(moto.current, "docs-ttl");
    let now = NOW;
    const store = new DynamoDbDocumentStore({ tableName: "docs-ttl", client: client(), ttlSeconds: 600, now: () => new Date(now) });
    await store.put("thread|e1", { ts: "1.2" }, undefined);
    now += 60_000;
    await store.put("thread|e1", { ts: "1.3" }, 1);
    const items = (await client().send(new ScanCommand({ TableName: "docs-ttl" }))).Items ?? [];
    expect(items.map((item) => item.expiresAt)).toEqual([{ N: String(now / 1000 + 600) }]);
  });
});
