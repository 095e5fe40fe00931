/** The task Lambda's three steps of a mapped task: prepare, child, collect. */
import { describe, expect, it } from "vitest";
import { Flow, getRunContext, parameter, task } from "../../../lib/index";
import { virtualClock } from "../../../lib/core/clock";
import type { StateJSON } from "../../../lib/core/states";
import {
  INLINE_MAX_ITEMS,
  runTask,
  TaskRetryingError,
  type MapItem,
  type MapPrepareOutput,
  type TaskOutput,
  type TaskResultOutput,
  type TaskStateChangeDetail,
} from "../../../lambdas/task/index";

import { memoryStore } from "../../helpers/memory-store";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:sm:exec-1";
const context = (retryCount = 0) => ({ Execution: { Id: EXECUTION }, State: { RetryCount: retryCount } });


const success = (result: unknown, message = "Task run succeeded."): TaskResultOutput => ({ state: { type: "Success", message, result }, failed: false, skipped: false, failedLabel: "" });

function setup(body: (x: number, k: number) => unknown = (x, k) => x * k, options: { maxRetries?: number; handlerSeen?: unknown[] } = {}) {
  const list = task({ name: "list" }, () => [1, 2, 3]);
  const work = task(
    {
      name: "work",
      maxRetries: options.maxRetries ?? 0,
      stateHandlers: [(_t, _old, next) => void options.handlerSeen?.push(next.isMapped() ? (next.result as { result: unknown }[]).map((c) => c.result) : next.name)],
    },
    body,
  );
  const flow = new Flow({ name: "f" }, () => void work.map(list(), parameter("ks", [10, 20, 30])));
  const events: TaskStateChangeDetail[] = [];
  const { objects, store } = memoryStore();
  const run = (payload: Record<string, unknown>, withStore = true) =>
    runTask({ task: "work", parameters: {}, upstream: {}, context: context(), ...payload } as never, {
      flow,
      taskName: "work",
      clock: virtualClock(),
      emit: async (d) => void events.push(d),
      results: withStore ? store : undefined,
    }) as Promise<any>;
  return { flow, events, objects, store, run };
}

