/**
 * Exactly-once bookkeeping: every (execution, object, transition, attempt, redrive count) is
 * claimed with a conditional write BEFORE its state handlers and alerts run, so duplicate events,
 * the reconciler and the flow's own final report never alert twice.
 *
 * A claim is first "in progress" with a lease, then "done". A duplicate that finds it done is
 * skipped; one that finds it in progress is retried later (`ClaimInProgressError`), so a handler
 * that crashed mid-way (Lambda timeout) does not lose the alert: once the lease runs out, the
 * retry takes the claim over.
 */
import type { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FlowhooksError } from "../core/errors";
import { loadDynamoDb } from "./sdk";

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

/** Another invocation holds the claim and has not finished; the record is retried later. */
export class ClaimInProgressError extends FlowhooksError {}

/** The flow's one ending per execution and redrive: the event path claims it, the reconciler checks it. */
export function flowFinalKey(executionArn: string, redriveCount: number): TransitionKey {
  return { executionArn, object: "flow", transition: "final", redriveCount };
}

/** The string a key is stored under. */
export function transitionKeyId(key: TransitionKey): string {
  return [key.executionArn, key.object, key.transition, `attempt=${key.attempt ?? "-"}`, `redrive=${key.redriveCount ?? 0}`].join("|");
}

export interface TransitionStore {
  /**
   * Records the transition as in progress: true when this caller now owns it, false when it is
   * done already (a duplicate: skip it). Throws `ClaimInProgressError` while another caller's lease runs.
   */
  claim(key: TransitionKey): Promise<boolean>;
  /** Marks an owned claim done: from now on duplicates are skipped for good (until the TTL). */
  complete(key: TransitionKey): Promise<void>;
  /** Forgets a claim, so a retry of the same event processes it again (used when an alert could not be delivered). */
  release(key: TransitionKey): Promise<void>;
  /** Whether the transition is done, in progress under a running lease, or neither (never claimed, released, or its owner's lease ran out). */
  lookup(key: TransitionKey): Promise<ClaimState>;
}

export type ClaimState = "none" | "in-progress" | "done";

/** Where the reconciler remembers up to when it has looked. */
export interface WatermarkStore {
  getWatermark(name: string): Promise<Date | undefined>;
  setWatermark(name: string, at: Date): Promise<void>;
}

/** The error for a transition another invocation is processing. */
export function inProgress(key: TransitionKey, leaseUntil?: Date): ClaimInProgressError {
  return new ClaimInProgressError(
    `Transition ${key.object} ${key.transition} of ${key.executionArn} is being processed by another invocation ` +
      `${leaseUntil ? `(lease until ${leaseUntil.toISOString()})` : "(its lease has not run out)"}; the record will be retried.`,
  );
}

export interface StoreOptions {
  /** How long an in-progress claim blocks others; keep it above the handler Lambda's timeout. @default 300 */
  leaseSeconds?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

/** For the emulator and tests: the same semantics in a Map. */
export class InMemoryTransitionStore implements TransitionStore, WatermarkStore {
  readonly claims = new Map<string, { done: boolean; leaseUntil: number }>();
  private readonly watermarks = new Map<string, Date>();
  private readonly leaseMs: number;
  private readonly now: () => Date;

  constructor(options: StoreOptions = {}) {
    this.leaseMs = (options.leaseSeconds ?? 300) * 1000;
    this.now = options.now ?? (() => new Date());
  }

  async claim(key: TransitionKey): Promise<boolean> {
    const id = transitionKeyId(key);
    const now = this.now().getTime();
    const existing = this.claims.get(id);
    if (existing?.done) return false;
    if (existing && existing.leaseUntil > now) throw inProgress(key, new Date(existing.leaseUntil));
    this.claims.set(id, { done: false, leaseUntil: now + this.leaseMs });
    return true;
  }
  async complete(key: TransitionKey): Promise<void> {
    const claim = this.claims.get(transitionKeyId(key));
    if (claim) claim.done = true;
  }
  async release(key: TransitionKey): Promise<void> {
    this.claims.delete(transitionKeyId(key));
  }
  async lookup(key: TransitionKey): Promise<ClaimState> {
    const claim = this.claims.get(transitionKeyId(key));
    if (!claim) return "none";
    if (claim.done) return "done";
    return claim.leaseUntil > this.now().getTime() ? "in-progress" : "none";
  }
  async getWatermark(name: string): Promise<Date | undefined> {
    return this.watermarks.get(name);
  }
  async setWatermark(name: string, at: Date): Promise<void> {
    this.watermarks.set(name, at);
  }
}

export interface DynamoDbTransitionStoreOptions extends StoreOptions {
  /** The table: partition key `pk` (string), TTL attribute `expiresAt`. */
  tableName: string;
  /** @default - a client created once per container, on the first call */
  client?: Pick<DynamoDBClient, "send">;
  /** How long a claim is kept; longer than any duplicate or reconciler pass can arrive. @default 2592000 (30 days) */
  ttlSeconds?: number;
}

let defaultClient: DynamoDBClient | undefined;

// By name: the SDK's class is loaded lazily, and a client from another copy of the SDK throws its own class.
function isConditionalCheckFailed(error: unknown): error is ConditionalCheckFailedException {
  return (error as Error)?.name === "ConditionalCheckFailedException";
}

/** DynamoDB table with `pk` (S) as partition key and `expiresAt` as its TTL attribute. */
export class DynamoDbTransitionStore implements TransitionStore, WatermarkStore {
  private readonly injected?: Pick<DynamoDBClient, "send">;
  private readonly tableName: string;
  private readonly ttlSeconds: number;
  private readonly leaseSeconds: number;
  private readonly now: () => Date;

