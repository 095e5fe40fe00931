/**
 * A DynamoDB table behind aws-sdk-client-mock that keeps items and enforces condition expressions
 * as DynamoDB does (the subset the claim store writes: attribute_(not_)exists, =, <, AND, OR and
 * parentheses), so the DynamoDB claim store is tested against real conditional-write semantics.
 * `faults` injects failures: the next writes of a kind throw, or a condition fails without the item.
 */
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

type Item = Record<string, AttributeValue>;
type Values = Record<string, AttributeValue>;

export interface FakeTable {
  items: Map<string, Item>;
  /** A client whose calls reach this table (any number of stores may share it, as containers share a table). */
  client(): DynamoDBClient;
  /** Failures to inject: each entry fails the next call of that command kind. */
  faults: { put: number; update: number; delete: number; get: number; conditionWithoutItem: number };
  /** The mock itself, for assertions on the calls made (`commandCalls`). */
  mock: ReturnType<typeof mockClient>;
  restore(): void;
}

function scalar(v: AttributeValue | undefined): string | number | undefined {
  if (!v) return undefined;
  if (v.N !== undefined) return Number(v.N);
  return v.S;
}

/** Evaluates a condition expression on `item` (undefined: no item). */
export function evaluateCondition(expression: string, item: Item | undefined, values: Values): boolean {
  const tokens = expression.match(/\(|\)|[A-Za-z_][\w]*\([^)]*\)|:[\w]+|[A-Za-z_#][\w]*|<=|>=|<>|=|<|>/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++]!;
  const operand = (token: string) => (token.startsWith(":") ? scalar(values[token]) : scalar(item?.[token]));
  function primary(): boolean {
    const t = next();
    if (t === "(") {
      const v = or();
      next(); // ")"
      return v;
    }
    const fn = /^(attribute_not_exists|attribute_exists)\((\w+)\)$/.exec(t);
    if (fn) {
      const exists = item !== undefined && item[fn[2]!] !== undefined;
      return fn[1] === "attribute_exists" ? exists : !exists;
    }
    const op = next();
    const left = operand(t);
    const right = operand(next());
    if (left === undefined || right === undefined) return false;
    switch (op) {
      case "=":
        return left === right;
      case "<>":
        return left !== right;
      case "<":
        return left < right;
      case ">":
        return left > right;
      case "<=":
        return left <= right;
      case ">=":
        return left >= right;
    }
    throw new Error(`fake DynamoDB: operator ${op} not supported`);
  }
  function and(): boolean {
    let v = primary();
    while (peek() === "AND") {
      next();
      const r = primary();
      v = v && r;
    }
    return v;
  }
  function or(): boolean {
    let v = and();
    while (peek() === "OR") {
      next();
      const r = and();
      v = v || r;
    }
    return v;
  }
  return or();
}

/** Applies `SET a = :x, b = :y REMOVE c, d`. */
function applyUpdate(item: Item, expression: string, values: Values): Item {
  const out = { ...item };
  const set = /SET (.*?)(?= REMOVE |$)/.exec(expression)?.[1];
  const remove = /REMOVE (.*?)(?= SET |$)/.exec(expression)?.[1];
  for (const part of set?.split(",") ?? []) {
    const [name, value] = part.split("=").map((x) => x.trim());
    out[name!] = values[value!]!;
  }
  for (const name of remove?.split(",") ?? []) delete out[name.trim()];
  return out;
}

function conditionFailed(old: Item | undefined, returnOld: boolean) {
  return new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {}, ...(returnOld && old ? { Item: old } : {}) });
}

/** DynamoDB refuses a partition key over 2,048 bytes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html). */
function checkedKey(pk: string): string {
  if (Buffer.byteLength(pk, "utf8") > 2048) {
    throw Object.assign(new Error("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes"), { name: "ValidationException" });
  }
  return pk;
}

function transient(kind: string) {
  return Object.assign(new Error(`${kind}: Throughput exceeds the current capacity of your table`), { name: "ProvisionedThroughputExceededException" });
}

export function fakeTable(): FakeTable {
  const items = new Map<string, Item>();
  const faults = { put: 0, update: 0, delete: 0, get: 0, conditionWithoutItem: 0 };
  const ddb = mockClient(DynamoDBClient);
  const check = (condition: string | undefined, old: Item | undefined, values: Values | undefined, returnOld: boolean) => {
    if (!condition) return;
    if (faults.conditionWithoutItem > 0) {
      faults.conditionWithoutItem--;
      throw conditionFailed(undefined, false);
    }
    if (!evaluateCondition(condition, old, values ?? {})) throw conditionFailed(old, returnOld);
  };
  ddb.on(PutItemCommand).callsFake((input) => {
    if (faults.put > 0 && faults.put--) throw transient("PutItem");
    const pk = checkedKey(input.Item.pk.S as string);
    const old = items.get(pk);
    check(input.ConditionExpression, old, input.ExpressionAttributeValues, input.ReturnValuesOnConditionCheckFailure === "ALL_OLD");
    items.set(pk, structuredClone(input.Item));
    return {};
  });
  ddb.on(GetItemCommand).callsFake((input) => {
    if (faults.get > 0 && faults.get--) throw transient("GetItem");
    const item = items.get(checkedKey(input.Key.pk.S as string));
    return { Item: item ? structuredClone(item) : undefined };
  });
  ddb.on(DeleteItemCommand).callsFake((input) => {
    if (faults.delete > 0 && faults.delete--) throw transient("DeleteItem");
    const pk = checkedKey(input.Key.pk.S as string);
    check(input.ConditionExpression, items.get(pk), input.ExpressionAttributeValues, false);
    items.delete(pk);
    return {};
  });
  ddb.on(UpdateItemCommand).callsFake((input) => {
    if (faults.update > 0 && faults.update--) throw transient("UpdateItem");
    const pk = checkedKey(input.Key.pk.S as string);
    const old = items.get(pk);
    check(input.ConditionExpression, old, input.ExpressionAttributeValues, false);
    items.set(pk, applyUpdate(old ?? { pk: { S: pk } }, input.UpdateExpression, input.ExpressionAttributeValues ?? {}));
    return {};
  });
  return {
    items,
    faults,
    client: () => new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    mock: ddb,
    restore: () => ddb.restore(),
  };
}
