/**
 * `flowhooks resume`: the real SFN and S3 SDK clients (aws-sdk-client-mock) against the definition
 * lib/compile makes for a flow with a manualOnly task; the token read back from the bucket the
 * approval state names.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeStateMachineForExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compileFlow } from "../../lib/compile/index";
import { resumeCommand } from "../../lib/cli/resume";
import { UsageError } from "../../lib/cli/errors";
import { Flow, task, triggers } from "../../lib/index";

const ARN = "arn:aws:states:eu-west-1:123456789012:execution:Release:run-7";
const TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAWsecret";
const build = task(function build() {
  return 1;
});
const deploy = task({ trigger: triggers.manualOnly, approvalTimeoutSeconds: 3600 }, function deploy(n: number) {
  return n;
});
const flow = new Flow({ name: "release" }, () => void deploy(build()));
const definition = JSON.stringify(
  compileFlow(flow, { taskFunctionArn: (n) => `arn:aws:lambda:eu-west-1:123456789012:function:${n}`, resultsBucket: "release-results" }).definition,
);

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const body = (text: string) => ({ transformToString: async () => text }) as never;

beforeEach(() => {
  sfn.on(DescribeStateMachineForExecutionCommand).resolves({ definition });
  s3.on(GetObjectCommand, { Bucket: "release-results", Key: "approvals/Release/run-7/deploy/token.json" }).callsFake(() => ({ Body: body(JSON.stringify({ taskToken: TOKEN, pausedAt: "x" })) }));
  s3.on(GetObjectCommand, { Key: "approvals/Release/run-7/deploy/answer.json" }).rejects(Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey" }));
  s3.on(PutObjectCommand).resolves({});
});
afterEach(() => {
  sfn.reset();
  s3.reset();
});

const clients = () => ({ sfn: new SFNClient({ region: "eu-west-1" }), s3: new S3Client({ region: "eu-west-1" }) });
function output() {
  let text = "";
  return { out: { write: (t: string) => (text += t) }, text: () => text };
}

describe("flowhooks resume", () => {
  it("approves: SendTaskSuccess with the token kept in the bucket the execution's approval state names, exit 0", async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const o = output();
    expect(await resumeCommand({ executionArn: ARN, task: "deploy", by: "ana", ...clients(), out: o.out })).toBe(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input).toEqual({ taskToken: TOKEN, output: JSON.stringify({ approved: true, by: "ana" }) });
    expect(o.text()).toBe("Approved deploy; the execution goes on.\n");
    expect(o.text()).not.toContain(TOKEN);
  });

  it("--reject REASON sends SendTaskFailure flowhooks.Rejected with the reason", async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    const o = output();
    expect(await resumeCommand({ executionArn: ARN, task: "deploy", reject: "change freeze", ...clients(), out: o.out })).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input).toEqual({ taskToken: TOKEN, error: "flowhooks.Rejected", cause: "change freeze" });
    expect(o.text()).toContain('Cancelled("Rejected: change freeze")');
  });

  it("a task whose wait ended is a usage error (exit 2) that says it is not paused and where to look", async () => {
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error("Task Timed Out"), { name: "TaskTimedOut" }));
    const error = await resumeCommand({ executionArn: ARN, task: "deploy", ...clients(), out: output().out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^Task `deploy` is not paused in arn:.*see `flowhooks history arn:/);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it("a task that does not wait for approval is refused, naming the tasks that do", async () => {
    const error = await resumeCommand({ executionArn: ARN, task: "build", ...clients(), out: output().out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("Task `build` of Release does not wait for approval");
    expect((error as Error).message).toContain("the tasks that do: deploy.");
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it("an argument that is not an execution ARN, or an empty --reject, is one line naming the fix", async () => {
    await expect(resumeCommand({ executionArn: "run-7", task: "deploy", ...clients() })).rejects.toThrow(/is not a Step Functions execution ARN; copy it from the alert/);
    await expect(resumeCommand({ executionArn: ARN, task: "deploy", reject: " ", ...clients() })).rejects.toThrow(/--reject needs a reason/);
  });
});
