/**
 * A task's kept answer is read before anything is sent: a second answer sends nothing even where
 * the interpreter takes a second answer for a token (moto 5.2.1 takes a SendTaskFailure after the
 * wait ended: test/emulate/moto/slack-approval.test.ts), and a missing answer that reads
 * AccessDenied (a role without s3:ListBucket, as the interactivity function's) still lets the
 * first answer through. The real SFN client, answered by aws-sdk-client-mock; faults injected into the store.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { createApprovals, keepApprovalToken, type ApprovalStore } from "../../lib/aws/approval-store";
import type { ApprovalDecision } from "../../lib/aws/approvals";
import { memoryStore } from "../helpers/memory-store";

const ARN = "arn:aws:states:us-east-1:123456789012:execution:Release:run-1";
const sfnMock = mockClient(SFNClient);
afterEach(() => sfnMock.reset());

/** An interpreter that takes every answer it is sent (no TaskTimedOut for a token already answered). */
function acceptsEveryAnswer(): { sent: string[] } {
  const sent: string[] = [];
  sfnMock.on(SendTaskSuccessCommand).callsFake(() => (sent.push("success"), {}));
  sfnMock.on(SendTaskFailureCommand).callsFake(() => (sent.push("failure"), {}));
  return { sent };
}

/** S3 as a role without s3:ListBucket sees it: a missing key is AccessDenied, not NoSuchKey. */
function withoutListBucket(store: ApprovalStore): ApprovalStore {
  return {
    put: (key, body) => store.put(key, body),
    get: (key) =>
      store.get(key).catch((error: Error) => {
        throw error.name === "NoSuchKey" ? Object.assign(new Error("Access Denied"), { name: "AccessDenied" }) : error;
      }),
  };
}

const decision = fc.oneof(
  fc.record({ approve: fc.constant(true as const), by: fc.string({ maxLength: 10 }) }),
  fc.record({ approve: fc.constant(false as const), reason: fc.string({ minLength: 1, maxLength: 20 }), by: fc.string({ maxLength: 10 }) }),
) as fc.Arbitrary<ApprovalDecision>;

describe("a task's kept answer", () => {
  it("any sequence of answers to one Paused task sends exactly one, the first; every later one is already-answered (also without s3:ListBucket)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(decision, { minLength: 1, maxLength: 6 }), fc.boolean(), async (decisions, listBucket) => {
        sfnMock.reset();
        const { sent } = acceptsEveryAnswer();
        const { store: memory, objects } = memoryStore();
        const store = listBucket ? memory : withoutListBucket(memory);
        await keepApprovalToken(store, ARN, "deploy", "AQCEtoken-secret", new Date(0));
        const approvals = createApprovals({ sfn: new SFNClient({ region: "us-east-1" }), store, now: () => new Date(0) });
        const outcomes = [];
        for (const d of decisions) outcomes.push(await approvals.answer(ARN, "deploy", d));
        expect(outcomes).toEqual(["answered", ...decisions.slice(1).map(() => "already-answered")]);
        expect(sent).toEqual([decisions[0]!.approve ? "success" : "failure"]);
        expect(JSON.parse(objects.get("approvals/Release/run-1/deploy/answer.json")!)).toMatchObject({ approve: decisions[0]!.approve });
      }),
      { numRuns: 60 },
    );
  });
});
