/**
 * A Slack Approve / Reject click answered end to end through parts this repository did not write:
 * the flow's synthesized state machine waits in moto's Step Functions (LocalStack's interpreter),
 * the bundled task function kept the task token in moto's S3 (test/helpers/moto-approvals.ts), and
 * the real interactivity handler (lambdas/interact/index.ts, configured only by its environment)
 * reads the signing secret from moto's Secrets Manager and answers through moto's
 * SendTaskSuccess / SendTaskFailure. Slack's `response_url` is a real HTTP server on 127.0.0.1.
 */
import { createHmac } from "node:crypto";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from "aws-lambda";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { createInteractHandler } from "../../../lambdas/interact/index";
import type { Logger } from "../../../lib/aws/logger";
import { Paused, Pending } from "../../../lib/core/states";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from "../../../lib/notify/approval-buttons";
import { digestLine } from "../../../lib/notify/digest";
import { formatThreadReply } from "../../../lib/notify/slack-app";
import { startFakeSlack, type FakeSlack } from "../../helpers/fake-slack";
import { describeMoto, motoClientConfig, restoreAwsEnvAfterEach } from "../../helpers/moto";
import { motoApprovalRig, type MotoApprovalRig } from "../../helpers/moto-approvals";
import { fixtureTarget } from "../helpers";

const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const APPROVER = "U0APPROVER";
/** What the handler warned (a secret it could not read, a response_url that did not answer): none in these tests. */
const warnings: string[] = [];
const logger = { debug() {}, info() {}, warn: (message: string) => void warnings.push(message), error: (message: string) => void warnings.push(message), child() { return this; } } as unknown as Logger;

/** The thread reply lib/notify/slack-app.ts draws for the Paused task, with its buttons, as Slack sends it back in a click. */
function pausedMessage(executionArn: string, task: string) {
  const at = new Date(Date.now() - 1000);
  const line = digestLine({ flow: "approval-slack", executionId: executionArn, kind: "task", task, at, oldState: new Pending(), newState: new Paused("Waiting for approval.", { startTime: at }) });
  return formatThreadReply({ flow: "approval-slack", executionId: executionArn }, [line], 0, true);
}

