/**
 * Exactly-once bookkeeping: every (execution, object, transition, attempt, redrive count) is
 * claimed with a conditional write BEFORE its state handlers and alerts run, so duplicate events,
 * the reconciler and the flow's own final report never alert twice.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";

/** What identifies one transition of one object in one execution. */
export interface TransitionKey {
  executionArn: string;
  /** "flow", or "task:<name>". */
  object: string;
  /** e.g. "Running->Failed", or "final" for the flow's one ending per redrive. */
  transition: string;
  /** The task's attempt (1-based); absent for flows. */
  attempt?: number;
  /** The execution's redrive count (a redriven execution ends again), or another disambiguator. */
  redriveCount?: number | string;
}

/** The flow's one ending per execution and redrive: the event path claims it, the reconciler checks it. */
export function flowFinalKey(executionArn: string, redriveCount: number): TransitionKey {
  return { executionArn, object: "flow", transition: "final", redriveCount };
}

/** The string a key is stored under. */
export function transitionKeyId(key: TransitionKey): string {
  return [key.executionArn, key.object, key.transition, `attempt=${key.attempt ?? "-"}`, `redrive=${key.redriveCount ?? 0}`].join("|");
}

export interface TransitionStore {
  /** Records the transition; false when it was recorded before (a duplicate: skip it). */
  claim(key: TransitionKey): Promise<boolean>;
  /** Forgets a claim, so a retry of the same event processes it again (used when an alert could not be delivered). */
  release(key: TransitionKey): Promise<void>;
  /** True when the transition was recorded. */
  has(key: TransitionKey): Promise<boolean>;
}

/** Where the reconciler remembers up to when it has looked. */
export interface WatermarkStore {
  getWatermark(name: string): Promise<Date | undefined>;
  setWatermark(name: string, at: Date): Promise<void>;
}

/** For the emulator and tests: the same semantics in a Map. */
export class InMemoryTransitionStore implements TransitionStore, WatermarkStore {
  readonly claimed = new Set<string>();
  private readonly watermarks = new Map<string, Date>();

  async claim(key: TransitionKey): Promise<boolean> {
    const id = transitionKeyId(key);
    if (this.claimed.has(id)) return false;
    this.claimed.add(id);
    return true;
  }
  async release(key: TransitionKey): Promise<void> {
    this.claimed.delete(transitionKeyId(key));
  }
  async has(key: TransitionKey): Promise<boolean> {
    return this.claimed.has(transitionKeyId(key));
  }
  async getWatermark(name: string): Promise<Date | undefined> {
    return this.watermarks.get(name);
  }
  async setWatermark(name: string, at: Date): Promise<void> {
    this.watermarks.set(name, at);
  }
}

export interface DynamoDbTransitionStoreOptions {
  /** The table: partition key `pk` (string), TTL attribute `expiresAt`. */
  tableName: string;
  /** @default - a client created once per container */
  client?: DynamoDBClient;
  /** How long a claim is kept; longer than any duplicate or reconciler pass can arrive. @default 30 days */
  ttlSeconds?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

let defaultClient: DynamoDBClient | undefined;

/** DynamoDB table with `pk` (S) as partition key and `expiresAt` as its TTL attribute. */
export class DynamoDbTransitionStore implements TransitionStore, WatermarkStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly ttlSeconds: number;
  private readonly now: () => Date;

  constructor(options: DynamoDbTransitionStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? (defaultClient ??= new DynamoDBClient({}));
    this.ttlSeconds = options.ttlSeconds ?? 30 * 24 * 3600;
    this.now = options.now ?? (() => new Date());
  }

  async claim(key: TransitionKey): Promise<boolean> {
    const now = this.now();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: transitionKeyId(key) },
            executionArn: { S: key.executionArn },
            claimedAt: { S: now.toISOString() },
            expiresAt: { N: String(Math.floor(now.getTime() / 1000) + this.ttlSeconds) },
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error)?.name === "ConditionalCheckFailedException") {
        return false;
      }
      throw error;
    }
  }

  async release(key: TransitionKey): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { pk: { S: transitionKeyId(key) } } }));
  }

  async has(key: TransitionKey): Promise<boolean> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: transitionKeyId(key) } }, ConsistentRead: true }),
    );
    return out.Item !== undefined;
  }

  async getWatermark(name: string): Promise<Date | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `watermark|${name}` } }, ConsistentRead: true }),
    );
    const at = out.Item?.at?.S;
    return at ? new Date(at) : undefined;
  }

  async setWatermark(name: string, at: Date): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { pk: { S: `watermark|${name}` }, at: { S: at.toISOString() } } }),
    );
  }
}
