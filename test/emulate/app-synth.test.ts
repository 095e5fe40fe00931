import { describe, expect, it } from "vitest";
import { appContext, appFailureLine } from "../../lib/emulate/app";

describe("synthesizing the user's app as `cdk synth` does", () => {
  it("turns version reporting on (each stack's CDKMetadata: an empty stack is valid), unless cdk.json says versionReporting: false", () => {
    expect(appContext("/nowhere", { context: {} })).toMatchObject({ "aws:cdk:version-reporting": true });
    expect(appContext("/nowhere", {})).not.toHaveProperty("aws:cdk:disable-version-reporting");
    expect(appContext("/nowhere", { versionReporting: false })).not.toHaveProperty("aws:cdk:version-reporting");
  });

  it("reports a failed app in one line: its error lines, never minified code", () => {
    const validation = [
      "app.ts:3:1",
      "ERROR Resources section must exist and be non-empty (CloudFormation Validate)",
      "   EmptyStack aws-cdk-lib.Stack",
      "node:internal/modules/run_main:123",
      "«ValidationFailed» Validation failed. A copy of this report can be found in: out/validation-report.json",
      "    at <anonymous> (/tmp/app.ts:4:5)",
    ].join("\n");
    expect(appFailureLine(validation)).toBe(
      "ERROR Resources section must exist and be non-empty (CloudFormation Validate) «ValidationFailed» Validation failed. A copy of this report can be found in: out/validation-report.json",
    );
    const minified = `/app/node_modules/aws-cdk-lib/core/lib/app.js:1\n${"var a=1;".repeat(900)}\n\nValidationError: Stack name must match the regular expression\n    at new Stack (app.js:1:1)\n`;
    expect(appFailureLine(minified)).toBe("ValidationError: Stack name must match the regular expression");
    expect(appFailureLine("Cannot find module 'aws-cdk-lib'\n")).toBe("Cannot find module 'aws-cdk-lib'");
  });
});
