/**
 * Exactly-once bookkeeping: every (execution, object, transition, attempt, redrive count) is
 * claimed with a conditional write BEFORE its state handlers and alerts run, so duplicate events,
 * the reconciler and the flow's own final report never alert twice.
 *
 * A claim is first "in progress" with a lease, then "done". A duplicate that finds it done is
 * skipped; one that finds it in progress is retried later (`ClaimInProgressError`), so a handler
 * that crashed mid-way (Lambda timeout) does not lose the alert: once the lease runs out, the
 * retry takes the claim over.
 *
 * Invariant, after any single crash or failed call: every claim is in exactly one of none,
 * IN_PROGRESS (owner, lease), HANDLED (chain ran, alert kept) or COMPLETED, each written by one
 * conditional write; none of them needs a later step to become reachable again (an IN_PROGRESS
 * claim whose owner is gone is taken over when its lease, longer than the queue's visibility
 * timeout, runs out; a HANDLED claim is delivered by the next event or reconciler pass).
 * Transitions: none → IN_PROGRESS (`claim`, or a takeover after the lease) → HANDLED (`handled`)
 * → COMPLETED (`complete`), or IN_PROGRESS → none (`release`, by its owner only). Each crash point
 * is exercised by test/fault-injection/delivery.property.test.ts "crash-point sweep of the claims protocol".
 */
import type { AttributeValue, ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createHash, randomUUID } from "node:crypto";
import { FlowhooksError } from "../core/errors";
import { loadDynamoDb } from "./sdk";

/**
 * The events queue's visibility timeout as FlowStateMachine deploys it: 6 × the handler's 60 s
 * timeout, as AWS advises for an SQS event source (lib/cdk/flow-alerts.ts builds the queue with it).
 */
export const QUEUE_VISIBILITY_SECONDS = 360;

/** How much longer than the queue's visibility timeout a claim's lease runs. */
const LEASE_OVER_VISIBILITY_SECONDS = 60;

/**
 * The claim lease for a queue of this visibility timeout: longer than it, so a record redelivered
 * after its invocation failed (one visibility timeout later) finds the claims that invocation left
 * still held and is postponed, instead of taking over a send that may have gone out and sending it again.
 */
export function claimLeaseSecondsFor(visibilityTimeoutSeconds: number): number {
  return visibilityTimeoutSeconds + LEASE_OVER_VISIBILITY_SECONDS;
}

/** The lease of a claim in progress when none is configured: derived from the deployed visibility timeout (420 s). */
export const DEFAULT_CLAIM_LEASE_SECONDS = claimLeaseSecondsFor(QUEUE_VISIBILITY_SECONDS);

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

/**
 * This invocation's claim was taken over (its lease ran out while it worked): the other owner
 * finishes the transition, so this one must neither mark it done nor release it.
 */
export class ClaimLostError extends FlowhooksError {}

/** The flow's one ending per execution and redrive: the event path claims it, the reconciler checks it. */
export function flowFinalKey(executionArn: string, redriveCount: number): TransitionKey {
  return { executionArn, object: "flow", transition: "final", redriveCount };
}

/**
 * The flow's ending as Step Functions stopped it (TIMED_OUT, ABORTED): recorded apart from `final`,
 * because the flow's own final report (SUCCEEDED or FAILED, sent from inside the execution) may
 * have claimed `final` before Step Functions stopped the execution.
 */
export function flowStoppedKey(executionArn: string, redriveCount: number): TransitionKey {
  return { executionArn, object: "flow", transition: "final:stopped", redriveCount };
}

/** The key that records an ending of this status: what the reconciler looks up. */
export function flowEndingKey(executionArn: string, redriveCount: number, status: string): TransitionKey {
  return status === "TIMED_OUT" || status === "ABORTED" ? flowStoppedKey(executionArn, redriveCount) : flowFinalKey(executionArn, redriveCount);
}

/** Keys longer than this (in UTF-8 bytes) are stored by hash: DynamoDB refuses partition keys over 2,048 bytes. */
const MAX_PLAIN_KEY_BYTES = 1024;

/**
 * The string a key is stored under: the parts joined, readable in the table; a key too long for a
 * DynamoDB partition key (a very long task name or mapped child) becomes its start and a SHA-256 of the whole.
 */
export function transitionKeyId(key: TransitionKey): string {
  const id = [key.executionArn, key.object, key.transition, `attempt=${key.attempt ?? "-"}`, `redrive=${key.redriveCount ?? 0}`].join("|");
  if (Buffer.byteLength(id, "utf8") <= MAX_PLAIN_KEY_BYTES) return id;
  return `${Buffer.from(id, "utf8").subarray(0, 256).toString("utf8")}|sha256=${createHash("sha256").update(id).digest("hex")}`;
}

