import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, TransactionCanceledException, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDbDocumentStore, InMemoryDocumentStore } from "../../lib/aws/documents";
import { updateDocument } from "../../lib/notify/documents";
import { RateLimiter } from "../../lib/notify/rate-limit";

const ddb = mockClient(DynamoDBClient);
afterEach(() => ddb.reset());

function store() {
  return new DynamoDbDocumentStore({
    tableName: "orders-transitions",
    client: new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    now: () => new Date("2026-01-01T00:00:00Z"),
    ttlSeconds: 3600,
  });
}

describe("documents in the claims table", () => {
  it("a new document is written only if absent, a changed one only at the version read, each with a TTL", async () => {
    ddb.on(PutItemCommand).resolves({});
    const s = store();
    expect(await s.put("digest|slack|e1", { n: 1 }, undefined)).toBe(true);
    expect(await s.put("digest|slack|e1", { n: 2 }, 1)).toBe(true);
    const [create, change] = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    const expiresAt = { N: String(Date.parse("2026-01-01T00:00:00Z") / 1000 + 3600) };
    expect(create).toMatchObject({ ConditionExpression: "attribute_not_exists(pk)", Item: { pk: { S: "doc|digest|slack|e1" }, doc: { S: '{"n":1}' }, version: { N: "1" }, expiresAt } });
    expect(change).toMatchObject({ ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": { N: "1" } }, Item: { version: { N: "2" } } });
  });

  it("someone else's write first (ConditionalCheckFailed) is a lost race, not an error", async () => {
    ddb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }));
    expect(await store().put("k", {}, 3)).toBe(false);
  });

  it("reads consistently, and updateDocument retries a lost race on the fresh version", async () => {
    ddb.on(GetItemCommand).resolvesOnce({ Item: { doc: { S: '{"n":1}' }, version: { N: "4" } } }).resolves({ Item: { doc: { S: '{"n":5}' }, version: { N: "5" } } });
    ddb.on(PutItemCommand).rejectsOnce(new ConditionalCheckFailedException({ message: "lost", $metadata: {} })).resolves({});
    const written = await updateDocument<{ n: number }, number>(store(), "k", (doc) => ({ value: { n: doc!.n + 1 }, result: doc!.n + 1 }));
    expect(written).toBe(6);
    expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true, Key: { pk: { S: "doc|k" } } });
    expect(ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item!.version!.N)).toEqual(["5", "6"]);
  });
});

describe("transactions of documents (a digest's line, page and counts in one write)", () => {
  it("writes every document or none, each conditional on its version, in one TransactWriteItems", async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    const ok = await store().transact([
      { key: "digest|slack|e1", value: { pendingLines: 1 }, expectedVersion: 3 },
      { key: "digest|slack|e1|p0", value: { lines: [] }, expectedVersion: undefined },
    ]);
    expect(ok).toBe(true);
    const [head, page] = ddb.commandCalls(TransactWriteItemsCommand)[0]!.args[0].input.TransactItems!.map((i) => i.Put!);
    expect(head).toMatchObject({ TableName: "orders-transitions", ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": { N: "3" } }, Item: { pk: { S: "doc|digest|slack|e1" }, version: { N: "4" } } });
    expect(page).toMatchObject({ ConditionExpression: "attribute_not_exists(pk)", Item: { pk: { S: "doc|digest|slack|e1|p0" }, version: { N: "1" } } });
  });

  it("a failed condition or a concurrent transaction is a lost race (read again); throttling throws (the record is retried)", async () => {
    const cancelled = (code: string) => new TransactionCanceledException({ message: "Transaction cancelled", $metadata: {}, CancellationReasons: [{ Code: "None" }, { Code: code }] });
    ddb.on(TransactWriteItemsCommand).rejectsOnce(cancelled("ConditionalCheckFailed")).rejectsOnce(cancelled("TransactionConflict")).rejects(cancelled("ThrottlingError"));
    const writes = [{ key: "k", value: {}, expectedVersion: 1 }];
    expect(await store().transact(writes)).toBe(false);
    expect(await store().transact(writes)).toBe(false);
    await expect(store().transact(writes)).rejects.toThrow(/Transaction cancelled/);
  });

  it("in memory: nothing is written when one version moved", async () => {
    const mem = new InMemoryDocumentStore();
    await mem.put("a", { n: 1 }, undefined);
    expect(await mem.transact([{ key: "a", value: { n: 2 }, expectedVersion: 1 }, { key: "b", value: { n: 1 }, expectedVersion: 7 }])).toBe(false);
    expect((await mem.get("a"))!.value).toEqual({ n: 1 });
    expect(await mem.get("b")).toBeUndefined();
  });
});

describe("the shared rate limit", () => {
  it("hands out slots in order, one per interval, to every caller sharing the store", async () => {
    let t = Date.parse("2026-01-01T00:00:00Z");
    const shared = new InMemoryDocumentStore();
    const a = new RateLimiter(shared, () => new Date(t));
    const b = new RateLimiter(shared, () => new Date(t));
    const limit = { perSecond: 1, burst: 1 };
    expect([await a.reserve("slack", limit), await b.reserve("slack", limit), await a.reserve("slack", limit)]).toEqual([0, 1000, 2000]);
    t += 2500;
    expect(await b.reserve("slack", limit)).toBe(500);
    // Another destination has its own budget.
    expect(await b.reserve("slack-app:C0ALERTS01", limit)).toBe(0);
  });

  it("a burst goes at once, then the rate applies; a 429 holds every caller off until Retry-After", async () => {
    const t = Date.parse("2026-01-01T00:00:00Z");
    const limiter = new RateLimiter(new InMemoryDocumentStore(), () => new Date(t));
    const limit = { perSecond: 1, burst: 3 };
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await limiter.reserve("slack", limit));
    expect(waits).toEqual([0, 0, 0, 1000, 2000]);
    const other = new RateLimiter(new InMemoryDocumentStore(), () => new Date(t));
    await other.holdOff("slack", limit, t + 30_000);
    expect(await other.reserve("slack", limit)).toBe(30_000);
  });
});
