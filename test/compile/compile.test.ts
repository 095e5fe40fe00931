import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, parameter, task, triggers, type Task } from "../../lib/index";
import { chainFlow, layeredFlow } from "../helpers/cdk";
import {
  compileFlow,
  successPathTransitions,
  validateDefinition,
  assertDefinitionSize,
  CompileError,
  STATE_NAMES,
  PRUNED_FLAG,
  PRUNE_AFTER_DEAD_OUTPUTS,
  MAX_DEFINITION_CHARS,
  type AslState,
} from "../../lib/compile/index";
import { EXECUTION_ARN, runLocally } from "./local-run";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;
/** A 1,000-task flow 20 wide takes about 1,040,000 characters (each task state catches flowhooks.Looped): one state machine, under Step Functions' 1,048,576. */
const ONE_MACHINE = 1_048_576;

function diamond() {
  const a = task({ name: "a", maxRetries: 2, retryDelaySeconds: 5, backoffRate: 1.5, maxDelaySeconds: 30, jitter: "FULL" }, (x: number) => x + 1);
  const b = task({ name: "b" }, (x: number) => x * 2);
  const c = task({ name: "c-2" }, (x: number) => x * 3);
  const d = task({ name: "d" }, (x: number, y: number) => x + y);
  return new Flow({ name: "diamond" }, () => {
    const r = a(parameter("n", 1));
    d(b(r), c(r));
  });
}

/** Every Task state in the definition, Parallel branches included. */
function taskStates(states: Record<string, AslState>): [string, AslState][] {
  return Object.entries(states).flatMap(([name, s]) =>
    s.Type === "Parallel" ? (s.Branches as { States: Record<string, AslState> }[]).flatMap((b) => taskStates(b.States)) : s.Type === "Task" ? [[name, s]] : [],
  );
}