export interface TransitionStore {
  /**
   * Records the transition as in progress: true when this caller now owns it, false when it is
   * handled or done already (a duplicate: skip it, after delivering its `pendingAlert` if any).
   * Throws `ClaimInProgressError` while another caller's lease runs.
   */
  claim(key: TransitionKey): Promise<boolean>;
  /**
   * Marks an owned claim handled: its state handlers ran and must not run again; `pendingAlert`
   * (opaque text) is what remains to deliver, read back by a retry with `pendingAlert(key)`.
   * Throws `ClaimLostError` when the claim is no longer this caller's.
   */
  handled(key: TransitionKey, pendingAlert: string): Promise<void>;
  /** What a handled (not yet done) claim still has to deliver. */
  pendingAlert(key: TransitionKey): Promise<string | undefined>;
  /**
   * Marks a claim done: from now on duplicates are skipped for good (until the TTL). Allowed for the
   * claim's owner and for a handled claim; else throws `ClaimLostError`.
   */
  complete(key: TransitionKey): Promise<void>;
  /** Forgets an owned, unfinished claim, so a retry of the same event processes it again. Does nothing to another caller's claim. */
  release(key: TransitionKey): Promise<void>;
  /**
   * Whether the transition is done, handled (chain ran, alert pending), in progress under a running
   * lease, or neither (never claimed, released, or its owner's lease ran out).
   */
  lookup(key: TransitionKey): Promise<ClaimState>;
}

export type ClaimState = "none" | "in-progress" | "handled" | "done";

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

function claimLost(key: TransitionKey): ClaimLostError {
  return new ClaimLostError(
    `Transition ${key.object} ${key.transition} of ${key.executionArn} was taken over by another invocation after this one's lease ran out; ` +
      `it finishes the transition. Keep FLOWHOOKS_CLAIM_LEASE_SECONDS above the handler's timeout.`,
  );
}

export interface StoreOptions {
  /** How long an in-progress claim blocks others; keep it above the queue's visibility timeout. @default DEFAULT_CLAIM_LEASE_SECONDS (420) */
  leaseSeconds?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

type Status = "IN_PROGRESS" | "HANDLED" | "COMPLETED";
interface MemoryClaim {
  status: Status;
  leaseUntil: number;
  owner: string;
  pendingAlert?: string;
}

/**
 * For the emulator and tests: the same semantics in a Map. Stores made with `sharedWith` share one
 * table and each own their claims, as Lambda containers sharing one DynamoDB table do.
 */
export class InMemoryTransitionStore implements TransitionStore, WatermarkStore {
  readonly claims: Map<string, MemoryClaim>;
  private readonly watermarks: Map<string, Date>;
  private readonly owned = new Map<string, string>();
  private readonly leaseMs: number;
  private readonly now: () => Date;

  constructor(options: StoreOptions & { sharedWith?: InMemoryTransitionStore } = {}) {
    this.leaseMs = (options.leaseSeconds ?? DEFAULT_CLAIM_LEASE_SECONDS) * 1000;
    this.now = options.now ?? (() => new Date());
    this.claims = options.sharedWith?.claims ?? new Map();
    this.watermarks = options.sharedWith?.watermarks ?? new Map();
  }

