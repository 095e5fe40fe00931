/**
 * Answering a Paused task deployed (lib/aws/approval-store.ts) with the real SFN SDK client
 * (aws-sdk-client-mock answers as Step Functions does: a token takes one answer, then TaskTimedOut)
 * and the real folder store the emulator uses; faults injected into both.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { createApprovals, keepApprovalToken, type ApprovalStore } from "../../lib/aws/approval-store";
import { folderResultStore } from "../../lib/aws/results";

const ARN = "arn:aws:states:us-east-1:123456789012:execution:Release:run-1";
const TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAWsecret-token-value";
const sfnMock = mockClient(SFNClient);
afterEach(() => sfnMock.reset());

const folder = () => folderResultStore(mkdtempSync(join(tmpdir(), "fh-approvals-")));
function sdkError(name: string): Error {
  return Object.assign(new Error(`${name}: Task Timed Out: 'Provided task does not exist anymore'`), { name, $fault: "client" });
}

/** Step Functions' rule for a token: the first SendTaskSuccess/Failure wins, every later one is TaskTimedOut. */
function stepFunctionsAcceptsOnce(faults: { throttleFirst?: number } = {}) {
  const accepted: { kind: "success" | "failure"; input: Record<string, unknown> }[] = [];
  let throttles = faults.throttleFirst ?? 0;
  const answer = (kind: "success" | "failure") => (input: Record<string, unknown>) => {
    if (throttles > 0) {
      throttles--;
      throw sdkError("ThrottlingException");
    }
    if (accepted.length > 0) throw sdkError("TaskTimedOut");
    accepted.push({ kind, input });
    return {};
  };
  sfnMock.on(SendTaskSuccessCommand).callsFake(answer("success"));
  sfnMock.on(SendTaskFailureCommand).callsFake(answer("failure"));
  return accepted;
}

describe("createApprovals", () => {
  it("approving sends SendTaskSuccess with the kept token once; a second answer is already-answered and sends nothing that counts", async () => {
    const store = folder();
    const accepted = stepFunctionsAcceptsOnce();
    await keepApprovalToken(store, ARN, "deploy", TOKEN, new Date());
    const approvals = createApprovals({ sfn: new SFNClient({ region: "us-east-1" }), store });
    expect(await approvals.answer(ARN, "deploy", { approve: true, by: "ana" })).toBe("answered");
    expect(await approvals.answer(ARN, "deploy", { approve: false, reason: "too late" })).toBe("already-answered");
    expect(accepted).toEqual([{ kind: "success", input: { taskToken: TOKEN, output: JSON.stringify({ approved: true, by: "ana" }) } }]);
  });

  it("rejecting sends SendTaskFailure with error flowhooks.Rejected and the reason, on one line, as the cause", async () => {
    const store = folder();
    const accepted = stepFunctionsAcceptsOnce();
    await keepApprovalToken(store, ARN, "deploy", TOKEN, new Date());
    const outcome = await createApprovals({ sfn: new SFNClient({ region: "us-east-1" }), store }).answer(ARN, "deploy", { approve: false, reason: "change\nfreeze " });
    expect(outcome).toBe("answered");
    expect(accepted).toEqual([{ kind: "failure", input: { taskToken: TOKEN, error: "flowhooks.Rejected", cause: "change freeze" } }]);
  });

  it("a task with no kept token, or whose wait ended (TaskTimedOut, InvalidToken) with no answer recorded, is not-paused", async () => {
    const store = folder();
    const approvals = createApprovals({ sfn: new SFNClient({ region: "us-east-1" }), store });
    expect(await approvals.answer(ARN, "deploy", { approve: true })).toBe("not-paused");
    await keepApprovalToken(store, ARN, "deploy", TOKEN, new Date());
    for (const name of ["TaskTimedOut", "InvalidToken"]) {
      sfnMock.reset();
      sfnMock.on(SendTaskSuccessCommand).rejects(sdkError(name));
      expect(await approvals.answer(ARN, "deploy", { approve: true })).toBe("not-paused");
    }
  });

  it("a failed call (throttled) throws, records nothing, and the next answer still answers", async () => {
    const store = folder();
    const accepted = stepFunctionsAcceptsOnce({ throttleFirst: 1 });
    await keepApprovalToken(store, ARN, "deploy", TOKEN, new Date());
    const approvals = createApprovals({ sfn: new SFNClient({ region: "us-east-1", maxAttempts: 1 }), store });
    const error = await approvals.answer(ARN, "deploy", { approve: true }).catch((e: unknown) => e);
    expect((error as Error).name).toBe("ThrottlingException");
    expect(String(error)).not.toContain(TOKEN);
    expect(await approvals.answer(ARN, "deploy", { approve: true })).toBe("answered");
    expect(accepted).toHaveLength(1);
  });

  it("property: under any answers and store faults, Step Functions gets exactly one accepted answer, reported answered exactly once; the rest are already-answered or (record lost) not-paused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant<true>(true), fc.string({ minLength: 1, maxLength: 20 })), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (answers, loseRecord) => {
          sfnMock.reset();
          const accepted = stepFunctionsAcceptsOnce();
          const real = folder();
          // The answer record's write fails (the one window the invariant names); token reads still work.
          const store: ApprovalStore = { get: (k) => real.get(k), put: (k, b) => (loseRecord && k.endsWith("answer.json") ? Promise.reject(new Error("S3 down")) : real.put(k, b)) };
          await keepApprovalToken(store, ARN, "deploy", TOKEN, new Date());
          const approvals = createApprovals({ sfn: new SFNClient({ region: "us-east-1" }), store });
          const outcomes = [];
          for (const a of answers) outcomes.push(await approvals.answer(ARN, "deploy", a === true ? { approve: true } : { approve: false, reason: a }));
          expect(accepted).toHaveLength(1);
          expect(outcomes[0]).toBe("answered");
          expect(outcomes.filter((o) => o === "answered")).toHaveLength(1);
          for (const later of outcomes.slice(1)) expect(later).toBe(loseRecord ? "not-paused" : "already-answered");
          expect(accepted[0]!.kind).toBe(answers[0] === true ? "success" : "failure");
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("s3ApprovalStore", () => {
  it("writes every token object SSE-KMS (the token is a secret) under approvals/<state machine>/<execution>/<task>/", async () => {
    const { S3Client, PutObjectCommand } = await import("@aws-sdk/client-s3");
    const { s3ApprovalStore } = await import("../../lib/aws/approval-store");
    const s3Mock = mockClient(S3Client);
    s3Mock.on(PutObjectCommand).resolves({});
    await keepApprovalToken(s3ApprovalStore("results-bucket", new S3Client({ region: "us-east-1" })), ARN, "deploy", TOKEN, new Date("2026-01-01T00:00:00Z"));
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: "results-bucket", Key: "approvals/Release/run-1/deploy/token.json", ServerSideEncryption: "aws:kms" });
    expect(JSON.parse(String(put.Body))).toEqual({ taskToken: TOKEN, pausedAt: "2026-01-01T00:00:00.000Z" });
    s3Mock.restore();
  });
});