describe("prepare (state `t`)", () => {
  it("plans one item per child with each mapped input's item state, and no verdict", async () => {
    const { run, events } = setup();
    const out: MapPrepareOutput = await run({ mode: "prepare", mapMode: "auto", upstream: { list: success([1, 2, 3]) } });
    expect(out).toEqual({
      count: 3,
      distributed: false,
      itemsKey: null,
      verdict: null,
      items: [0, 1, 2].map((i) => ({ index: i, items: [{ type: "Success", result: i + 1 }, { type: "Success", result: [10, 20, 30][i] }] })),
    });
    expect(events).toEqual([]);
  });

  it("stores an item's result above the threshold; the child reads it back", async () => {
    const { run, objects } = setup((x) => String(x).length);
    const big = "y".repeat(3000);
    const out = await run({ mode: "prepare", mapMode: "auto", upstream: { list: success([big, "b", "c"]) }, parameters: { ks: [1, 2, 3] } });
    const first = out.items[0].items[0];
    expect(first.result).toEqual({ $flowhooksResultRef: { key: "sm/exec-1/work/items/0-0.json", bytes: 3002 } });
    expect(objects.get("sm/exec-1/work/items/0-0.json")).toBe(JSON.stringify(big));
    const child = await run({ mode: "child", item: out.items[0], parameters: { ks: [1, 2, 3] } });
    expect(child.state.result).toBe(3000);
  });

  it("ends the parent at once when what it maps over failed: Pending → TriggerFailed through its handlers, returned as the verdict", async () => {
    const handlerSeen: unknown[] = [];
    const { run, events } = setup(undefined, { handlerSeen });
    const failed: TaskOutput = { state: { type: "Failed", message: "boom" }, failed: true, skipped: false, failedLabel: " `list`" };
    const out: MapPrepareOutput = await run({ mode: "prepare", mapMode: "auto", upstream: { list: failed } });
    expect(out).toMatchObject({ count: 0, distributed: false, items: null, itemsKey: null, verdict: { failed: true, state: { type: "TriggerFailed" } } });
    expect(out.verdict!.state.message).toMatch(/Task `work` cannot map over `list`/);
    expect(events.map((e) => [e.oldState.type, e.newState.type, e.mapIndex])).toEqual([["Pending", "TriggerFailed", undefined]]);
    expect(handlerSeen).toEqual(["TriggerFailed"]);
  });

  it("fails the parent naming the task and the type when the upstream is not an array", async () => {
    const { run } = setup();
    const out: MapPrepareOutput = await run({ mode: "prepare", mapMode: "auto", upstream: { list: success("abc") } });
    expect(out.verdict!.state).toMatchObject({ type: "Failed", message: expect.stringMatching(/Task `work` maps over the result of `list`, which is a string, not an array/) });
  });

  it(`runs more than INLINE_MAX_ITEMS (${INLINE_MAX_ITEMS}) children distributed: the items go to the store as one JSON array`, async () => {
    const { run, objects } = setup();
    const n = INLINE_MAX_ITEMS + 1;
    const list = Array.from({ length: n }, (_, i) => i);
    const out: MapPrepareOutput = await run({ mode: "prepare", mapMode: "auto", upstream: { list: success(list) }, parameters: { ks: list } });
    expect(out).toEqual({ count: n, distributed: true, items: null, itemsKey: "sm/exec-1/work/items.json", verdict: null });
    const items = JSON.parse(objects.get(out.itemsKey!)!) as MapItem[];
    expect(items).toHaveLength(n);
    expect(items[7]).toEqual({ index: 7, items: [{ type: "Success", result: 7 }, { type: "Success", result: 7 }] });
  });

  it("keeps a small map inline under auto, follows a forced mapMode, and runs an empty map inline", async () => {
    const { run } = setup();
    const upstream = { list: success([1, 2, 3]) };
    expect((await run({ mode: "prepare", mapMode: "auto", upstream })).distributed).toBe(false);
    expect((await run({ mode: "prepare", mapMode: "distributed", upstream })).distributed).toBe(true);
    expect(await run({ mode: "prepare", mapMode: "distributed", upstream: { list: success([]) }, parameters: { ks: [] } })).toEqual({ count: 0, distributed: false, items: [], itemsKey: null, verdict: null });
    expect((await run({ mode: "prepare", mapMode: "inline", upstream: { list: success(Array.from({ length: INLINE_MAX_ITEMS + 5 }, () => 1)) }, parameters: { ks: Array.from({ length: INLINE_MAX_ITEMS + 5 }, () => 1) } })).distributed).toBe(false);
  });

  it("goes distributed under auto when the items and the children's largest outputs (failed or not) would not fit the execution's JSON: about 120 children with the default threshold, as the docs say", async () => {
    const { run } = setup();
    const prepare = (n: number) => {
      const list = Array.from({ length: n }, (_, i) => i);
      return run({ mode: "prepare", mapMode: "auto", upstream: { list: success(list) }, parameters: { ks: list } }) as Promise<MapPrepareOutput>;
    };
    expect((await prepare(110)).distributed).toBe(false);
    expect((await prepare(130)).distributed).toBe(true);
  });

  it("fails the parent with the fix when a forced inline map's items cannot fit; without a store auto stays inline and distributed is refused", async () => {
    const { run } = setup();
    const list = Array.from({ length: 200 }, () => "z".repeat(1000));
    const out: MapPrepareOutput = await run({ mode: "prepare", mapMode: "inline", upstream: { list: success(list) }, parameters: { ks: list } }, false);
    expect(out.verdict!.state.message).toMatch(/Task `work` maps over 200 items taking \d+ bytes; an inline Map .* Deploy with FlowStateMachine/);
    await expect(run({ mode: "prepare", mapMode: "distributed", upstream: { list: success([1]) }, parameters: { ks: [1] } }, false)).rejects.toThrow(/FLOWHOOKS_RESULTS_BUCKET/);
    const many = Array.from({ length: INLINE_MAX_ITEMS + 1 }, () => 1);
    expect((await run({ mode: "prepare", mapMode: "auto", upstream: { list: success(many) }, parameters: { ks: many } }, false)).distributed).toBe(false);
  });
});

