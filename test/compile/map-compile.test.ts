/** The deployed shape of `task.map(...)`: a mapped task's branch states, checked as ASL. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, task, unmapped } from "../../lib/index";
import { compileFlow, CompileError, DEFAULT_DISTRIBUTED_MAP_CONCURRENCY, mapStateNames, MAP_RESULTS_PREFIX, validateDefinition, type AslDefinition, type AslState } from "../../lib/compile/index";
import { EXECUTION_ARN, runLocally } from "./local-run";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;

function mappedFlow() {
  const list = task({ name: "list" }, () => [1, 2, 3]);
  const config = task({ name: "config" }, () => ({ k: 2 }));
  const work = task({ name: "work", maxRetries: 2, retryDelaySeconds: 5, mapConcurrency: 4 }, (x: number, c: { k: number }) => x * c.k);
  const sum = task({ name: "sum" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  return new Flow({ name: "mapped" }, () => void sum(work.map(list(), unmapped(config()))));
}

/** The states of the branch that holds `task`. */
function branchOf(definition: AslDefinition, taskName: string): Record<string, AslState> {
  for (const state of Object.values(definition.States)) {
    for (const branch of (state.Branches ?? []) as { StartAt: string; States: Record<string, AslState> }[]) {
      if (branch.StartAt === taskName) return branch.States;
    }
  }
  throw new Error(`no branch starts at ${taskName}`);
}