describe("compileFlow", () => {
  it("compiles a task's retry policy to a Retry entry for flowhooks.Retrying with the exact fields", () => {
    const { definition } = compileFlow(diamond(), { taskFunctionArn: arn });
    const retry = (definition.States.a!.Retry as AslState[])[0];
    expect(retry).toEqual({
      ErrorEquals: ["flowhooks.Retrying"],
      IntervalSeconds: 5,
      MaxAttempts: 2,
      BackoffRate: 1.5,
      MaxDelaySeconds: 30,
      JitterStrategy: "FULL",
    });
  });

  it("retries transient Lambda service errors separately on every task", () => {
    const { definition } = compileFlow(diamond(), { taskFunctionArn: arn });
    for (const [, state] of taskStates(definition.States)) {
      const retriers = state.Retry as AslState[];
      expect(retriers.at(-1)!.ErrorEquals).toEqual([
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
      ]);
    }
  });

  it("puts a Catch for States.ALL on every task state, after the one for a loop's next iteration", () => {
    const { definition } = compileFlow(diamond(), { taskFunctionArn: arn });
    const tasks = taskStates(definition.States);
    expect(tasks.map(([n]) => n).sort()).toEqual(["a", "b", "c-2", "d"]);
    for (const [name, state] of tasks) {
      expect(state.Catch).toEqual([
        { ErrorEquals: ["flowhooks.Looped"], ResultPath: "$.flowhooksLoop.caught", Next: `${name}.Loop` },
        expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: STATE_NAMES.infra(name) }),
      ]);
    }
  });

  it("runs independent tasks in one Parallel state and reads upstream outputs from static paths", () => {
    const { definition, levels, tasks } = compileFlow(diamond(), { taskFunctionArn: arn });
    expect(levels).toEqual([["a"], ["b", "c-2"], ["d"]]);
    expect(definition.States[STATE_NAMES.level(1)]!.Type).toBe("Parallel");
    expect(tasks.get("c-2")!.outputPath).toBe("$.L1[1].c_2");
    const payload = (definition.States.d!.Parameters as { Payload: Record<string, unknown> }).Payload;
    expect(payload).toEqual({ task: "d", "parameters.$": "$.parameters", upstream: { "b.$": "$.L1[0].b", "c-2.$": "$.L1[1].c_2" }, "loop.$": "$.flowhooksLoop",
      // Only what the function reads: `$$` whole would carry Execution.Input, the parameters a second time.
      context: { Execution: { "Id.$": "$$.Execution.Id" }, State: { "EnteredTime.$": "$$.State.EnteredTime", "RetryCount.$": "$$.State.RetryCount" } },
    });
  });

  it("keys task outputs in the execution JSON by plain identifiers, unique even when names differ only in '-' and '_'", () => {
    const names = ["fetch-data", "fetch_data", "9lives", "ok"];
    const flow = new Flow({ name: "keys", tasks: names.map((n) => task({ name: n }, () => 1)) });
    const { definition, tasks } = compileFlow(flow, { taskFunctionArn: arn });
    expect(names.map((n) => tasks.get(n)!.stateKey)).toEqual(["fetch_data", "fetch_data_2", "_9lives", "ok"]);
    const paths = JSON.stringify(definition).match(/"\$\.[^"]*"/g)!;
    expect(paths.filter((p) => p.includes("['"))).toEqual([]);
    // State names (and so events, timelines and alerts) keep the task names.
    expect(taskStates(definition.States).map(([n]) => n).sort()).toEqual([...names].sort());
  });

  it("produces a definition that asl-validator accepts", () => {
    const { definition } = compileFlow(diamond(), { taskFunctionArn: arn });
    expect(() => validateDefinition("diamond", definition)).not.toThrow();
    expect(() => validateDefinition("wide", compileFlow(layeredFlow(300, 30), { taskFunctionArn: arn }).definition)).not.toThrow();
  });

  it("inserts the final-state report before Succeed and Fail when asked", () => {
    const report = (outcome: string): AslState => ({ Type: "Pass", Result: { outcome } });
    const { definition } = compileFlow(diamond(), { taskFunctionArn: arn, reportFinalState: report });
    expect(definition.States[STATE_NAMES.decide]!.Default).toBe(STATE_NAMES.reportSucceeded);
    expect(definition.States[STATE_NAMES.reportSucceeded]).toEqual({ Type: "Pass", Result: { outcome: "Succeeded" }, Next: STATE_NAMES.succeeded });
    expect(definition.States[STATE_NAMES.reportFailed]!.Next).toBe(STATE_NAMES.failed);
    expect(() => validateDefinition("diamond", definition)).not.toThrow();
  });

  it("stays within 1.1 state transitions per task on the success path of a large flow", () => {
    const { definition } = compileFlow(layeredFlow(1000, 20), { taskFunctionArn: arn, partDefinitionChars: ONE_MACHINE });
    const transitions = successPathTransitions(definition);
    expect(transitions / 1000).toBeLessThanOrEqual(1.1);
    // Start + 50 Parallel levels + 1,000 tasks + Choice + Succeed + a Pass dropping dead outputs every 4 levels.
    expect(transitions).toBe(1 + 50 + 1000 + 2 + 12);
  });

  it("names failed reference tasks in the cause only up to maxNamedReferenceTasks", () => {
    const wide = layeredFlow(30, 30);
    const named = compileFlow(wide, { taskFunctionArn: arn, maxNamedReferenceTasks: 30 }).definition.States[STATE_NAMES.failureCause]!;
    expect((named.Parameters as Record<string, string>)["cause.$"]).toMatch(/^States\.Format\('Some reference tasks failed:(\{\}){30}', /);
    const fixed = compileFlow(wide, { taskFunctionArn: arn }).definition.States[STATE_NAMES.failureCause]!;
    expect(fixed.Parameters).toEqual({ cause: "Some reference tasks failed." });
  });

  it("refuses a definition over Step Functions' size limit, naming the fix", () => {
    expect(() => assertDefinitionSize("big", "x".repeat(1_048_577))).toThrow(CompileError);
    expect(() => assertDefinitionSize("big", "x".repeat(1_048_577))).toThrow(/Split the flow/);
  });
});