describe("child (state `t.Child`)", () => {
  const item = (index: number, x: number, k: number): MapItem => ({ index, items: [{ type: "Success", result: x }, { type: "Success", result: k }] });

  it("runs one full task run with its item, mapIndex in the run context, on every event and in the output", async () => {
    let seen: number | undefined;
    const { run, events } = setup((x, k) => {
      seen = getRunContext()?.mapIndex;
      return x * k;
    });
    const out = await run({ mode: "child", item: item(1, 2, 20) });
    expect(seen).toBe(1);
    expect(out).toMatchObject({ mapIndex: 1, failed: false, state: { type: "Success", result: 40 } });
    expect(events.map((e) => [e.task, e.mapIndex, e.newState.type])).toEqual([
      ["work", 1, "Running"],
      ["work", 1, "Success"],
    ]);
  });

  it("throws TaskRetryingError for the state's Retry when a retry is left, and ends Failed on the last attempt", async () => {
    const { run, events } = setup(() => {
      throw new Error("flaky");
    }, { maxRetries: 1 });
    await expect(run({ mode: "child", item: item(2, 3, 30) })).rejects.toBeInstanceOf(TaskRetryingError);
    const last = await run({ mode: "child", item: item(2, 3, 30), context: context(1) });
    expect(last).toMatchObject({ mapIndex: 2, failed: true, attempt: 2, state: { type: "Failed" } });
    expect(events.filter((e) => e.newState.type === "Retrying").map((e) => [e.mapIndex, e.attempt])).toEqual([[2, 1]]);
  });

  it("stores a large result under the child's own key", async () => {
    const { run, objects } = setup((x) => "r".repeat(1000) + x);
    const out = await run({ mode: "child", item: item(4, 5, 1) });
    expect(out.state.result).toEqual({ $flowhooksResultRef: { key: "sm/exec-1/work/child-4/attempt-1.json", bytes: 1003 } });
    expect(objects.has("sm/exec-1/work/child-4/attempt-1.json")).toBe(true);
  });
});

