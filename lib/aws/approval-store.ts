/**
 * `Approvals` (approvals.ts) over the results bucket and Step Functions: the task Lambda's approval
 * invocation keeps the Paused task's token (`keepApprovalToken`); whoever answers reads it back and
 * sends `SendTaskSuccess` / `SendTaskFailure` (`createApprovals`).
 *
 * Invariant: Step Functions is the arbiter. A token accepts exactly one answer; every later one
 * (and one after the wait ended: timeout, stopped execution) fails with `TaskTimedOut` /
 * `InvalidToken`. The answer record written after a successful send tells those later callers
 * `already-answered` rather than `not-paused`, and is read first, so a later answer sends nothing
 * (moto's interpreter takes a second SendTaskFailure). After any single crash or failed call: before the
 * send, nothing happened (answer again); after the send and before the record, the task was
 * answered and a second answer reports `not-paused` (the one window, as narrow as one write).
 *
 * The token is a secret (anyone holding it answers the task): it is stored SSE-KMS and never
 * logged, returned, or put in an error message, alert, environment variable or template.
 *
 * Used from any Lambda (the Slack interactivity endpoint) with `approvalsFromEnv()`: it reads
 * `FLOWHOOKS_RESULTS_BUCKET` (the FlowStateMachine's `resultsBucket.bucketName`) and needs
 * `s3:GetObject` + `s3:PutObject` on `approvals/*` of that bucket and `states:SendTaskSuccess` +
 * `states:SendTaskFailure`.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { FlowhooksError } from "../core/errors";
import { isMissingKeyError, resultKeyPrefix, type ResultStore } from "../core/results";
import {
  APPROVAL_REJECTED_ERROR,
  approvalAnswerKey,
  approvalTokenKey,
  type ApprovalDecision,
  type ApprovalOutcome,
  type Approvals,
  type ApprovedOutput,
} from "./approvals";
import { loadS3, loadSfn } from "./sdk";

/** The approval store is not configured where it runs; the message names the fix. */
export class ApprovalStoreError extends FlowhooksError {}

/** Where tokens and answers are kept: the results bucket (`s3TokenStore`), or a folder in the emulator. */
export type ApprovalStore = ResultStore;

/** What Step Functions is asked through: an `SFNClient`, or anything with its `send` (tests). */
export type SfnSender = Pick<SFNClient, "send">;

/** Step Functions' errors for a token that no longer takes an answer. */
const TOKEN_ENDED = new Set(["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"]);

/** A rejection's reason as sent: Step Functions takes a cause of at most 32,768 characters. */
export const MAX_REASON_CHARS = 1000;

interface TokenRecord {
  taskToken: string;
  pausedAt: string;
}

/** The results bucket as an approval store: every object written SSE-KMS (the account's `aws/s3` key). */
export function s3ApprovalStore(bucket: string, client?: Pick<S3Client, "send">): ApprovalStore {
  const s3 = async () => {
    const sdk = await loadS3();
    return { sdk, c: client ?? new sdk.S3Client({}) };
  };
  return {
    async put(key, body) {
      const { sdk, c } = await s3();
      await c.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json", ServerSideEncryption: "aws:kms" }));
    },
    async get(key) {
      const { sdk, c } = await s3();
      const out = await c.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new Error(`Approval object s3://${bucket}/${key} is empty`);
      return out.Body.transformToString();
    },
  };
}

/** Keeps a Paused task's token (the approval invocation, before its chain runs, so an early answer finds it). */
export async function keepApprovalToken(store: ApprovalStore, executionArn: string, task: string, taskToken: string, now: Date): Promise<void> {
  const record: TokenRecord = { taskToken, pausedAt: now.toISOString() };
  await store.put(approvalTokenKey(resultKeyPrefix(executionArn), task), JSON.stringify(record));
}