/** A click on the message's `actionId` button, as the function URL event Lambda builds from Slack's signed, form-encoded POST. */
function click(executionArn: string, actionId: string, responseUrl: string, timestampS: number): LambdaFunctionURLEvent {
  const message = pausedMessage(executionArn, "deploy");
  const actions = message.attachments[0]!.blocks.filter((b) => b.type === "actions") as { block_id: string; elements: { action_id: string; value: string }[] }[];
  const block = actions.find((a) => a.elements.some((e) => e.action_id === actionId))!;
  const button = block.elements.find((e) => e.action_id === actionId)!;
  const payload = {
    type: "block_actions",
    user: { id: APPROVER, username: "alice", team_id: "T0TEAM" },
    response_url: responseUrl,
    message: { type: "message", text: message.text, blocks: message.blocks, attachments: message.attachments },
    actions: [{ type: "button", action_id: button.action_id, block_id: block.block_id, value: button.value, action_ts: String(timestampS) }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const signature = `v0=${createHmac("sha256", SIGNING_SECRET).update(`v0:${timestampS}:${body}`).digest("hex")}`;
  return {
    version: "2.0",
    rawPath: "/",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": String(timestampS), "x-slack-signature": signature },
    body,
    isBase64Encoded: false,
  } as unknown as LambdaFunctionURLEvent;
}

describeMoto("Slack approval buttons → the interactivity handler → moto", () => {
  let rig: MotoApprovalRig;
  let slack: FakeSlack;
  restoreAwsEnvAfterEach();
  beforeAll(async () => {
    rig = await motoApprovalRig(await fixtureTarget("approval-slack"));
  }, 120_000);
  afterAll(async () => {
    await rig?.close();
  });
  afterEach(async () => {
    await slack?.close();
    expect(warnings.splice(0)).toEqual([]);
  });

  /** The handler as deployed: only its environment; the signing secret in moto's Secrets Manager (made after moto's per-execution reset). */
  async function deployedHandler(fixture = "approval-slack"): Promise<(event: LambdaFunctionURLEvent) => Promise<Exclude<LambdaFunctionURLResult, string>>> {
        const sm = new SecretsManagerClient(motoClientConfig(rig.server));
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: "approval-slack/signing-secret", SecretString: SIGNING_SECRET }));
    sm.destroy();
    slack = await startFakeSlack();
    const target = await fixtureTarget(fixture);
    const handle = createInteractHandler(target.flow, {
      env: {
        // What Lambda sets on every function (secrets are read from AWS only where it is set).
        AWS_LAMBDA_FUNCTION_NAME: "approval-slack-interact",
        FLOWHOOKS_RESULTS_BUCKET: "approval-flow-results",
        FLOWHOOKS_STATE_MACHINE_ARN: target.synthesized.stateMachineArn,
        FLOWHOOKS_SLACK_APPROVERS: `${APPROVER},U0SECOND`,
        FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: ARN!,
      },
      logger,
    });
    return async (event) => (await handle(event)) as Exclude<LambdaFunctionURLResult, string>;
  }

  it("Approve: the paused execution goes on and ends SUCCEEDED with deploy Paused → Resume → Running → Success; a second click says already answered and sends nothing", async () => {
    const run = rig.start("slack-approve");
    expect(await run.paused).toBe("deploy");
    // The approval invocation kept the token in the results bucket (moto's S3), where the handler reads it.
    expect(JSON.parse((await rig.tokenRecord(run.executionArn, "deploy"))!)).toMatchObject({ taskToken: expect.any(String) });
    const handler = await deployedHandler();
    const nowS = Math.floor(Date.now() / 1000);

    expect((await handler(click(run.executionArn, APPROVE_ACTION_ID, slack.url, nowS))).statusCode).toBe(200);
    const outcome = await run.ended;
    expect(outcome.status).toBe("SUCCEEDED");
    expect(await rig.transitions("deploy")).toEqual(["Pending -> Paused", "Paused -> Resume", "Resume -> Running", "Running -> Success"]);
    expect(JSON.stringify(slack.requests[0]!.json)).toContain(`:white_check_mark: *deploy* approved by <@${APPROVER}>`);

    // A second, separately signed click (another approver, a second later).
    expect((await handler(click(run.executionArn, REJECT_ACTION_ID, slack.url, nowS + 1))).statusCode).toBe(200);
    expect(slack.requests).toHaveLength(2);
    expect(JSON.stringify(slack.requests[1]!.json)).toContain("*deploy* was already answered;");
    const history = await rig.history();
    expect(history.filter((e) => e.type === "TaskSucceeded" && e.taskSucceededEventDetails?.resource === "invoke.waitForTaskToken")).toHaveLength(1);
    expect(history.filter((e) => e.type === "TaskFailed")).toHaveLength(0);
    expect(await rig.transitions("deploy")).toEqual(["Pending -> Paused", "Paused -> Resume", "Resume -> Running", "Running -> Success"]);
  }, 60_000);

  it("Reject: the task ends Cancelled and the message says who rejected", async () => {
    const run = rig.start("slack-reject");
    expect(await run.paused).toBe("deploy");
    const handler = await deployedHandler();
    expect((await handler(click(run.executionArn, REJECT_ACTION_ID, slack.url, Math.floor(Date.now() / 1000)))).statusCode).toBe(200);
    await run.ended;
    expect(await rig.transitions("deploy")).toEqual(["Pending -> Paused", "Paused -> Cancelled"]);
    expect(await rig.transitions("notify")).toContain("Running -> Success");
    expect(JSON.stringify(slack.requests[0]!.json)).toContain(`:no_entry: *deploy* rejected by <@${APPROVER}>`);
  }, 60_000);

  it("a click after the wait timed out says the task is no longer waiting, and the task ends TimedOut", async () => {
    // test/emulate/fixtures/approval.ts: 2 s to answer.
    const run = rig.start("slack-too-late", { target: await fixtureTarget("approval") });
    await run.paused;
    await run.ended;
    expect(await rig.transitions("deploy")).toEqual(["Pending -> Paused", "Paused -> TimedOut"]);
    const handler = await deployedHandler("approval");
    expect((await handler(click(run.executionArn, APPROVE_ACTION_ID, slack.url, Math.floor(Date.now() / 1000)))).statusCode).toBe(200);
    expect(slack.requests).toHaveLength(1);
    expect(JSON.stringify(slack.requests[0]!.json)).toContain("*deploy* is no longer waiting (timed out, stopped, or answered with flowhooks resume)");
    expect(await rig.answerRecord(run.executionArn, "deploy")).toBeUndefined();
  }, 60_000);
});