describe("compiling a mapped task", () => {
  it("puts the mapped task in a Parallel branch with its prepare, Route, Done, Map, Collect and Infra states", () => {
    const { definition, tasks } = compileFlow(mappedFlow(), { taskFunctionArn: arn });
    const names = mapStateNames("work");
    const states = branchOf(definition, "work");
    expect(Object.keys(states).sort()).toEqual([names.prepare, names.collect, names.done, names.infra, names.map, names.route].sort());
    expect(tasks.get("work")).toMatchObject({ mapped: true, outputPath: "$.L1[0].work" });
    expect(states[names.prepare]).toMatchObject({
      Type: "Task",
      Parameters: { FunctionName: arn("work"), Payload: { task: "work", mode: "prepare", mapMode: "inline", upstream: { "list.$": "$.L0[0].list", "config.$": "$.L0[1].config" } } },
      ResultPath: "$.flowhooksMap",
      Next: names.route,
    });
    expect(states[names.route]).toMatchObject({ Type: "Choice", Choices: [{ Not: { Variable: "$.flowhooksMap.verdict", IsNull: true }, Next: names.done }], Default: names.map });
    expect(states[names.done]).toEqual({ Type: "Pass", Parameters: { "work.$": "$.flowhooksMap.verdict" }, End: true });
    expect(states[names.collect]).toMatchObject({
      Type: "Task",
      Parameters: { Payload: { task: "work", mode: "collect", "map.$": "$.flowhooksMap" } },
      ResultSelector: { "work.$": "$.Payload" },
      End: true,
    });
  });

  it("builds the inline Map: items from the prepare step, the child's input by ItemSelector, MaxConcurrency from mapConcurrency", () => {
    const { definition } = compileFlow(mappedFlow(), { taskFunctionArn: arn });
    const names = mapStateNames("work");
    const map = branchOf(definition, "work")[names.map]!;
    expect(map).toMatchObject({
      Type: "Map",
      ItemsPath: "$.flowhooksMap.items",
      MaxConcurrency: 4,
      ResultPath: "$.flowhooksMap.children",
      Next: names.collect,
      Catch: [{ ErrorEquals: ["States.ALL"], Next: names.infra }],
    });
    // The list it maps over reaches each child as its item; the unmapped upstream whole.
    expect(map.ItemSelector).toEqual({ "item.$": "$$.Map.Item.Value", "parameters.$": "$.parameters", upstream: { "config.$": "$.L0[1].config" }, "executionId.$": "$$.Execution.Id", flowhooksLoop: { budget: expect.any(Number) } });
    const processor = map.ItemProcessor as { ProcessorConfig: unknown; StartAt: string; States: Record<string, AslState> };
    expect(processor.ProcessorConfig).toEqual({ Mode: "INLINE" });
    expect(processor.StartAt).toBe(names.child);
  });

  it("gives the child state the same Retry as an unmapped task (task retries, then transient Lambda errors) and a Catch to t.ChildInfra", () => {
    const { definition } = compileFlow(mappedFlow(), { taskFunctionArn: arn });
    const names = mapStateNames("work");
    const processor = branchOf(definition, "work")[names.map]!.ItemProcessor as { States: Record<string, AslState> };
    const child = processor.States[names.child]!;
    const unmapped_ = compileFlow(new Flow({ name: "plain", tasks: [task({ name: "work", maxRetries: 2, retryDelaySeconds: 5 }, () => 1)] }), { taskFunctionArn: arn });
    expect(child.Retry).toEqual(unmapped_.definition.States.work!.Retry);
    expect(child).toMatchObject({
      Parameters: { Payload: { mode: "child", "item.$": "$.item", "upstream.$": "$.upstream", context: { Execution: { "Id.$": "$.executionId" } } } },
      OutputPath: "$.Payload",
      Catch: [{ ErrorEquals: ["flowhooks.Looped"], ResultPath: "$.flowhooksLoop.caught", Next: `${names.child}.Loop` }, { ErrorEquals: ["States.ALL"], ResultPath: "$.flowhooksError", Next: names.childInfra }],
    });
    expect(processor.States[names.childInfra]).toMatchObject({ Type: "Pass", Parameters: { task: "work", "mapIndex.$": "$.item.index", "infrastructure.$": "$.flowhooksError", failed: true } });
  });

  it("adds a Distributed Map reading items from and writing results to the results bucket when one is given", () => {
    const { definition } = compileFlow(mappedFlow(), { taskFunctionArn: arn, resultsBucket: "results-bucket" });
    const names = mapStateNames("work");
    const states = branchOf(definition, "work");
    expect((states[names.prepare]!.Parameters as { Payload: { mapMode: string } }).Payload.mapMode).toBe("auto");
    expect((states[names.route]!.Choices as AslState[])[1]).toEqual({ Variable: "$.flowhooksMap.distributed", BooleanEquals: true, Next: names.mapDistributed });
    const map = states[names.mapDistributed]!;
    expect(map).toMatchObject({
      Type: "Map",
      ItemReader: { Resource: "arn:aws:states:::s3:getObject", ReaderConfig: { InputType: "JSON" }, Parameters: { Bucket: "results-bucket", "Key.$": "$.flowhooksMap.itemsKey" } },
      ResultWriter: { Resource: "arn:aws:states:::s3:putObject", Parameters: { Bucket: "results-bucket", Prefix: `${MAP_RESULTS_PREFIX}/work` } },
      ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: names.distributedChild },
      MaxConcurrency: 4,
      ResultPath: "$.flowhooksMap.written",
      Next: names.collect,
    });
    expect(map.ItemsPath).toBeUndefined();
    // The parent execution's id reaches the child executions, so events and result keys name the user's execution.
    expect((map.ItemSelector as Record<string, unknown>)["executionId.$"]).toBe("$$.Execution.Id");
    validateDefinition("mapped", definition);
  });

  it("bounds a Distributed Map without mapConcurrency to 100 child executions at once (not Step Functions' 10,000); mapConcurrency still wins; the inline Map stays uncapped", () => {
    const flow = (mapConcurrency?: number) => {
      const list = task({ name: "list" }, () => [1, 2, 3]);
      const work = task({ name: "work", mapConcurrency }, (x: number) => x);
      return new Flow({ name: "m" }, () => void work.map(list()));
    };
    const names = mapStateNames("work");
    const states = (f: Flow) => branchOf(compileFlow(f, { taskFunctionArn: arn, resultsBucket: "results-bucket" }).definition, "work");
    expect(DEFAULT_DISTRIBUTED_MAP_CONCURRENCY).toBe(100);
    expect(states(flow())[names.mapDistributed]!.MaxConcurrency).toBe(100);
    expect(states(flow())[names.map]!.MaxConcurrency).toBe(0);
    expect(states(flow(5000))[names.mapDistributed]!.MaxConcurrency).toBe(5000);
    expect(states(flow(3))[names.mapDistributed]!.MaxConcurrency).toBe(3);
  });

  it("passes $$.State.EnteredTime to every invocation of a mapped task (prepare, inline and distributed child, collect), as to an ordinary task", () => {
    // The task event carries it, so a child's alert and its recovery from the history (TaskStateEntered) share one key.
    const { definition } = compileFlow(mappedFlow(), { taskFunctionArn: arn, resultsBucket: "results-bucket" });
    const names = mapStateNames("work");
    const states = branchOf(definition, "work");
    const contextOf = (state: AslState | undefined) => (state!.Parameters as { Payload: { context: { State: Record<string, string> } } }).Payload.context.State;
    const invoked = {
      list: branchOf(definition, "list").list,
      prepare: states[names.prepare],
      child: (states[names.map]!.ItemProcessor as { States: Record<string, AslState> }).States[names.child],
      distributedChild: (states[names.mapDistributed]!.ItemProcessor as { States: Record<string, AslState> }).States[names.distributedChild],
      collect: states[names.collect],
    };
    for (const [what, state] of Object.entries(invoked)) {
      expect(contextOf(state), what).toEqual({ "EnteredTime.$": "$$.State.EnteredTime", "RetryCount.$": "$$.State.RetryCount" });
    }
  });

  it("passes asl-validator for inline-only and distributed maps, with retries and without", () => {
    for (const resultsBucket of [undefined, "bucket"]) {
      const { definition } = compileFlow(mappedFlow(), { taskFunctionArn: arn, resultsBucket });
      expect(() => validateDefinition("mapped", definition)).not.toThrow();
    }
  });

  it("gives cfn-lint no error on a state machine with inline and distributed maps", () => {
    const { definition } = compileFlow(mappedFlow(), { taskFunctionArn: arn, resultsBucket: "results-bucket" });
    const template = {
      AWSTemplateFormatVersion: "2010-09-09",
      Resources: {
        Role: {
          Type: "AWS::IAM::Role",
          Properties: { AssumeRolePolicyDocument: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole" }] } },
        },
        Machine: { Type: "AWS::StepFunctions::StateMachine", Properties: { RoleArn: { "Fn::GetAtt": ["Role", "Arn"] }, Definition: definition } },
      },
    };
    const file = join(mkdtempSync(join(tmpdir(), "fh-map-lint-")), "template.json");
    writeFileSync(file, JSON.stringify(template));
    const lint = spawnSync("cfn-lint", ["--format", "json", "--", file], { encoding: "utf8" });
    expect(lint.error).toBeUndefined();
    const findings = JSON.parse(lint.stdout || "[]") as { Level: string; Message: string }[];
    expect(findings.filter((f) => f.Level === "Error")).toEqual([]);
  });

  it("keeps every state name of a mapped task with a 64-character name within Step Functions' 80 characters", () => {
    const name = "m".repeat(64);
    const list = task({ name: "list" }, () => [1]);
    const work = task({ name }, (x: number) => x);
    const { definition } = compileFlow(new Flow({ name: "long-names" }, () => void work.map(list())), { taskFunctionArn: arn, resultsBucket: "b" });
    const stateNames = (states: Record<string, AslState>): string[] =>
      Object.entries(states).flatMap(([n, s]) => [
        n,
        ...((s.Branches ?? []) as { States: Record<string, AslState> }[]).flatMap((b) => stateNames(b.States)),
        ...(s.ItemProcessor ? stateNames((s.ItemProcessor as { States: Record<string, AslState> }).States) : []),
      ]);
    const all = stateNames(definition.States);
    expect(all).toContain(mapStateNames(name).distributedChildInfra);
    expect(Math.max(...all.map((n) => n.length))).toBeLessThanOrEqual(80);
  });

  it("honours mapMode: inline drops the Distributed Map; distributed without a results bucket names the fix", () => {
    const names = mapStateNames("work");
    const inline = compileFlow(mappedFlow(), { taskFunctionArn: arn, resultsBucket: "b", mapMode: () => "inline" });
    expect(branchOf(inline.definition, "work")[names.mapDistributed]).toBeUndefined();
    const forced = compileFlow(mappedFlow(), { taskFunctionArn: arn, resultsBucket: "b", mapMode: () => "distributed" });
    expect((branchOf(forced.definition, "work")[names.prepare]!.Parameters as { Payload: { mapMode: string } }).Payload.mapMode).toBe("distributed");
    expect(() => compileFlow(mappedFlow(), { taskFunctionArn: arn, mapMode: () => "distributed" })).toThrow(CompileError);
    expect(() => compileFlow(mappedFlow(), { taskFunctionArn: arn, mapMode: () => "distributed" })).toThrow(/`work`.*resultsBucket/);
  });

  it("reads a mapped reference task's `failed` flag at its branch path in the final Choice", () => {
    const list = task({ name: "list" }, () => [1]);
    const work = task({ name: "work" }, (x: number) => x);
    const { definition, tasks } = compileFlow(new Flow({ name: "f" }, () => void work.map(list())), { taskFunctionArn: arn });
    expect(tasks.get("work")!.outputPath).toBe("$.L1[0].work");
    expect(definition.States["flowhooks.Level1"]!.Type).toBe("Parallel");
    expect(definition.States["flowhooks.Decide"]!.Choices).toEqual([{ Variable: "$.L1[0].work.failed", BooleanEquals: true, Next: "flowhooks.FailureCause" }]);
  });

  it("passes a split flow's parent execution id to the children, and runs the split flow's map", async () => {
    const list = task({ name: "list" }, () => [1, 2]);
    const work = task({ name: "work" }, (x: number) => x + 1);
    const sum = task({ name: "sum" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
    const flow = new Flow({ name: "split" }, () => void sum(work.map(list())));
    const run = await runLocally(flow, {}, { partDefinitionChars: 1 });
    expect(run.compiled.parts.length).toBeGreaterThan(1);
    const part = run.compiled.parts.find((p) => p.fromLevel <= 1 && p.toLevel >= 1)!;
    const map = branchOf(part.definition, "work")[mapStateNames("work").map]!;
    expect((map.ItemSelector as Record<string, unknown>)["executionId.$"]).toBe("$.flowhooksExecutionId");
    expect(run.error).toBeUndefined();
    expect(run.returned.get("sum").state.result).toBe(5);
    expect(run.events.filter((e) => e.mapIndex !== undefined).every((e) => e.executionArn === EXECUTION_ARN)).toBe(true);
  });

  it("keeps a mapped task's output when outputs are pruned, as long as a later task reads it", () => {
    const list = task({ name: "list" }, () => [1]);
    const work = task({ name: "work" }, (x: number) => x);
    const flow = new Flow({ name: "long" }, () => {
      const mapped = work.map(list());
      let previous: unknown = task({ name: "step-0" }, () => 0)();
      for (let i = 1; i < 80; i++) previous = task({ name: `step-${i}` }, (x: number) => x + 1)(previous as never);
      task({ name: "last" }, (xs: number[], y: number) => xs.length + y)(mapped, previous as never);
    });
    const { definition } = compileFlow(flow, { taskFunctionArn: arn });
    const prunes = Object.entries(definition.States).filter(([name]) => name.startsWith("flowhooks.Prune"));
    expect(prunes.length).toBeGreaterThan(0);
    for (const [, prune] of prunes) expect(Object.keys(prune.Parameters as object)).toContain("L1.$");
    validateDefinition("long", definition);
  });
});