describe("the compiled definition, run by aws-local-stepfunctions with the real task Lambda code", () => {
  it("succeeds with every task's output at its static path", async () => {
    const run = await runLocally(diamond(), { n: 4 });
    expect(run.error).toBeUndefined();
    const out = run.output as { L2: { d: { state: { result: number } } } };
    expect(out.L2.d.state.result).toBe(5 * 2 + 5 * 3);
  });

  it("retries a failing task through the state's Retry field and reports Retrying with the attempt", async () => {
    let calls = 0;
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelaySeconds: 10 }, () => {
      if (++calls < 3) throw new Error("not yet");
      return "done";
    });
    const run = await runLocally(new Flow({ name: "retry", tasks: [flaky] }));
    expect(run.error).toBeUndefined();
    expect(run.invocations).toEqual(["flaky", "flaky", "flaky"]);
    expect(run.events.filter((e) => e.newState.type === "Retrying").map((e) => [e.attempt, e.newState.runCount])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it("fails the execution with a cause naming the failed reference tasks", async () => {
    const a = task({ name: "a" }, () => 1);
    const bad = task({ name: "bad" }, (_x: number): number => {
      throw new Error("broken");
    });
    const good = task({ name: "good" }, (x: number) => x);
    const run = await runLocally(new Flow({ name: "f" }, () => {
      const r = a();
      bad(r);
      good(r);
    }));
    expect(run.error?.message).toMatch(/Some reference tasks failed: `bad`$/);
    expect(run.error?.cause).toMatchObject({ name: "flowhooks.FlowFailed" });
  });

  it("records a Lambda crash at the task's path so downstream triggers see a failed upstream", async () => {
    const a = task({ name: "a" }, () => 1);
    const next = task({ name: "next" }, (x: number) => x);
    const cleanup = task({ name: "cleanup", trigger: triggers.anyFailed }, (_x: number) => "cleaned");
    const flow = new Flow({ name: "f" }, () => {
      const r = a();
      next(r);
      cleanup(r);
    });
    const run = await runLocally(flow, {}, { crash: { a: { Error: "Sandbox.Timedout", Cause: "Task timed out after 3.00 seconds" } } });
    expect(run.invocations).toEqual(["a", "next", "cleanup"]);
    const states = new Map(run.events.filter((e) => ["Success", "TriggerFailed"].includes(e.newState.type)).map((e) => [e.task, e.newState.type]));
    expect(states.get("next")).toBe("TriggerFailed");
    expect(states.get("cleanup")).toBe("Success");
    expect(run.error?.message).toMatch(/Some reference tasks failed: `next`$/);
  });

  it("records a crash inside a Parallel branch at that branch's path", async () => {
    const run = await runLocally(diamond(), { n: 1 }, { crash: { "c-2": { Error: "Lambda.Unknown", Cause: "Runtime exited with error: signal: killed" } } });
    expect(run.events.find((e) => e.task === "d")!.newState.type).toBe("TriggerFailed");
    expect(run.events.some((e) => e.task === "c-2")).toBe(false); // its own code never reported
    expect(run.error?.message).toMatch(/Some reference tasks failed: `d`$/);
  });

  it("drops outputs no later task reads once 64 have piled up, so a long chain's state stays small", async () => {
    const chain = new Flow({ name: "chain" }, () => {
      let previous: ReturnType<Task<[number?], number>> | undefined;
      for (let i = 0; i < 200; i++) {
        const t = task({ name: `step-${i}` }, (x?: number) => (x ?? 0) + 1);
        previous = previous === undefined ? t() : t(previous);
      }
    });
    const run = await runLocally(chain);
    expect(run.error).toBeUndefined();
    const prunes = Object.keys(run.compiled.definition.States).filter((n) => n.startsWith("flowhooks.Prune"));
    expect(prunes).toEqual(["flowhooks.Prune64", "flowhooks.Prune128", "flowhooks.Prune192"]);
    const output = run.output as Record<string, unknown>;
    expect(output[PRUNED_FLAG]).toBe(true);
    // Levels 192..199 are left: those since the last Pass, the last one the reference task.
    expect(Object.keys(output).filter((k) => k.startsWith("L")).length).toBeLessThanOrEqual(PRUNE_AFTER_DEAD_OUTPUTS + 1);
    expect((output.L199 as { step_199: { state: { result: number } } }).step_199.state.result).toBe(200);
    // One Pass per 65 tasks: the success path grows by about 1.5 %.
    expect(successPathTransitions(run.compiled.definition)).toBe(200 + 3 + prunes.length);
  });

  it("keeps a 300-wide level of failing tasks far below 256 KiB: error results stored, stacks trimmed", async () => {
    const fan = new Flow({ name: "fan-300", referenceTasks: [] }, () => {
      for (let i = 0; i < 300; i++) {
        task({ name: `branch-${i}` }, () => {
          throw new Error(`branch ${i} failed`);
        })();
      }
    });
    const run = await runLocally(fan, {}, { resultsDir: mkdtempSync(join(tmpdir(), "flowhooks-results-")) });
    const bytes = Buffer.byteLength(JSON.stringify(run.output));
    expect(bytes).toBeLessThan(128 * 1024);
    expect((run.output as { L0: { branch_0: { state: { type: string } } }[] }).L0[0]!.branch_0.state.type).toBe("Failed");
  });

  it("splits a 5,000-task flow into child state machines, each under Step Functions' definition limit", () => {
    const chain = chainFlow(5000);
    const child = (k: number) => `arn:aws:states:ap-southeast-5:123456789012:stateMachine:fh-0123abcd-part-${k}`;
    expect(() => compileFlow(chain, { taskFunctionArn: arn })).toThrow(/too large for one state machine.*childStateMachineArn/);
    const { definition, parts } = compileFlow(chain, { taskFunctionArn: arn, childStateMachineArn: child });
    expect(parts.length).toBeGreaterThanOrEqual(4);
    for (const part of parts) {
      expect(JSON.stringify(part.definition).length).toBeLessThan(MAX_DEFINITION_CHARS);
      expect(() => validateDefinition("chain-5000", part.definition)).not.toThrow();
    }
    expect(parts.map((p) => [p.fromLevel, p.toLevel]).flat().at(-1)).toBe(4999);
    expect(JSON.stringify(definition).length).toBeLessThan(10_000);
    expect(definition.States[STATE_NAMES.part(0)]).toMatchObject({ Resource: "arn:aws:states:::states:startExecution.sync:2", Parameters: { StateMachineArn: child(0), "Input.$": "$" }, OutputPath: "$.Output" });
    expect(() => validateDefinition("chain-5000", definition)).not.toThrow();
  });

  it("keeps every output a later task or the final decision reads", () => {
    const { definition } = compileFlow(layeredFlow(1000, 20), { taskFunctionArn: arn, partDefinitionChars: ONE_MACHINE });
    for (const [name, state] of Object.entries(definition.States).filter(([n]) => n.startsWith("flowhooks.Prune"))) {
      const level = Number(name.slice("flowhooks.Prune".length));
      // Level i's tasks read level i-1; the reference tasks (the last level) are read at the end.
      expect(Object.keys(state.Parameters as object)).toEqual(["parameters.$", PRUNED_FLAG, "flowhooksLoop", `L${level}.$`]);
    }
  });

  it("runs a split flow's parts as child executions: upstream results cross parts, and events name the parent execution", async () => {
    const run = await runLocally(chainFlow(30), {}, { partDefinitionChars: 8_000 });
    expect(run.error).toBeUndefined();
    expect(run.compiled.parts.length).toBeGreaterThanOrEqual(3);
    expect(run.invocations).toHaveLength(30);
    const output = run.output as Record<string, Record<string, { state: { result: number } }>>;
    expect(output.L29!.step_29!.state.result).toBe(30);
    expect(new Set(run.events.map((e) => e.executionArn))).toEqual(new Set([EXECUTION_ARN]));
  });

  it("fails a split flow whose reference task fails in a child part, through the parent's decision", async () => {
    const flow = new Flow({ name: "split-fail" }, () => {
      let previous: ReturnType<Task<[number?], number>> | undefined;
      for (let i = 0; i < 20; i++) {
        const t = task({ name: `step-${i}` }, (x?: number) => {
          if (i === 19) throw new Error("last step fails");
          return (x ?? 0) + 1;
        });
        previous = previous === undefined ? t() : t(previous);
      }
    });
    const run = await runLocally(flow, {}, { partDefinitionChars: 8_000 });
    expect(run.compiled.parts.length).toBeGreaterThanOrEqual(2);
    expect(run.error?.message).toMatch(/Some reference tasks failed: `step-19`$/);
  });

  it("succeeds without a Choice when the flow has no reference tasks", async () => {
    const a = task({ name: "a" }, () => 1);
    const run = await runLocally(new Flow({ name: "f", tasks: [a], referenceTasks: [] }));
    expect(run.error).toBeUndefined();
    expect(run.compiled.definition.States[STATE_NAMES.decide]).toBeUndefined();
  });
});
