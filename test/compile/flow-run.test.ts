/**
 * `flowRun(other)` compiled: the task's function around `states:startExecution.sync:2` on the other
 * flow's state machine, run by aws-local-stepfunctions with the real task Lambda code for both flows.
 * The parent task's transitions are the ones `flow.run()` gives.
 */
import { describe, expect, it } from "vitest";
import { Flow, flowRun, parameter, task, type State } from "../../lib/index";
import { CompileError, compileFlow, successPathTransitions, validateDefinition, type AslState } from "../../lib/compile/index";
import { flowRunStateNames, START_EXECUTION_SYNC } from "../../lib/compile/flow-run";
import { virtualClock } from "../../lib/core/clock";
import { runLocally, type LocalRun } from "./local-run";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;

function etlFlow(fail = false) {
  const extract = task({ name: "extract" }, (day: string) => `rows of ${day}`);
  const load = task({ name: "load" }, (rows: string) => {
    if (fail) throw new Error("warehouse down");
    return rows.length;
  });
  return new Flow({ name: "etl" }, () => void load(extract(parameter("day"))));
}

const transitions = (run: LocalRun, flow: string, name: string) =>
  run.events.filter((e) => e.flow === flow && e.task === name).map((e) => `${e.oldState.type}(${e.oldState.message ?? ""})→${e.newState.type}(${e.newState.message ?? ""})`);

/** The same task's transitions in flow.run(), in the same form. */
async function localTransitions(flow: Flow, taskName: string): Promise<string[]> {
  const seen: string[] = [];
  const name = (s: State) => (s.constructor as { stateName?: string }).stateName ?? s.constructor.name;
  await flow.run({
    clock: virtualClock(),
    onTransition: (e: { kind: string; name?: string; task?: { name: string }; oldState: State; newState: State }) => {
      const who = e.name ?? e.task?.name;
      if (e.kind === "task" && who === taskName) seen.push(`${name(e.oldState)}(${e.oldState.message ?? ""})→${name(e.newState)}(${e.newState.message ?? ""})`);
    },
  } as never);
  return seen;
}

