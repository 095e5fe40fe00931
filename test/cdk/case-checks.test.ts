/**
 * A synthesized case flow passes the checks every FlowStateMachine template passes: asl-validator on
 * the deployed definition (and on each child part of a split one) and cfn-lint on the templates. Without
 * cfn-lint the lint check skips with one line naming the install command (and fails where CI is set).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { App, Stack } from "aws-cdk-lib";
import { FlowStateMachine } from "../../lib/cdk/index";
import { compileFlow, validateDefinition } from "../../lib/compile/index";
import { caseFlow } from "../helpers/case-flows";
import { flowStack } from "../helpers/cdk";
import { describeWithTool } from "../helpers/external-tool";

const CFN_LINT_INSTALL = "pip install cfn-lint";
const cfnLintInstalled = spawnSync("cfn-lint", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0;
const describeCfnLint = describeWithTool("cfn-lint", cfnLintInstalled, CFN_LINT_INSTALL);

describe("a synthesized case flow", () => {
  it("deploys a definition asl-validator accepts", () => {
    const { definition } = flowStack(caseFlow(), { alerts: {} });
    expect(() => validateDefinition("cases", definition() as never)).not.toThrow();
  });

  it("split into child state machines, compiles to parts asl-validator accepts", () => {
    const compiled = compileFlow(caseFlow(), {
      taskFunctionArn: (n) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`,
      childStateMachineArn: (k) => `arn:aws:states:us-east-1:123456789012:stateMachine:cases-part-${k}`,
      partDefinitionChars: 3000,
    });
    expect(compiled.parts.length).toBeGreaterThanOrEqual(2);
    for (const d of [compiled.definition, ...compiled.parts.map((p) => p.definition)]) expect(() => validateDefinition("cases", d)).not.toThrow();
  });

  describeCfnLint("cfn-lint", () => {
    let files: string[] = [];
    beforeAll(() => {
      const app = new App({ outdir: mkdtempSync(join(tmpdir(), "flowhooks-case-lint-")) });
      const stack = new Stack(app, "Cases");
      new FlowStateMachine(stack, "Cases", { flow: caseFlow(), entry: "unused.ts", stubBundling: true, alerts: { topic: true } });
      new FlowStateMachine(stack, "CasesSplit", { flow: caseFlow("cases-split"), entry: "unused.ts", stubBundling: true, maxDefinitionChars: 6000 });
      app.synth();
      files = readdirSync(app.outdir).filter((f) => f.endsWith(".template.json")).map((f) => join(app.outdir, f));
    }, 120_000);

    it("finds no cfn-lint error in its templates", () => {
      const run = spawnSync("cfn-lint", ["--format", "json", "--", ...files], { encoding: "utf8", timeout: 300_000 });
      // Exit codes are a bit mask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint itself failed.
      expect(run.status === 1 ? run.stderr : "").toBe("");
      const findings = JSON.parse(run.stdout || "[]") as { Level: string; Filename: string; Message: string; Rule: { Id: string } }[];
      expect(findings.filter((f) => f.Level === "Error").map((f) => `${f.Filename}: ${f.Rule.Id} ${f.Message}`)).toEqual([]);
    }, 300_000);
  });
});
