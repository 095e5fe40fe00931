import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  ClaimInProgressError,
  ClaimLostError,
  DynamoDbTransitionStore,
  InMemoryTransitionStore,
  transitionKeyId,
  type TransitionStore,
  DEFAULT_CLAIM_LEASE_SECONDS,
} from "../../lib/aws/dedupe";
import { fakeTable } from "../helpers/fake-dynamodb";

const key = { executionArn: "arn:aws:states:us-east-1:123456789012:execution:orders-flow:e1", object: "flow", transition: "final", redriveCount: 0 };
const ddb = mockClient(DynamoDBClient);
afterEach(() => ddb.reset());

function store() {
  return new DynamoDbTransitionStore({
    tableName: "orders-transitions",
    client: new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    now: () => new Date("2026-01-01T00:00:00Z"),
    ttlSeconds: 3600,
  });
}

describe("DynamoDB transition store", () => {
  it("claims with a conditional PutItem (new, or an expired lease) that carries a TTL", async () => {
    ddb.on(PutItemCommand).resolves({});
    expect(await store().claim(key)).toBe(true);
    const input = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    const nowSeconds = Date.parse("2026-01-01T00:00:00Z") / 1000;
    expect(input).toMatchObject({
      TableName: "orders-transitions",
      ConditionExpression: "attribute_not_exists(pk) OR (claimStatus = :inProgress AND leaseUntil < :now)",
      ExpressionAttributeValues: { ":inProgress": { S: "IN_PROGRESS" }, ":now": { N: String(nowSeconds) } },
      Item: { pk: { S: transitionKeyId(key) }, claimStatus: { S: "IN_PROGRESS" }, leaseUntil: { N: String(nowSeconds + DEFAULT_CLAIM_LEASE_SECONDS) }, expiresAt: { N: String(nowSeconds + 3600) } },
    });
  });

  it("a ConditionalCheckFailedException on a completed claim means a duplicate", async () => {
    ddb.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {}, Item: { pk: { S: "x" }, claimStatus: { S: "COMPLETED" } } }),
    );
    expect(await store().claim(key)).toBe(false);
  });

  it("a ConditionalCheckFailedException on a claim still in progress asks for a retry", async () => {
    ddb.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {}, Item: { claimStatus: { S: "IN_PROGRESS" }, leaseUntil: { N: "1767225900" } } }),
    );
    await expect(store().claim(key)).rejects.toThrow(ClaimInProgressError);
  });

  it("complete marks the claim done", async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store().complete(key);
    expect(ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input).toMatchObject({
      Key: { pk: { S: transitionKeyId(key) } },
      UpdateExpression: "SET claimStatus = :done REMOVE leaseUntil, pendingAlert",
    });
  });

  it("any other DynamoDB error propagates, so the record is retried rather than alerted twice or lost", async () => {
    ddb.on(PutItemCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ProvisionedThroughputExceededException" }));
    await expect(store().claim(key)).rejects.toThrow("Rate exceeded");
  });

  it("release deletes the claim; lookup reads it consistently and treats an expired lease as no claim", async () => {
    ddb.on(DeleteItemCommand).resolves({});
    await store().release(key);
    expect(ddb.commandCalls(DeleteItemCommand)[0]!.args[0].input.Key).toEqual({ pk: { S: transitionKeyId(key) } });
    const nowSeconds = Date.parse("2026-01-01T00:00:00Z") / 1000;
    ddb.on(GetItemCommand).resolvesOnce({ Item: { pk: { S: "x" }, claimStatus: { S: "COMPLETED" } } })
      .resolvesOnce({ Item: { pk: { S: "x" }, claimStatus: { S: "IN_PROGRESS" }, leaseUntil: { N: String(nowSeconds + 10) } } })
      .resolvesOnce({ Item: { pk: { S: "x" }, claimStatus: { S: "IN_PROGRESS" }, leaseUntil: { N: String(nowSeconds - 10) } } })
      .resolvesOnce({});
    expect(await store().lookup(key)).toBe("done");
    expect(await store().lookup(key)).toBe("in-progress");
    expect(await store().lookup(key)).toBe("none");
    expect(await store().lookup(key)).toBe("none");
    expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input.ConsistentRead).toBe(true);
  });

  it("keeps the reconciler's watermark in the same table", async () => {
    ddb.on(PutItemCommand).resolves({});
    await store().setWatermark("reconcile|sm", new Date("2026-01-01T00:05:00Z"));
    const item = ddb.commandCalls(PutItemCommand)[0]!.args[0].input.Item!;
    expect(item).toEqual({ pk: { S: "watermark|reconcile|sm" }, at: { S: "2026-01-01T00:05:00.000Z" } });
    ddb.on(GetItemCommand).resolves({ Item: item });
    expect(await store().getWatermark("reconcile|sm")).toEqual(new Date("2026-01-01T00:05:00Z"));
  });
});