describe("flowRun compiled to startExecution.sync:2", () => {
  it("starts the other flow's state machine by the ARN it was given, with the parameters as the child's input, and the definition validates", () => {
    const parent = new Flow({ name: "nightly", tasks: [flowRun(etlFlow(), { parameters: { day: "d1" } })] });
    const compiled = compileFlow(parent, { taskFunctionArn: arn, flowRunStateMachineArn: (n) => `arn:aws:states:us-east-1:123456789012:stateMachine:${n}-sm` });
    const names = flowRunStateNames("run-etl");
    const branch = (compiled.definition.States["run-etl"] ?? Object.values(compiled.definition.States).find((s) => s.Type === "Parallel")) as { Branches: { StartAt: string; States: Record<string, any> }[] };
    const states = branch.Branches[0]!.States;
    expect(branch.Branches[0]!.StartAt).toBe(names.first);
    expect(states[names.run].Resource).toBe(START_EXECUTION_SYNC);
    expect(states[names.run].Parameters).toEqual({ StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:etl-sm", "Input.$": "$.flowhooksRun.input" });
    expect(() => validateDefinition("nightly", compiled.definition)).not.toThrow();
  });

  it("is refused without the other flow's state machine, naming the flowRuns prop", () => {
    const parent = new Flow({ name: "nightly", tasks: [flowRun(etlFlow(), { parameters: { day: "d" } })] });
    expect(() => compileFlow(parent, { taskFunctionArn: arn })).toThrow(CompileError);
    expect(() => compileFlow(parent, { taskFunctionArn: arn })).toThrow(/flowRuns: \{ "etl": etlMachine \}/);
  });

  it("a sub-flow that succeeds: the parent's task goes Pending → Running → Success with the sub-flow's task states as its result, as in flow.run()", async () => {
    const parent = new Flow({ name: "nightly", tasks: [flowRun(etlFlow(), { parameters: { day: "d1" } })] });
    const run = await runLocally(parent);
    expect(run.error).toBeUndefined();
    expect(transitions(run, "nightly", "run-etl")).toEqual(await localTransitions(parent, "run-etl"));
    expect(transitions(run, "nightly", "run-etl")).toEqual(["Pending()→Running(Starting task run.)", "Running(Starting task run.)→Success(All reference tasks succeeded.)"]);
    const output = run.returned.get(flowRunStateNames("run-etl").collect).output;
    expect(output.state.result).toMatchObject({ extract: { type: "Success", result: "rows of d1" }, load: { type: "Success", result: "rows of d1".length } });
    // The sub-flow ran with the flowRun's parameters, through its own task functions.
    expect(transitions(run, "etl", "extract")).toHaveLength(2);
  });

  it("a sub-flow that fails fails the parent's task (and so the parent), with the message flow.run() gives", async () => {
    const parent = new Flow({ name: "nightly", tasks: [flowRun(etlFlow(true), { parameters: { day: "d1" } })] });
    const run = await runLocally(parent);
    expect((run.error?.cause as Error | undefined)?.name).toBe("flowhooks.FlowFailed");
    expect(transitions(run, "nightly", "run-etl")).toEqual(await localTransitions(parent, "run-etl"));
    expect(transitions(run, "nightly", "run-etl").at(-1)).toBe("Running(Starting task run.)→Failed(Some reference tasks failed.)");
    expect(transitions(run, "etl", "load").at(-1)).toMatch(/→Failed\(Error during execution of task: Error: warehouse down\)/);
  });

  it("a failed sub-flow is retried like any failed attempt: the sub-flow runs again and the transitions match flow.run()'s", async () => {
    let calls = 0;
    const flaky = task({ name: "flaky" }, () => {
      if (++calls === 1) throw new Error("first time");
      return "ok";
    });
    const sub = new Flow({ name: "sub", tasks: [flaky] });
    const makeParent = () => new Flow({ name: "top", tasks: [flowRun(sub, { maxRetries: 1, retryDelaySeconds: 30 })] });
    const expected = await localTransitions(makeParent(), "run-sub");
    calls = 0;
    const run = await runLocally(makeParent());
    expect(run.error).toBeUndefined();
    expect(transitions(run, "top", "run-sub")).toEqual(expected);
    expect(expected.map((t) => t.split("→").map((s) => s.slice(0, s.indexOf("("))).join("→"))).toEqual(["Pending→Running", "Running→Failed", "Failed→Retrying", "Retrying→Running", "Running→Success"]);
    expect(run.events.filter((e) => e.flow === "top").map((e) => e.attempt)).toEqual([1, 1, 1, 2, 2]);
  });

  it("a flowRun task whose upstream task failed ends TriggerFailed without starting the sub-flow", async () => {
    const broken = task({ name: "broken" }, () => {
      throw new Error("no");
    });
    const runEtl = flowRun(etlFlow(), { parameters: { day: "d" } });
    const parent = new Flow({ name: "p" }, () => void runEtl().after(broken()));
    const run = await runLocally(parent);
    expect(transitions(run, "p", "run-etl")).toEqual(await localTransitions(parent, "run-etl"));
    expect(transitions(run, "p", "run-etl")[0]).toMatch(/^Pending\(\)→TriggerFailed/);
    expect(run.events.filter((e) => e.flow === "etl")).toEqual([]);
  });
});

describe("flowRun's cost in state transitions", () => {
  it("a first attempt that succeeds takes 7 states in its branch, and the success path never loops", () => {
    const parent = new Flow({ name: "nightly", tasks: [flowRun(etlFlow(), { parameters: { day: "d1" } })] });
    const compiled = compileFlow(parent, { taskFunctionArn: arn, flowRunStateMachineArn: () => "arn:aws:states:us-east-1:123456789012:stateMachine:etl" });
    const level = Object.values(compiled.definition.States).find((s) => s.Type === "Parallel") as { Branches: { StartAt: string; States: Record<string, AslState> }[] };
    expect(successPathTransitions(level.Branches[0]!)).toBe(7);
    // Start, the level's Parallel and its branch, the final Choice and Succeed.
    expect(successPathTransitions(compiled.definition)).toBe(1 + 1 + 7 + 2);
  });
});
