/**
 * A `triggers.manualOnly` task compiles to a `.waitForTaskToken` approval state before its task
 * state (pure: no synthesis), valid ASL; what cannot wait deployed is refused naming the fix.
 */
import { describe, expect, it } from "vitest";
import { compileFlow, CompileError } from "../../lib/compile/index";
import { validateDefinition } from "../../lib/compile/validate";
import { Flow, task, triggers } from "../../lib/index";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;
const build = task(function build() {
  return 1;
});
const lint = task(function lint(n: number) {
  return n;
});
const gate = (options: { approvalTimeoutSeconds?: number } = {}) =>
  task({ name: "deploy", trigger: triggers.manualOnly, ...options }, function deploy(n: number) {
    return n;
  });

describe("compiling an approval", () => {
  it("a manualOnly task is entered through `t.Approval`: lambda:invoke.waitForTaskToken with the token, TimeoutSeconds = approvalTimeoutSeconds, then the task state", () => {
    const flow = new Flow({ name: "release" }, () => void gate({ approvalTimeoutSeconds: 3600 })(build()));
    const { definition } = compileFlow(flow, { taskFunctionArn: arn, resultsBucket: "results" });
    validateDefinition("release", definition);
    expect(definition.States.build!.Next).toBe("deploy.Approval");
    const approval = definition.States["deploy.Approval"]!;
    expect(approval).toMatchObject({
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      Parameters: { FunctionName: arn("deploy"), Payload: { task: "deploy", mode: "approval", "taskToken.$": "$$.Task.Token", tokenBucket: "results" } },
      TimeoutSeconds: 3600,
      ResultPath: "$.flowhooksApproval",
      Next: "deploy",
    });
    // The answer, a rejection, the timeout and a chain that did not pause go on to the task state; anything else is an infrastructure failure.
    expect(approval.Catch).toEqual([
      { ErrorEquals: ["flowhooks.Rejected", "States.Timeout", "flowhooks.NotPaused"], ResultPath: "$.flowhooksApproval", Next: "deploy" },
      { ErrorEquals: ["States.ALL"], ResultPath: "$.L1", Next: "deploy.Infra" },
    ]);
    expect((definition.States.deploy!.Parameters as any).Payload["approval.$"]).toBe("$.flowhooksApproval");
  });

  it("in a Parallel level the branch starts at the approval state; without approvalTimeoutSeconds the state sets no TimeoutSeconds", () => {
    const flow = new Flow({ name: "release" }, () => {
      const built = build();
      gate()(built);
      lint(built);
    });
    const { definition } = compileFlow(flow, { taskFunctionArn: arn });
    validateDefinition("release", definition);
    const level = Object.values(definition.States).find((s) => s.Type === "Parallel")!;
    const branch = (level.Branches as { StartAt: string; States: Record<string, any> }[]).find((b) => b.StartAt === "deploy.Approval")!;
    expect(branch.States["deploy.Approval"].TimeoutSeconds).toBeUndefined();
    expect(branch.States["deploy.Approval"].Parameters.Payload.tokenBucket).toBeUndefined();
  });

  it("a manualOnly task compiles (it deploys; nothing is local-only)", () => {
    const flow = new Flow({ name: "release" }, () => void gate()(build()));
    expect(() => compileFlow(flow, { taskFunctionArn: (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}` })).not.toThrow();
  });

  const refused: [string, () => Flow, RegExp][] = [
    [
      "a mapped manualOnly task",
      () => new Flow({ name: "m" }, () => void gate().map(task(function items() { return [1, 2]; })())),
      /Task `deploy` waits for approval \(triggers\.manualOnly\) and is mapped \(task\.map\); deployed, one approval waits per task, not per child: approve before the map/,
    ],
    [
      "a fractional approvalTimeoutSeconds",
      () => new Flow({ name: "f" }, () => void gate({ approvalTimeoutSeconds: 90.5 })(build())),
      /Task `deploy` has approvalTimeoutSeconds 90\.5; deployed, the wait is a Step Functions TimeoutSeconds, a whole number of seconds .*: use 91\./,
    ],
    [
      "an approvalTimeoutSeconds beyond a Standard execution's year",
      () => new Flow({ name: "y" }, () => void gate({ approvalTimeoutSeconds: 40_000_000 })(build())),
      /approvalTimeoutSeconds 40000000; .*at most 31536000\): use 31536000\./,
    ],
  ];
  it.each(refused)("refuses %s at compile time, naming the fix", (_what, make, message) => {
    expect(() => compileFlow(make(), { taskFunctionArn: arn })).toThrow(CompileError);
    expect(() => compileFlow(make(), { taskFunctionArn: arn })).toThrow(message);
  });
});
