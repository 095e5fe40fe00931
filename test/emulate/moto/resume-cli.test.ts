/**
 * `flowhooks resume` end to end against moto: the real bin (a subprocess, as `npx flowhooks resume`
 * runs) with the SDK's own clients pointed at moto's server by AWS_ENDPOINT_URL answers a task Paused
 * in moto's Step Functions, reading the definition through DescribeStateMachineForExecution and the
 * token the bundled task function kept in moto's S3 (test/helpers/moto-approvals.ts).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { EXIT } from "../../../lib/cli/errors";
import { runCli } from "../../cli/run-cli";
import { describeMoto, restoreAwsEnvAfterEach } from "../../helpers/moto";
import { motoApprovalRig, type MotoApprovalRig } from "../../helpers/moto-approvals";
import { fixtureTarget } from "../helpers";

describeMoto("flowhooks resume → moto", () => {
  let rig: MotoApprovalRig;
  restoreAwsEnvAfterEach();
  beforeAll(async () => {
    rig = await motoApprovalRig(await fixtureTarget("approval-slack"));
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });

  const resume = (...args: string[]) => runCli(["resume", ...args], { env: { ...rig.awsEnv, USER: "alice", AWS_PROFILE: "" } });

  it("approves: exit 0, the execution goes on and ends SUCCEEDED with deploy Paused → Resume → Running → Success; asked again, it says already answered", async () => {
    const run = rig.start("cli-approve");
    await run.paused;
    const approved = await resume(run.executionArn, "deploy");
    expect(approved).toMatchObject({ code: EXIT.ok, stdout: "Approved deploy; the execution goes on.\n", stderr: "" });
    expect((await run.ended).status).toBe("SUCCEEDED");
    expect(await rig.transitions("deploy")).toEqual(["Pending -> Paused", "Paused -> Resume", "Resume -> Running", "Running -> Success"]);
    expect(await rig.answerRecord(run.executionArn, "deploy")).toMatchObject({ approve: true, by: "alice" });

    expect(await resume(run.executionArn, "deploy", "--reject", "too late")).toMatchObject({ code: EXIT.ok, stdout: "Task deploy was already answered; nothing was sent.\n" });
    expect(await rig.answerRecord(run.executionArn, "deploy")).toMatchObject({ approve: true, by: "alice" });
  }, 60_000);

  it("rejects with a reason: exit 0, deploy Paused → Cancelled, the reason kept with the answer", async () => {
    const run = rig.start("cli-reject");
    await run.paused;
    const rejected = await resume(run.executionArn, "deploy", "--reject", "change freeze");
    expect(rejected).toMatchObject({ code: EXIT.ok, stdout: 'Rejected deploy: it ends Cancelled("Rejected: change freeze").\n', stderr: "" });
    await run.ended;
    // moto 5.2.1 drops SendTaskFailure's cause (test/emulate/moto/approval.test.ts), so the reason is read from the kept answer.
    expect(await rig.transitions("deploy")).toEqual(["Pending -> Paused", "Paused -> Cancelled"]);
    expect(await rig.answerRecord(run.executionArn, "deploy")).toMatchObject({ approve: false, reason: "change freeze", by: "alice" });
  }, 60_000);

  it("a task not paused yet: exit 2 with one line saying so and where to look; once paused, it answers", async () => {
    const run = rig.start("cli-early", { holdTask: "build" });
    await run.held;
    const early = await resume(run.executionArn, "deploy");
    expect(early.code).toBe(EXIT.usage);
    expect(early.stdout).toBe("");
    expect(early.stderr).toBe(
      `flowhooks: Task \`deploy\` is not paused in ${run.executionArn}: it was not reached yet, or its wait ended (answered, timed out, execution stopped); see \`flowhooks history ${run.executionArn}\`.\n`,
    );
    run.release();
    await run.paused;
    expect((await resume(run.executionArn, "deploy")).code).toBe(EXIT.ok);
    expect((await run.ended).status).toBe("SUCCEEDED");
  }, 60_000);
});