describe("collect (state `t.Collect`)", () => {
  const childOutput = (index: number, state: StateJSON): TaskOutput => ({ state, failed: state.type === "Failed", skipped: false, failedLabel: "", mapIndex: index });

  it("ends the parent Pending → Mapped with the children in item order; failed when a child failed", async () => {
    const handlerSeen: unknown[] = [];
    const { run, events } = setup(undefined, { handlerSeen });
    const children = [childOutput(0, { type: "Success", message: "ok", result: 1 }), childOutput(1, { type: "Failed", message: "bad" }), childOutput(2, { type: "Success", result: 3 })];
    const out = await run({ mode: "collect", map: { count: 3, distributed: false, items: [], itemsKey: null, verdict: null, children } });
    expect(out.failed).toBe(true);
    expect(out.failedLabel).toBe(" `work`");
    expect(events.map((e) => [e.oldState.type, e.newState.type, e.newState.message, e.mapIndex])).toEqual([["Pending", "Mapped", "Mapped 3 children.", undefined]]);
    expect(handlerSeen).toEqual([[1, undefined, 3]]);
  });

  it("gives the parent's handlers the children's stored results, and keeps the references in the output", async () => {
    const handlerSeen: unknown[] = [];
    const { run, store } = setup(undefined, { handlerSeen });
    await store.put("sm/exec-1/work/child-0/attempt-1.json", JSON.stringify("stored value"));
    const ref = { $flowhooksResultRef: { key: "sm/exec-1/work/child-0/attempt-1.json", bytes: 14 } };
    const out = await run({ mode: "collect", map: { count: 1, distributed: false, items: [], itemsKey: null, verdict: null, children: [childOutput(0, { type: "Success", result: ref })] } });
    expect(handlerSeen).toEqual([["stored value"]]);
    expect(out.failed).toBe(false);
    expect(JSON.stringify(out.state)).toContain("child-0/attempt-1.json");
  });

  it("turns a child the state machine caught (t.ChildInfra) into a failed child state", async () => {
    const { run } = setup();
    const crashed: TaskOutput = { task: "work", mapIndex: 1, infrastructure: { Error: "Sandbox.Timedout", Cause: "timed out" }, failed: true, skipped: false, failedLabel: " `work`" };
    const out = await run({ mode: "collect", map: { count: 2, distributed: false, items: [], itemsKey: null, verdict: null, children: [childOutput(0, { type: "Success", result: 1 }), crashed] } });
    expect(out.state.result.map((c: StateJSON) => c.type)).toEqual(["Success", "TimedOut"]);
    expect(out.failed).toBe(true);
  });

  it("reads a Distributed Map's children from its ResultWriter manifest and result files, in item order", async () => {
    const { run, store } = setup();
    const execution = (index: number, result: number) => ({
      ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:sm/work.MapDistributed:${index}`,
      Input: JSON.stringify({ item: { index, items: [] }, parameters: {}, upstream: {}, executionId: EXECUTION }),
      InputDetails: { Included: true },
      Output: JSON.stringify(childOutput(index, { type: "Success", message: "Task run succeeded.", result })),
      OutputDetails: { Included: true },
      Status: "SUCCEEDED",
    });
    const failedExecution = {
      Input: JSON.stringify({ item: { index: 1, items: [] } }),
      Status: "FAILED",
      Error: "States.Runtime",
      Cause: "An error occurred while executing the state.",
    };
    await store.put("flowhooks-maps/work/run-id/SUCCEEDED_0.json", JSON.stringify([execution(2, 30), execution(0, 10)]));
    await store.put("flowhooks-maps/work/run-id/FAILED_0.json", JSON.stringify([failedExecution]));
    await store.put(
      "flowhooks-maps/work/run-id/manifest.json",
      JSON.stringify({
        DestinationBucket: "results",
        MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:sm/work.MapDistributed:run-id",
        ResultFiles: { FAILED: [{ Key: "flowhooks-maps/work/run-id/FAILED_0.json", Size: 10 }], PENDING: [], SUCCEEDED: [{ Key: "flowhooks-maps/work/run-id/SUCCEEDED_0.json", Size: 10 }] },
      }),
    );
    const written = { MapRunArn: "arn", ResultWriterDetails: { Bucket: "results", Key: "flowhooks-maps/work/run-id/manifest.json" } };
    const out = await run({ mode: "collect", map: { count: 3, distributed: true, items: null, itemsKey: "k", verdict: null, written } });
    expect(out.state.type).toBe("Mapped");
    const stored = out.state.result as StateJSON[];
    expect(stored.map((c) => [c.type, c.result])).toEqual([
      ["Success", 10],
      ["Failed", { error: "States.Runtime", cause: "An error occurred while executing the state.", infrastructure: true }],
      ["Success", 30],
    ]);
    expect(out.failed).toBe(true);
  });

  it("stores the children's states as one result when they are large", async () => {
    const { run, store } = setup();
    const children = Array.from({ length: 20 }, (_, i) => childOutput(i, { type: "Success", message: "Task run succeeded.", result: i }));
    const out = await run({ mode: "collect", map: { count: 20, distributed: false, items: [], itemsKey: null, verdict: null, children } });
    expect(out.state.result.$flowhooksResultRef.key).toBe("sm/exec-1/work/attempt-1.json");
    const stored = JSON.parse(await store.get(out.state.result.$flowhooksResultRef.key)) as StateJSON[];
    expect(stored.map((c) => c.result)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe("a distributed map, step by step with the real function code", () => {
  it("feeds the items prepare wrote to the children, and collects their outputs from the ResultWriter's files", async () => {
    const { run, store, events } = setup((x, k) => x + k);
    const list = Array.from({ length: 4 }, (_, i) => i);
    const prepared: MapPrepareOutput = await run({ mode: "prepare", mapMode: "distributed", upstream: { list: success(list) }, parameters: { ks: [100, 200, 300, 400] } });
    // What the Distributed Map does: ItemReader reads the array; ItemSelector builds each child execution's input.
    const items = JSON.parse(await store.get(prepared.itemsKey!)) as MapItem[];
    const executions = [];
    for (const item of items) {
      const input = { item, parameters: { ks: [100, 200, 300, 400] }, upstream: {}, executionId: EXECUTION };
      const output = await run({ mode: "child", item: input.item, parameters: input.parameters, upstream: input.upstream, context: { Execution: { Id: input.executionId }, State: { RetryCount: 0 } } });
      executions.push({ Input: JSON.stringify(input), Output: JSON.stringify(output), Status: "SUCCEEDED" });
    }
    await store.put("flowhooks-maps/work/r/SUCCEEDED_0.json", JSON.stringify(executions.reverse()));
    await store.put("flowhooks-maps/work/r/manifest.json", JSON.stringify({ ResultFiles: { SUCCEEDED: [{ Key: "flowhooks-maps/work/r/SUCCEEDED_0.json", Size: 1 }], FAILED: [], PENDING: [] } }));
    const written = { MapRunArn: "arn", ResultWriterDetails: { Bucket: "results", Key: "flowhooks-maps/work/r/manifest.json" } };
    const out = await run({ mode: "collect", map: { ...prepared, written } });
    const children = (out.state.result.$flowhooksResultRef ? JSON.parse(await store.get(out.state.result.$flowhooksResultRef.key)) : out.state.result) as StateJSON[];
    expect(children.map((c) => c.result)).toEqual([100, 201, 302, 403]);
    expect(events.filter((e) => e.mapIndex !== undefined && e.newState.type === "Success").map((e) => [e.executionArn, e.mapIndex])).toEqual([0, 1, 2, 3].map((i) => [EXECUTION, i]));
    expect(events.at(-1)).toMatchObject({ oldState: { type: "Pending" }, newState: { type: "Mapped", message: "Mapped 4 children." } });
  });
});

describe("a task downstream of a mapped task", () => {
  it("gets the children's results, stored ones read back, from the stored Mapped output", async () => {
    const list = task({ name: "list" }, () => [1, 2]);
    const work = task({ name: "work" }, (x: number) => x);
    const sum = task({ name: "sum" }, (xs: unknown[]) => xs);
    const flow = new Flow({ name: "f" }, () => void sum(work.map(list())));
    const { store } = memoryStore();
    await store.put("child-1.json", JSON.stringify({ big: true }));
    await store.put("mapped.json", JSON.stringify([{ type: "Success", result: 1 }, { type: "Success", result: { $flowhooksResultRef: { key: "child-1.json", bytes: 12 } } }]));
    const upstream = { work: { state: { type: "Mapped", message: "Mapped 2 children.", result: { $flowhooksResultRef: { key: "mapped.json", bytes: 90 } } }, failed: false, skipped: false, failedLabel: "" } };
    const out = await runTask({ task: "sum", parameters: {}, upstream, context: context() }, { flow, taskName: "sum", clock: virtualClock(), results: store });
    expect(out.state.result).toEqual([1, { big: true }]);
  });
});