describe("in-memory transition store", () => {
  it("claims once, and again after a release", async () => {
    const s = new InMemoryTransitionStore();
    expect(await s.claim(key)).toBe(true);
    await s.complete(key);
    expect(await s.claim({ ...key })).toBe(false);
    expect(await s.claim({ ...key, redriveCount: 1 })).toBe(true);
    await s.release({ ...key, redriveCount: 1 });
    expect(await s.claim({ ...key, redriveCount: 1 })).toBe(true);
  });

  it("a claim whose owner crashed blocks retries until its lease runs out, then is taken over", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const s = new InMemoryTransitionStore({ leaseSeconds: 60, now: () => now });
    expect(await s.claim(key)).toBe(true); // the owner dies here, never completing or releasing
    await expect(s.claim(key)).rejects.toThrow(/being processed by another invocation/);
    now = new Date("2026-01-01T00:01:01Z");
    expect(await s.claim(key)).toBe(true);
  });
});

describe("claims belong to their owner (both stores)", () => {
  /** Two containers sharing one table, whose clock the test moves. */
  function containers(kind: "memory" | "dynamodb") {
    let now = new Date("2026-01-01T00:00:00Z");
    const clock = () => now;
    let a: TransitionStore, b: TransitionStore, done = () => {};
    if (kind === "memory") {
      const first = new InMemoryTransitionStore({ leaseSeconds: 90, now: clock });
      a = first;
      b = new InMemoryTransitionStore({ leaseSeconds: 90, now: clock, sharedWith: first });
    } else {
      ddb.restore();
      const table = fakeTable();
      a = new DynamoDbTransitionStore({ tableName: "t", client: table.client(), leaseSeconds: 90, now: clock });
      b = new DynamoDbTransitionStore({ tableName: "t", client: table.client(), leaseSeconds: 90, now: clock });
      done = table.restore;
    }
    return { a, b, done, advance: (s: number) => (now = new Date(now.getTime() + s * 1000)) };
  }

  for (const kind of ["memory", "dynamodb"] as const) {
    it(`${kind}: an owner whose lease ran out can neither release nor complete the claim another took over`, async () => {
      const { a, b, done, advance } = containers(kind);
      try {
        expect(await a.claim(key)).toBe(true);
        advance(91);
        expect(await b.claim(key)).toBe(true); // b takes the claim over
        await a.release(key); // a's late release must not free b's claim for a third sender
        await expect(a.claim(key)).rejects.toThrow(ClaimInProgressError);
        await expect(a.complete(key)).rejects.toThrow(ClaimLostError);
        expect(await b.lookup(key)).toBe("in-progress");
        await b.complete(key);
        expect(await a.lookup(key)).toBe("done");
      } finally {
        done();
      }
    });

    it(`${kind}: a handled claim keeps its pending alert until completed, and is no claim for anyone else`, async () => {
      const { a, b, done } = containers(kind);
      try {
        expect(await a.claim(key)).toBe(true);
        await a.handled(key, '{"alert":1}');
        expect(await b.claim(key)).toBe(false);
        expect(await b.lookup(key)).toBe("handled");
        expect(await b.pendingAlert(key)).toBe('{"alert":1}');
        await b.complete(key);
        expect(await a.pendingAlert(key)).toBeUndefined();
        expect(await a.lookup(key)).toBe("done");
      } finally {
        done();
      }
    });
  }

  it("dynamodb: a condition that failed without returning the item is asked again, not taken for a duplicate", async () => {
    ddb.restore();
    const table = fakeTable();
    try {
      const s = new DynamoDbTransitionStore({ tableName: "t", client: table.client() });
      table.faults.conditionWithoutItem = 1;
      expect(await s.claim(key)).toBe(true);
      table.faults.conditionWithoutItem = 3;
      await expect(s.claim({ ...key, redriveCount: 5 })).rejects.toThrow(ClaimInProgressError);
    } finally {
      table.restore();
    }
  });
});