export interface ApprovalsOptions {
  /** Step Functions. */
  sfn: SfnSender;
  /** Where the approval invocations keep the tokens. */
  store: ApprovalStore;
  /** @default () => new Date() */
  now?: () => Date;
}

/** Answers Paused tasks from their kept tokens; see the invariant at the top of this file. */
export function createApprovals(options: ApprovalsOptions): Approvals {
  const { sfn, store } = options;
  const now = options.now ?? (() => new Date());
  const answered = async (prefix: string, task: string): Promise<ApprovalOutcome> => {
    try {
      await store.get(approvalAnswerKey(prefix, task));
      return "already-answered";
    } catch (error) {
      if (isMissingKeyError(error)) return "not-paused";
      throw error;
    }
  };
  return {
    async answer(executionArn, task, decision) {
      const prefix = resultKeyPrefix(executionArn);
      // A kept answer means Step Functions took one already: send nothing. Any failure to read it (a
      // missing key reads AccessDenied to a role without s3:ListBucket) leaves Step Functions to judge.
      const answeredBefore = await store.get(approvalAnswerKey(prefix, task)).then(
        () => true,
        () => false,
      );
      if (answeredBefore) return "already-answered";
      let record: TokenRecord;
      try {
        record = JSON.parse(await store.get(approvalTokenKey(prefix, task))) as TokenRecord;
      } catch (error) {
        if (isMissingKeyError(error)) return answered(prefix, task);
        throw error;
      }
      try {
        await sendAnswer(sfn, record.taskToken, decision);
      } catch (error) {
        if (TOKEN_ENDED.has((error as { name?: string }).name ?? "")) return answered(prefix, task);
        throw error;
      }
      const kept = { ...answerRecord(decision), at: now().toISOString() };
      // Best effort: the answer was sent and stands; a lost record only changes what a later answer is told.
      await store.put(approvalAnswerKey(prefix, task), JSON.stringify(kept)).catch(() => undefined);
      return "answered";
    },
  };
}

/** `SendTaskSuccess` for an approval, `SendTaskFailure` (`flowhooks.Rejected`, the reason as cause) for a rejection. */
async function sendAnswer(sfn: SfnSender, taskToken: string, decision: ApprovalDecision): Promise<void> {
  const sdk = await loadSfn();
  if (decision.approve) {
    const output: ApprovedOutput = { approved: true, ...(decision.by ? { by: decision.by } : {}) };
    await sfn.send(new sdk.SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  } else {
    await sfn.send(new sdk.SendTaskFailureCommand({ taskToken, error: APPROVAL_REJECTED_ERROR, cause: rejectionCause(decision.reason) }));
  }
}

/** The reason as the task's `Cancelled("Rejected: <reason>")` will carry it: one line, bounded. */
export function rejectionCause(reason: string): string {
  const line = reason.replace(/\s+/g, " ").trim() || "no reason given";
  return line.length <= MAX_REASON_CHARS ? line : `${line.slice(0, MAX_REASON_CHARS - 1)}…`;
}

function answerRecord(decision: ApprovalDecision): Record<string, unknown> {
  return decision.approve ? { approve: true, by: decision.by } : { approve: false, reason: rejectionCause(decision.reason), by: decision.by };
}

/** `createApprovals` for a Lambda or the CLI: the bucket from `FLOWHOOKS_RESULTS_BUCKET` (or `bucket`), SDK clients of its own. */
export async function approvalsFromEnv(env: NodeJS.ProcessEnv = process.env, bucket?: string): Promise<Approvals> {
  const name = bucket ?? env.FLOWHOOKS_RESULTS_BUCKET;
  if (!name) {
    throw new ApprovalStoreError(
      "FLOWHOOKS_RESULTS_BUCKET is not set; set it to the FlowStateMachine's resultsBucket.bucketName (where Paused tasks keep their tokens).",
    );
  }
  const sdk = await loadSfn();
  return createApprovals({ sfn: new sdk.SFNClient({}), store: s3ApprovalStore(name) });
}