  async claim(key: TransitionKey): Promise<boolean> {
    const id = transitionKeyId(key);
    const now = this.now().getTime();
    const existing = this.claims.get(id);
    if (existing && existing.status !== "IN_PROGRESS") return false;
    if (existing && existing.leaseUntil > now) throw inProgress(key, new Date(existing.leaseUntil));
    const owner = randomUUID();
    this.claims.set(id, { status: "IN_PROGRESS", leaseUntil: now + this.leaseMs, owner });
    this.owned.set(id, owner);
    return true;
  }
  async handled(key: TransitionKey, pendingAlert: string): Promise<void> {
    const id = transitionKeyId(key);
    const claim = this.claims.get(id);
    if (!claim || claim.status !== "IN_PROGRESS" || claim.owner !== this.owned.get(id)) throw claimLost(key);
    this.claims.set(id, { ...claim, status: "HANDLED", pendingAlert });
  }
  async pendingAlert(key: TransitionKey): Promise<string | undefined> {
    const claim = this.claims.get(transitionKeyId(key));
    return claim?.status === "HANDLED" ? claim.pendingAlert : undefined;
  }
  async complete(key: TransitionKey): Promise<void> {
    const id = transitionKeyId(key);
    const claim = this.claims.get(id);
    const mine = claim?.owner === this.owned.get(id);
    if (!claim || (claim.status === "IN_PROGRESS" && !mine)) throw claimLost(key);
    this.claims.set(id, { status: "COMPLETED", leaseUntil: 0, owner: claim.owner });
  }
  async release(key: TransitionKey): Promise<void> {
    const id = transitionKeyId(key);
    const claim = this.claims.get(id);
    if (claim?.status === "IN_PROGRESS" && claim.owner === this.owned.get(id)) this.claims.delete(id);
  }
  async lookup(key: TransitionKey): Promise<ClaimState> {
    const claim = this.claims.get(transitionKeyId(key));
    if (!claim) return "none";
    if (claim.status === "COMPLETED") return "done";
    if (claim.status === "HANDLED") return "handled";
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
  /** The owner token of each claim this instance (one Lambda container) made. */
  private readonly owned = new Map<string, string>();
  private readonly tableName: string;
  private readonly ttlSeconds: number;
  private readonly leaseSeconds: number;
  private readonly now: () => Date;

  constructor(options: DynamoDbTransitionStoreOptions) {
    this.tableName = options.tableName;
    this.injected = options.client;
    this.ttlSeconds = options.ttlSeconds ?? 30 * 24 * 3600;
    this.leaseSeconds = options.leaseSeconds ?? DEFAULT_CLAIM_LEASE_SECONDS;
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
    // A condition that failed without returning the item (it was deleted in between) says nothing: ask again.
    for (let round = 1; ; round++) {
      const now = this.now();
      const nowSeconds = Math.floor(now.getTime() / 1000);
      const owner = randomUUID();
      try {
        await client.send(
          new sdk.PutItemCommand({
            TableName: this.tableName,
            Item: {
              ...this.pk(key),
              executionArn: { S: key.executionArn },
              claimStatus: { S: "IN_PROGRESS" },
              claimOwner: { S: owner },
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
        this.owned.set(transitionKeyId(key), owner);
        return true;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const old = error.Item;
        if (old?.claimStatus?.S === "IN_PROGRESS") throw inProgress(key, new Date(Number(old.leaseUntil?.N ?? nowSeconds) * 1000));
        if (old) return false;
        if (round >= 3) {
          throw new ClaimInProgressError(
            `Claiming ${key.object} ${key.transition} of ${key.executionArn} failed its condition ${round} times without the item being returned; the record will be retried.`,
          );
        }
      }
    }
  }

  /** An update allowed only under `condition` (with this caller's owner token as `:owner`); else `ClaimLostError`. */
  private async ownedUpdate(key: TransitionKey, update: string, values: Record<string, AttributeValue>, condition: string): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.UpdateItemCommand({
          TableName: this.tableName,
          Key: this.pk(key),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: {
            ...values,
            ":owner": { S: this.owned.get(transitionKeyId(key)) ?? "-" },
            ":inProgress": { S: "IN_PROGRESS" },
            ":handled": { S: "HANDLED" },
          },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw claimLost(key);
      throw error;
    }
  }

  async handled(key: TransitionKey, pendingAlert: string): Promise<void> {
    await this.ownedUpdate(
      key,
      "SET claimStatus = :handled, pendingAlert = :pending REMOVE leaseUntil",
      { ":pending": { S: pendingAlert } },
      "claimStatus = :inProgress AND claimOwner = :owner",
    );
  }

  async pendingAlert(key: TransitionKey): Promise<string | undefined> {
    const { sdk, client } = await this.sdk();
    const out = await client.send(new sdk.GetItemCommand({ TableName: this.tableName, Key: this.pk(key), ConsistentRead: true }));
    return out.Item?.claimStatus?.S === "HANDLED" ? out.Item.pendingAlert?.S : undefined;
  }

  async complete(key: TransitionKey): Promise<void> {
    await this.ownedUpdate(
      key,
      "SET claimStatus = :done REMOVE leaseUntil, pendingAlert",
      { ":done": { S: "COMPLETED" } },
      "(claimStatus = :inProgress AND claimOwner = :owner) OR claimStatus = :handled OR claimStatus = :done",
    );
  }

  async release(key: TransitionKey): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.DeleteItemCommand({
          TableName: this.tableName,
          Key: this.pk(key),
          // Only this caller's unfinished claim: never one another invocation took over, nor a finished one.
          ConditionExpression: "claimStatus = :inProgress AND claimOwner = :owner",
          ExpressionAttributeValues: { ":inProgress": { S: "IN_PROGRESS" }, ":owner": { S: this.owned.get(transitionKeyId(key)) ?? "-" } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async lookup(key: TransitionKey): Promise<ClaimState> {
    const { sdk, client } = await this.sdk();
    const out = await client.send(new sdk.GetItemCommand({ TableName: this.tableName, Key: this.pk(key), ConsistentRead: true }));
    const item = out.Item;
    if (!item) return "none";
    if (item.claimStatus?.S === "HANDLED") return "handled";
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
