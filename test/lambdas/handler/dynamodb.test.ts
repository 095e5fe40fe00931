import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { harness } from "./harness";

/** A table that keeps items and enforces the one condition the store writes, as DynamoDB would. */
function fakeTable() {
  const items = new Map<string, Record<string, AttributeValue>>();
  const ddb = mockClient(DynamoDBClient);
  ddb.on(PutItemCommand).callsFake((input) => {
    const pk = input.Item.pk.S as string;
    const old = items.get(pk);
    if (input.ConditionExpression && old) {
      const now = Number(input.ExpressionAttributeValues[":now"].N);
      const takeOver = old.claimStatus?.S === "IN_PROGRESS" && Number(old.leaseUntil?.N) < now;
      if (!takeOver) throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {}, Item: old });
    }
    items.set(pk, input.Item);
    return {};
  });
  ddb.on(GetItemCommand).callsFake((input) => ({ Item: items.get(input.Key.pk.S) }));
  ddb.on(DeleteItemCommand).callsFake((input) => (items.delete(input.Key.pk.S), {}));
  ddb.on(UpdateItemCommand).callsFake((input) => {
    const item = items.get(input.Key.pk.S)!;
    item.claimStatus = input.ExpressionAttributeValues[":done"];
    delete item.leaseUntil;
    return {};
  });
  return { ddb, items };
}

let restore: (() => void)[] = [];
afterEach(() => restore.forEach((r) => r()));

describe("handler Lambda with its DynamoDB table (FLOWHOOKS_DEDUPE_TABLE)", () => {
  it("the same event delivered three times alerts once, and the claims carry a TTL", async () => {
    const table = fakeTable();
    const h = harness({
      deps: {
        store: undefined,
        dynamodb: new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }),
      },
    });
    restore = [() => table.ddb.restore(), () => h.sfnMock.restore()];
    const record = sqsRecord(eventBridgeEvent("sfn-timed-out"));
    for (let i = 0; i < 3; i++) expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);

    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["TimedOut"]);
    expect(table.ddb.commandCalls(PutItemCommand).every((c) => c.args[0].input.TableName === "orders-transitions")).toBe(true);
    const claims = [...table.items.values()];
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.every((item) => item.claimStatus?.S === "COMPLETED" && Number(item.expiresAt?.N) > Date.now() / 1000)).toBe(true);
  });
});
