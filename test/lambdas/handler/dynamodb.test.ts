import { afterEach, describe, expect, it } from "vitest";
import { PutItemCommand, type PutItemCommandInput } from "@aws-sdk/client-dynamodb";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { fakeTable } from "../../helpers/fake-dynamodb";
import { harness } from "./harness";

let restore: (() => void)[] = [];
afterEach(() => restore.forEach((r) => r()));

describe("handler Lambda with its DynamoDB table (FLOWHOOKS_DEDUPE_TABLE)", () => {
  it("the same event delivered three times alerts once, and the claims carry a TTL", async () => {
    const table = fakeTable();
    const h = harness({
      deps: {
        store: undefined,
        dynamodb: table.client(),
      },
    });
    restore = [() => table.restore(), () => h.sfnMock.restore()];
    const record = sqsRecord(eventBridgeEvent("sfn-timed-out"));
    for (let i = 0; i < 3; i++) expect((await h.handler(sqsEvent(record))).batchItemFailures).toEqual([]);

    expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["TimedOut"]);
    const puts = table.mock.commandCalls(PutItemCommand).map((c) => c.args[0].input as PutItemCommandInput);
    expect(puts.length).toBeGreaterThan(0);
    expect(puts.every((input) => input.TableName === "orders-transitions")).toBe(true);
    const claims = [...table.items.values()];
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.every((item) => item.claimStatus?.S === "COMPLETED" && Number(item.expiresAt?.N) > Date.now() / 1000)).toBe(true);
  });
});
