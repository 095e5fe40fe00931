/**
 * The document stores (lib/notify/documents.ts says what a document is): DynamoDB's claims table in
 * Lambda, memory in the emulator and tests.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DocumentStore, DocumentWrite, StoredDocument } from "../notify/documents";
import { loadDynamoDb } from "./sdk";

export type { DocumentStore, DocumentWrite, StoredDocument } from "../notify/documents";

/** For the emulator and tests. */
export class InMemoryDocumentStore implements DocumentStore {
  readonly documents = new Map<string, { json: string; version: number }>();

  async get<T>(key: string): Promise<StoredDocument<T> | undefined> {
    const doc = this.documents.get(key);
    return doc ? { value: JSON.parse(doc.json) as T, version: doc.version } : undefined;
  }

  async put<T>(key: string, value: T, expectedVersion: number | undefined): Promise<boolean> {
    const doc = this.documents.get(key);
    if ((doc?.version ?? undefined) !== expectedVersion) return false;
    this.documents.set(key, { json: JSON.stringify(value), version: (doc?.version ?? 0) + 1 });
    return true;
  }

  async transact(writes: readonly DocumentWrite[]): Promise<boolean> {
    if (writes.some((w) => (this.documents.get(w.key)?.version ?? undefined) !== w.expectedVersion)) return false;
    for (const w of writes) this.documents.set(w.key, { json: JSON.stringify(w.value), version: (w.expectedVersion ?? 0) + 1 });
    return true;
  }
}

export interface DynamoDbDocumentStoreOptions {
  /** The claims table (partition key `pk`, TTL attribute `expiresAt`). */
  tableName: string;
  /** @default - a client created once per container, on the first call */
  client?: Pick<DynamoDBClient, "send">;
  /** How long a document is kept after its last write. @default 604800 (7 days) */
  ttlSeconds?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

let defaultClient: DynamoDBClient | undefined;

/** Documents as items `doc|<key>` with attributes `doc` (JSON string) and `version` (number). */
export class DynamoDbDocumentStore implements DocumentStore {
  constructor(private readonly options: DynamoDbDocumentStoreOptions) {}

  private async sdk() {
    const sdk = await loadDynamoDb();
    return { sdk, client: this.options.client ?? (defaultClient ??= new sdk.DynamoDBClient({})) };
  }

  async get<T>(key: string): Promise<StoredDocument<T> | undefined> {
    const { sdk, client } = await this.sdk();
    const out = await client.send(new sdk.GetItemCommand({ TableName: this.options.tableName, Key: { pk: { S: `doc|${key}` } }, ConsistentRead: true }));
    const item = out.Item;
    if (!item?.doc?.S) return undefined;
    return { value: JSON.parse(item.doc.S) as T, version: Number(item.version?.N ?? 0) };
  }

  /** The conditional Put of one document (a `PutItem`'s input, or one `TransactWriteItems` entry). */
  private conditionalPut(key: string, value: unknown, expectedVersion: number | undefined) {
    const nowSeconds = Math.floor((this.options.now?.() ?? new Date()).getTime() / 1000);
    return {
      TableName: this.options.tableName,
      Item: {
        pk: { S: `doc|${key}` },
        doc: { S: JSON.stringify(value) },
        version: { N: String((expectedVersion ?? 0) + 1) },
        expiresAt: { N: String(nowSeconds + (this.options.ttlSeconds ?? 7 * 24 * 3600)) },
      },
      ...(expectedVersion === undefined
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : { ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": { N: String(expectedVersion) } } }),
    };
  }

  async put<T>(key: string, value: T, expectedVersion: number | undefined): Promise<boolean> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.PutItemCommand(this.conditionalPut(key, value, expectedVersion)));
      return true;
    } catch (error) {
      if ((error as Error)?.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  /**
   * `TransactWriteItems` of conditional Puts (at most 100 items, 4 MB; flowhooks writes 2–3 small
   * ones). A condition that failed, or a concurrent transaction on one of the items
   * (`TransactionConflict`), is "someone wrote first": the caller reads again. Other cancellations
   * (throttling, capacity) throw, so the record is retried.
   */
  async transact(writes: readonly DocumentWrite[]): Promise<boolean> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.TransactWriteItemsCommand({ TransactItems: writes.map((w) => ({ Put: this.conditionalPut(w.key, w.value, w.expectedVersion) })) }));
      return true;
    } catch (error) {
      const reasons = (error as { CancellationReasons?: { Code?: string }[] })?.CancellationReasons ?? [];
      const lostRace = reasons.some((r) => r.Code === "ConditionalCheckFailed" || r.Code === "TransactionConflict");
      if ((error as Error)?.name === "TransactionCanceledException" && lostRace) return false;
      throw error;
    }
  }
}
