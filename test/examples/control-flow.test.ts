import { describe, expect, it, vi } from "vitest";
import { virtualClock } from "../../lib/index";
import { flow, main } from "../../examples/10-control-flow";
import { compileFlow } from "../../lib/compile/index";

describe("examples/10-control-flow.ts", () => {
  it("run locally, loops three times, runs its sub-flow, takes the bulk branch and publishes once approved", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
    try {
      await main({ clock: virtualClock() });
    } finally {
      spy.mockRestore();
    }
    expect(lines.filter((l) => l.startsWith("fetchPages:"))).toHaveLength(6);
    expect(lines).toContain('rowLoad: Pending() -> Skipped("Case `isLarge` did not return false; the task is in a branch not taken.")');
    expect(lines).toContain('publish: Pending() -> Paused("Waiting for approval.")');
    expect(lines).toContain('run-check-export: Running("Starting task run.") -> Success("All reference tasks succeeded.")');
    expect(lines.at(-1)).toBe('Success("All reference tasks succeeded."): published (bulk-loaded 3 rows)');
  });

  it("compiles as deployed: a Looped catch on its looping task, an approval wait before publish, and the sub-flow's start-and-wait", () => {
    const compiled = compileFlow(flow, {
      taskFunctionArn: (n) => `arn:aws:lambda:us-east-1:123456789012:function:${n}`,
      flowRunStateMachineArn: (name) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`,
    });
    const text = JSON.stringify(compiled.definition);
    expect(text).toContain("flowhooks.Looped");
    expect(text).toContain("arn:aws:states:::lambda:invoke.waitForTaskToken");
    expect(text).toContain("arn:aws:states:::states:startExecution.sync:2");
  });
});