  constructor(options: DynamoDbTransitionStoreOptions) {
    this.tableName = options.tableName;
    this.injected = options.client;
    this.ttlSeconds = options.ttlSeconds ?? 30 * 24 * 3600;
    this.leaseSeconds = options.leaseSeconds ?? 300;
    this.now = options.now ?? (() => new Date());
  }

  /** The SDK module and the client, loaded and created on the first call rather than at init. */
  private async sdk() {
    const sdk = await loadDynamoDb();
    return { sdk, client: this.injected ?? (defaultClient ??= new sdk.DynamoDBClient({})) };
  }

  private pk(key: TransitionKey) {
    return { pk: { S: transitionKeyId(key) } };
  }

  async claim(key: TransitionKey): Promise<boolean> {
    const { sdk, client } = await this.sdk();
    const now = this.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    try {
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.pk(key),
            executionArn: { S: key.executionArn },
            claimStatus: { S: "IN_PROGRESS" },
            leaseUntil: { N: String(nowSeconds + this.leaseSeconds) },
            claimedAt: { S: now.toISOString() },
            expiresAt: { N: String(nowSeconds + this.ttlSeconds) },
          },
          // A new claim, or taking over one whose owner crashed and whose lease ran out.
          ConditionExpression: "attribute_not_exists(pk) OR (claimStatus = :inProgress AND leaseUntil < :now)",
          ExpressionAttributeValues: { ":inProgress": { S: "IN_PROGRESS" }, ":now": { N: String(nowSeconds) } },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const old = error.Item;
      if (old?.claimStatus?.S === "IN_PROGRESS") throw inProgress(key, new Date(Number(old.leaseUntil?.N ?? nowSeconds) * 1000));
      return false;
    }
  }

  async complete(key: TransitionKey): Promise<void> {
    const { sdk, client } = await this.sdk();
    await client.send(
      new sdk.UpdateItemCommand({
        TableName: this.tableName,
        Key: this.pk(key),
        UpdateExpression: "SET claimStatus = :done REMOVE leaseUntil",
        ExpressionAttributeValues: { ":done": { S: "COMPLETED" } },
      }),
    );
  }

  async release(key: TransitionKey): Promise<void> {
    const { sdk, client } = await this.sdk();
    await client.send(new sdk.DeleteItemCommand({ TableName: this.tableName, Key: this.pk(key) }));
  }

  async lookup(key: TransitionKey): Promise<ClaimState> {
    const { sdk, client } = await this.sdk();
    const out = await client.send(new sdk.GetItemCommand({ TableName: this.tableName, Key: this.pk(key), ConsistentRead: true }));
    const item = out.Item;
    if (!item) return "none";
    if (item.claimStatus?.S !== "IN_PROGRESS") return "done";
    return Number(item.leaseUntil?.N ?? 0) >= Math.floor(this.now().getTime() / 1000) ? "in-progress" : "none";
  }

  async getWatermark(name: string): Promise<Date | undefined> {
    const { sdk, client } = await this.sdk();
    const out = await client.send(
      new sdk.GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `watermark|${name}` } }, ConsistentRead: true }),
    );
    const at = out.Item?.at?.S;
    return at ? new Date(at) : undefined;
  }

  async setWatermark(name: string, at: Date): Promise<void> {
    const { sdk, client } = await this.sdk();
    await client.send(
      new sdk.PutItemCommand({ TableName: this.tableName, Item: { pk: { S: `watermark|${name}` }, at: { S: at.toISOString() } } }),
    );
  }
}
