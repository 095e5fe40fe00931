import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDbTransitionStore, InMemoryTransitionStore, transitionKeyId } from "../../lib/aws/dedupe";

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
  it("claims with a conditional PutItem that carries a TTL", async () => {
    ddb.on(PutItemCommand).resolves({});
    expect(await store().claim(key)).toBe(true);
    const input = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      TableName: "orders-transitions",
      ConditionExpression: "attribute_not_exists(pk)",
      Item: { pk: { S: transitionKeyId(key) }, expiresAt: { N: String(Date.parse("2026-01-01T00:00:00Z") / 1000 + 3600) } },
    });
  });

  it("a ConditionalCheckFailedException means the transition was recorded before: a duplicate", async () => {
    ddb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }));
    expect(await store().claim(key)).toBe(false);
  });

  it("any other DynamoDB error propagates, so the record is retried rather than alerted twice or lost", async () => {
    ddb.on(PutItemCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ProvisionedThroughputExceededException" }));
    await expect(store().claim(key)).rejects.toThrow("Rate exceeded");
  });

  it("release deletes the claim; has reads it consistently", async () => {
    ddb.on(DeleteItemCommand).resolves({});
    ddb.on(GetItemCommand).resolves({ Item: { pk: { S: transitionKeyId(key) } } });
    await store().release(key);
    expect(ddb.commandCalls(DeleteItemCommand)[0]!.args[0].input.Key).toEqual({ pk: { S: transitionKeyId(key) } });
    expect(await store().has(key)).toBe(true);
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
    expect(await s.claim({ ...key })).toBe(false);
    expect(await s.claim({ ...key, redriveCount: 1 })).toBe(true);
    await s.release(key);
    expect(await s.claim(key)).toBe(true);
  });
});
