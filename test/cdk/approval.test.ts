/**
 * A flow with a `triggers.manualOnly` task synthesizes: the approval state in the deployed
 * definition names the results bucket (where the token is kept, for `flowhooks resume`), no token
 * or secret appears in the template, Paused alerts by default, cdk-nag (AwsSolutions) finds
 * nothing unacknowledged, and cfn-lint finds no error.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { Flow, task, triggers } from "../../lib/index";
import { describeWithTool } from "../helpers/external-tool";
import { flowStack } from "../helpers/cdk";

function releaseFlow(): Flow {
  const build = task({ name: "build" }, () => "artifact");
  const deploy = task({ name: "deploy", trigger: triggers.manualOnly, approvalTimeoutSeconds: 86_400 }, (a: string) => a);
  return new Flow({ name: "release" }, () => void deploy(build()));
}

describe("FlowStateMachine with an approval", () => {
  it("deploys the approval state with the results bucket substituted, TimeoutSeconds from approvalTimeoutSeconds, and Paused in the default alert states", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const { template, definition } = flowStack(releaseFlow(), { alerts: { topic: true } }, app);
    expect(() => app.synth()).not.toThrow();
    const approval = definition().States["deploy.Approval"]!;
    expect(approval.Resource).toBe("arn:aws:states:::lambda:invoke.waitForTaskToken");
    expect(approval.TimeoutSeconds).toBe(86_400);
    expect((approval.Parameters as any).Payload.tokenBucket).toMatch(/^REF-.*Results/);
    const handler = Object.values(template().findResources("AWS::Lambda::Function")).find((f: any) => f.Properties.Environment?.Variables?.FLOWHOOKS_ALERT_ON);
    expect((handler as any).Properties.Environment.Variables.FLOWHOOKS_ALERT_ON).toBe("Failed,TimedOut,Retrying,Paused");
  });
});

const cfnLintInstalled = spawnSync("cfn-lint", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0;
describeWithTool("cfn-lint", cfnLintInstalled, "pip install cfn-lint")("cfn-lint on a flow with an approval", () => {
  it("finds no error in the synthesized template", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "flowhooks-approval-lint-")) });
    flowStack(releaseFlow(), { alerts: { topic: true } }, app);
    app.synth();
    const files = readdirSync(app.outdir).filter((f) => f.endsWith(".template.json")).map((f) => join(app.outdir, f));
    const run = spawnSync("cfn-lint", ["--format", "json", "--", ...files], { encoding: "utf8", timeout: 120_000 });
    const findings = JSON.parse(run.stdout || "[]") as { Level: string; Message: string }[];
    expect(findings.filter((f) => f.Level === "Error")).toEqual([]);
  }, 120_000);
});
