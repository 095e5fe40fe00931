/**
 * caseOf / merge / ifElse compiled (docs/control-flow.md "Branches", "Deployed"): no refusal, no
 * state of their own. Each task of a block is its ordinary Task state whose payload carries the
 * conditions' outputs, so the task's Lambda runs the attempt (`checkCase`, `pickMergedInput`) that
 * flow.run() runs, and the Skipped transition goes through the task's handlers there.
 */
import { describe, expect, it } from "vitest";
import { caseOf, Flow, task } from "../../lib/index";
import { compileFlow, successPathTransitions, validateDefinition, type AslState } from "../../lib/compile/index";
import { caseFlow, sameShapeWithoutCases } from "../helpers/case-flows";
import { runLocally } from "./local-run";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;

/** Every state by name, Parallel branches and Map processors included. */
function allStates(states: Record<string, AslState>): Record<string, AslState> {
  const out: Record<string, AslState> = {};
  for (const [name, s] of Object.entries(states)) {
    out[name] = s;
    for (const b of (s.Branches as { States: Record<string, AslState> }[] | undefined) ?? []) Object.assign(out, allStates(b.States));
    const processor = s.ItemProcessor as { States: Record<string, AslState> } | undefined;
    if (processor) Object.assign(out, allStates(processor.States));
  }
  return out;
}

const upstreamOf = (states: Record<string, AslState>, name: string) => Object.keys((states[name]!.Parameters as any).Payload.upstream as object);

describe("compiling case blocks", () => {
  it("compiles a flow with ifElse, a nested caseOf and a mapped task in a block to valid ASL", () => {
    const { definition } = compileFlow(caseFlow(), { taskFunctionArn: arn });
    expect(() => validateDefinition("cases", definition)).not.toThrow();
  });

  it("gives each task of a block its conditions' outputs, outer and inner, so its Lambda can decide Skipped", () => {
    const states = allStates(compileFlow(caseFlow(), { taskFunctionArn: arn }).definition.States);
    expect(upstreamOf(states, "bulkLoad")).toEqual(["isBig.$"]);
    expect(upstreamOf(states, "evenBig").sort()).toEqual(["evenWork.$", "isBig.$", "kind.$"]);
    // A mapped task's prepare step decides a block not taken (the parent's verdict, no children).
    expect(upstreamOf(states, "parts")).toEqual(["isBig.$"]);
  });

  it("gives a merge every branch's output, in argument order", () => {
    const states = allStates(compileFlow(caseFlow(), { taskFunctionArn: arn }).definition.States);
    expect(upstreamOf(states, "merge")).toEqual(["bulkLoad.$", "rowLoad.$"]);
  });

  it("adds no state for a case block: the same states and success-path transitions as the flow with the same tasks and edges and no caseOf", () => {
    const withCases = compileFlow(caseFlow(), { taskFunctionArn: arn }).definition;
    const without = compileFlow(sameShapeWithoutCases(), { taskFunctionArn: arn }).definition;
    expect(Object.keys(allStates(withCases.States)).sort()).toEqual(Object.keys(allStates(without.States)).sort());
    expect(successPathTransitions(withCases)).toBe(successPathTransitions(without));
  });
});

describe("a compiled case flow, run by aws-local-stepfunctions with the real task Lambda code", () => {
  it("reports Pending → Skipped from the function of each task in the branch not taken, and the merge passes the other branch on", async () => {
    const run = await runLocally(caseFlow(), { n: 10 });
    expect(run.error).toBeUndefined();
    const skipped = run.events.filter((e) => e.newState.type === "Skipped").map((e) => e.task).sort();
    expect(skipped).toEqual(["bulkLoad", "double", "evenBig", "parts"]);
    expect(run.invocations).toContain("bulkLoad");
    expect((run.output as any).L3.report.state.result).toBe("loaded with rows");
  });

  it("runs a block split from its condition into another child state machine", async () => {
    const check = task({ name: "check" }, () => "go");
    const steps = Array.from({ length: 6 }, (_, i) => task({ name: `step-${i}` }, (x?: number) => (x ?? 0) + 1));
    const flow = new Flow({ name: "split-case" }, () => {
      caseOf(check(), "stop", () => steps.reduce<any>((previous, t) => (previous === undefined ? t() : t(previous)), undefined));
    });
    const run = await runLocally(flow, {}, { partDefinitionChars: 1500 });
    expect(run.compiled.parts.length).toBeGreaterThanOrEqual(2);
    expect(run.error).toBeUndefined();
    expect(run.events.filter((e) => e.newState.type === "Skipped").map((e) => e.task)).toEqual(steps.map((s) => s.name));
  });
});
