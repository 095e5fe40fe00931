import aslValidator from "asl-validator";
import { describe, expect, it } from "vitest";
import { prepareDefinition, RETRY_COUNT_MARKER, UnsupportedDefinitionError } from "../../lib/emulate/index";
import { DISTRIBUTED_MAP_RESOURCE, ENTERED_TIME_MARKER, supplyStateContext } from "../../lib/emulate/definition";
import { diffTraces } from "../helpers/fidelity";

const ENTERED = "2026-01-02T03:04:05.678Z";

const fn = "arn:aws:lambda:us-east-1:123456789012:function:f";
const machine = (extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
  JSON.stringify({ StartAt: "T", ...top, States: { T: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Parameters: { FunctionName: fn, Payload: { "attempt.$": "$$.State.RetryCount" } }, End: true, ...extra } } });

describe("preparing a deployed definition for aws-local-stepfunctions", () => {
  it("refuses JSONata, which the emulator would silently ignore", () => {
    expect(() => prepareDefinition(machine({}, { QueryLanguage: "JSONata" }))).toThrow(UnsupportedDefinitionError);
    expect(() => prepareDefinition(machine({}, { QueryLanguage: "JSONata" }))).toThrow(/JSONata.*silently ignores/);
  });

  it("refuses HeartbeatSeconds, which it would not enforce", () => {
    expect(() => prepareDefinition(machine({ HeartbeatSeconds: 10, TimeoutSeconds: 60 }))).toThrow(/HeartbeatSeconds/);
  });

  it("refuses a Distributed Map that reads its items otherwise than as one JSON array from S3", () => {
    const def = JSON.stringify({
      StartAt: "M",
      States: { M: { Type: "Map", ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "P", States: { P: { Type: "Pass", End: true } } }, End: true } },
    });
    expect(() => prepareDefinition(def)).toThrow(/Distributed Map that has no ItemReader; the emulator runs a Distributed Map as an inline Map only when/);
  });

  it("rewrites a Distributed Map into a Task state the emulator runs as an inline Map with the same processor and item selector", () => {
    const child = { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Parameters: { FunctionName: fn, Payload: { "item.$": "$.item", "n.$": "$$.State.RetryCount" } }, End: true };
    const def = JSON.stringify({
      StartAt: "t.MapDistributed",
      States: {
        "t.MapDistributed": {
          Type: "Map",
          ItemReader: { Resource: "arn:aws:states:::s3:getObject", ReaderConfig: { InputType: "JSON" }, Parameters: { Bucket: "results", "Key.$": "$.flowhooksMap.itemsKey" } },
          ItemSelector: { "item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index" },
          MaxConcurrency: 3,
          ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "t.DistChild", States: { "t.DistChild": child } },
          ResultWriter: { Resource: "arn:aws:states:::s3:putObject", Parameters: { Bucket: "results", Prefix: "flowhooks-maps/t" } },
          ToleratedFailurePercentage: 100,
          ResultPath: "$.flowhooksMap.written",
          Catch: [{ ErrorEquals: ["States.ALL"], Next: "t.Infra" }],
          Next: "t.Collect",
        },
        "t.Collect": { Type: "Pass", End: true },
        "t.Infra": { Type: "Pass", End: true },
      },
    });
    const prepared = prepareDefinition(def);
    expect(prepared.definition.States["t.MapDistributed"]).toEqual({
      Type: "Task",
      Resource: DISTRIBUTED_MAP_RESOURCE,
      Parameters: { "input.$": "$", reader: { Bucket: "results", "Key.$": "$.flowhooksMap.itemsKey" }, writer: { Bucket: "results", Prefix: "flowhooks-maps/t" } },
      TimeoutSeconds: expect.any(Number),
      ResultPath: "$.flowhooksMap.written",
      Catch: [{ ErrorEquals: ["States.ALL"], Next: "t.Infra" }],
      Next: "t.Collect",
    });
    const map = prepared.distributedMaps!.get("t.MapDistributed")!;
    expect(map).toMatchObject({ maxConcurrency: 3, writesResults: true, toleratedFailurePercentage: 100, toleratedFailureCount: 0 });
    const inline = map.inline.definition.States["t.MapDistributed"];
    expect(inline.ItemProcessor.ProcessorConfig).toEqual({ Mode: "INLINE" });
    expect(inline.ItemsPath).toBe("$$.FlowhooksEmulator.Items");
    // Run one item at a time, the item's index comes from the emulator; the child's payload is adapted as everywhere.
    expect(inline.ItemSelector).toEqual({ "item.$": "$$.Map.Item.Value", "index.$": "$$.FlowhooksEmulator.Index" });
    expect(inline.ItemProcessor.States["t.DistChild"].Parameters.Payload.n).toBe(RETRY_COUNT_MARKER);
    expect([...prepared.iteratedStates!]).toEqual(["t.DistChild"]);
    expect(prepared.taskStates.get("t.MapDistributed")?.Resource).toBe(DISTRIBUTED_MAP_RESOURCE);
    expect(prepared.taskStates.has("t.DistChild")).toBe(true);
  });

  it("rewrites a payload's $$.State.RetryCount into a marker the invoker fills with the attempt it counted", () => {
    const { definition } = prepareDefinition(machine());
    expect(definition.States.T.Parameters.Payload).toEqual({ attempt: RETRY_COUNT_MARKER });
    expect(supplyStateContext({ Payload: { attempt: RETRY_COUNT_MARKER } }, { retryCount: 2, enteredTime: ENTERED }, "T")).toEqual({ Payload: { attempt: 2 } });
  });

  it("rewrites a payload's $$.State.EnteredTime into a marker the invoker fills with when the state was entered", () => {
    const text = JSON.stringify({
      StartAt: "T",
      States: { T: { Type: "Task", Resource: "arn:aws:lambda:us-east-1:123456789012:function:f", Parameters: { State: { "EnteredTime.$": "$$.State.EnteredTime" } }, End: true } },
    });
    const { definition } = prepareDefinition(text);
    expect(definition.States.T.Parameters).toEqual({ State: { EnteredTime: ENTERED_TIME_MARKER } });
    expect(supplyStateContext(definition.States.T.Parameters, { retryCount: 0, enteredTime: ENTERED }, "T")).toEqual({ State: { EnteredTime: ENTERED } });
  });

  it("refuses $$.State.EnteredTime anywhere but as a whole Task payload field, naming the field", () => {
    const text = JSON.stringify({
      StartAt: "P",
      States: { P: { Type: "Pass", Parameters: { "at.$": "$$.State.EnteredTime" }, End: true } },
    });
    expect(() => prepareDefinition(text)).toThrow(/State `P` reads \$\$\.State\.EnteredTime in `at\.\$`/);
  });

  it("fills State.RetryCount into a context object, and State.EnteredTime only into a whole $$ (never into a slice that left it out)", () => {
    const slice = { Payload: { context: { Execution: { Id: "arn:x" } } } };
    expect(supplyStateContext(slice, { retryCount: 1, enteredTime: ENTERED }, "T")).toEqual({ Payload: { context: { Execution: { Id: "arn:x" }, State: { Name: "T", RetryCount: 1 } } } });
    // The compiled slice asks for both: its markers are filled.
    const compiled = { Payload: { context: { Execution: { Id: "arn:x" }, State: { EnteredTime: ENTERED_TIME_MARKER, RetryCount: RETRY_COUNT_MARKER } } } };
    expect(supplyStateContext(compiled, { retryCount: 2, enteredTime: ENTERED }, "T")).toEqual({
      Payload: { context: { Execution: { Id: "arn:x" }, State: { Name: "T", EnteredTime: ENTERED, RetryCount: 2 } } },
    });
    const whole = { Payload: { context: { Execution: { Id: "arn:x" }, StateMachine: { Id: "arn:sm" } } } };
    expect(supplyStateContext(whole, { retryCount: 1, enteredTime: ENTERED }, "T")).toEqual({
      Payload: { context: { Execution: { Id: "arn:x" }, StateMachine: { Id: "arn:sm" }, State: { Name: "T", EnteredTime: ENTERED, RetryCount: 1 } } },
    });
  });

  it("never changes the execution's objects: what holds a marker is copied, what holds none is handed on as it is", () => {
    const upstream = { t0: { state: { type: "Success", result: [1, { deep: true }] } } };
    const input = { Payload: { upstream, list: [upstream, { attempt: RETRY_COUNT_MARKER }], context: { Execution: { Id: "arn:x" } } } };
    const before = structuredClone(input);
    const out = supplyStateContext(input, { retryCount: 3, enteredTime: ENTERED }, "T") as typeof input;
    expect(input).toEqual(before);
    expect(out.Payload.list[1]).toEqual({ attempt: 3 });
    expect(out.Payload.context).toEqual({ Execution: { Id: "arn:x" }, State: { Name: "T", RetryCount: 3 } });
    expect(out.Payload.upstream).toBe(upstream);
    expect(out.Payload.list[0]).toBe(upstream);
    const plain = { Payload: { upstream } };
    expect(supplyStateContext(plain, { retryCount: 0, enteredTime: ENTERED }, "T")).toBe(plain);
  });

  it("keeps the adapted definition valid ASL, so the emulator's state machine need not validate it again on every run", () => {
    const { definition } = prepareDefinition(machine());
    expect(definition.States.T.TimeoutSeconds).toBeGreaterThan(0);
    const check = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
    expect(check.errorsText("; ")).toBe("");
    expect(check.isValid).toBe(true);
  });

  it("leaves the deployed text as it was (asl-validator and the rewrite work on copies)", () => {
    const text = machine();
    const before = JSON.parse(text);
    const { definition } = prepareDefinition(text);
    expect(definition).not.toEqual(before);
    expect(JSON.parse(text)).toEqual(before);
    expect(definition.QueryLanguage).toBeUndefined();
  });
});

describe("the fidelity diff", () => {
  it("prints which transitions differ, per object", () => {
    const diff = diffTraces(new Map([["task a", ["Pending() -> Running()", "Running() -> Success()"]]]), new Map([["task a", ["Pending() -> Running()", "Running() -> Failed()"]]]));
    expect(diff).toBe("Local and emulated runs differ:\ntask a:\n    Pending() -> Running()\n  - Running() -> Success()   (local)\n  + Running() -> Failed()   (emulated)");
  });
});
