/**
 * Mapping (`task.map`) as users rely on it, through `flow.run()`: children's results in order,
 * `unmapped`/`flatten`, map over a mapped result, triggers and reference tasks over children,
 * the errors a wrong map gives, `mapConcurrency`, child retries and handlers, `mapIndex`.
 */
import { describe, expect, it } from "vitest";
import {
  Failed,
  Flow,
  FlowDefinitionError,
  getRunContext,
  Mapped,
  parameter,
  signals,
  Skipped,
  State,
  Success,
  TriggerFailed,
  flatten,
  task,
  triggers,
  unmapped,
  virtualClock,
  type Task,
  type TransitionEvent,
} from "../../lib/index";
import { recorder } from "../helpers/trace";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The flow's final state and each task's, by task name. */
async function run(flow: Flow, options: Parameters<Flow["run"]>[0] = {}) {
  const final = await flow.run({ clock: virtualClock(), ...options });
  const byName = new Map<string, State>();
  for (const [t, s] of final.result) byName.set((t as Task).name, s);
  return { final, state: (name: string) => byName.get(name)!, tasks: [...byName.keys()] };
}

describe("map: results", () => {
  it("a downstream task gets the children's results in item order, whatever order they finished in", async () => {
    const clock = virtualClock();
    const list = task(function list() {
      return [30, 10, 20];
    });
    const wait = task(async function wait(ms: number) {
      await clock.sleep(ms);
      return `waited ${ms}`;
    });
    const collect = task(function collect(results: string[]) {
      return results;
    });
    const { final, state } = await run(new Flow({ name: "f" }, () => void collect(wait.map(list()))), { clock });
    expect(final).toBeInstanceOf(Success);
    expect(state("collect").result).toEqual(["waited 30", "waited 10", "waited 20"]);
    const parent = state("wait");
    expect(parent).toBeInstanceOf(Mapped);
    expect(parent.message).toBe("Mapped 3 children.");
    expect((parent as Mapped).mapStates.map((s) => s.result)).toEqual(["waited 30", "waited 10", "waited 20"]);
  });

  it("the mapped task is one entry of the run's result; children are not separate entries", async () => {
    const double = task(function double(x: number) {
      return x * 2;
    });
    const { tasks } = await run(new Flow({ name: "f" }, () => void double.map([1, 2, 3])));
    expect(tasks).toEqual(["double"]);
  });

  it("unmapped(x) passes x whole to every child, next to the mapped list", async () => {
    const settings = task(function settings() {
      return { scale: 10 };
    });
    const resize = task(function resize(size: number, s: { scale: number }, suffix: string) {
      return `${size * s.scale}${suffix}`;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void resize.map([1, 2], unmapped(settings()), unmapped("px"))));
    expect((state("resize") as Mapped).mapStates.map((s) => s.result)).toEqual(["10px", "20px"]);
  });

  it("flatten(listOfLists) maps one child per inner item", async () => {
    const pages = task(function pages() {
      return [["a", "b"], [], ["c"]];
    });
    const parse = task(function parse(page: string) {
      return page.toUpperCase();
    });
    const { state } = await run(new Flow({ name: "f" }, () => void parse.map(flatten(pages()))));
    expect(state("parse").message).toBe("Mapped 3 children.");
    expect((state("parse") as Mapped).mapStates.map((s) => s.result)).toEqual(["A", "B", "C"]);
  });

  it("maps over a parameter's list", async () => {
    const inc = task(function inc(x: number) {
      return x + 1;
    });
    const sum = task(function sum(xs: number[]) {
      return xs.reduce((a, b) => a + b, 0);
    });
    const flow = new Flow({ name: "f" }, () => void sum(inc.map(parameter<number[]>("xs"))));
    const { state } = await run(flow, { parameters: { xs: [1, 2, 3] } });
    expect(state("sum").result).toBe(9);
  });
});

describe("map over a mapped result", () => {
  it("child i feeds child i; a failed child makes only its own downstream child TriggerFailed, the others run", async () => {
    const resize = task(function resize(x: number) {
      if (x === 1) throw new Error("bad image");
      return x * 10;
    });
    const thumb = task(function thumb(x: number) {
      return `thumb ${x}`;
    });
    const { final, state } = await run(new Flow({ name: "f" }, () => void thumb.map(resize.map([0, 1, 2]))));
    const children = (state("thumb") as Mapped).mapStates;
    expect(children.map((s) => s.name)).toEqual(["Success", "TriggerFailed", "Success"]);
    expect(children.map((s) => s.result)).toEqual(["thumb 0", undefined, "thumb 20"]);
    expect(state("thumb")).toBeInstanceOf(Mapped);
    // The reference task (thumb) stands for its children: one TriggerFailed child fails the flow.
    expect(final).toBeInstanceOf(Failed);
  });
});

describe("map: triggers and reference tasks look at the children", () => {
  it("a mapped task's trigger is checked per child against that child's item: anyFailed cleans up only after the children that failed", async () => {
    const work = task(function work(x: number) {
      if (x === 1) throw new Error("item 1 failed");
      return x;
    });
    const cleanup = task({ trigger: triggers.anyFailed }, function cleanup(x: unknown) {
      return `cleaned ${x instanceof Error ? x.message : x}`;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void cleanup.map(work.map([0, 1, 2]))));
    const children = (state("cleanup") as Mapped).mapStates;
    expect(children.map((s) => s.name)).toEqual(["TriggerFailed", "Success", "TriggerFailed"]);
    expect(children[1]!.result).toBe("cleaned item 1 failed");
  });

  function failingChild(trigger?: (typeof triggers)[keyof typeof triggers]) {
    const work = task(function work(x: number) {
      if (x === 1) throw new Error("item 1 failed");
      return x;
    });
    const reduce = task({ trigger }, function reduce(xs: number[]) {
      return xs;
    });
    return new Flow({ name: "f" }, () => void reduce(work.map([0, 1, 2])));
  }

  it("with the default trigger, one failed child makes the reducer TriggerFailed (the parent itself is Mapped, a Success)", async () => {
    const { final, state } = await run(failingChild());
    expect(state("work")).toBeInstanceOf(Mapped);
    expect(state("reduce")).toBeInstanceOf(TriggerFailed);
    expect(final).toBeInstanceOf(Failed);
  });

  it("allFinished runs the reducer over the children's results (a failed child's result is its error)", async () => {
    const { state } = await run(failingChild(triggers.allFinished));
    expect(state("reduce")).toBeInstanceOf(Success);
    const results = state("reduce").result as unknown[];
    expect(results[0]).toBe(0);
    expect((results[1] as Error).message).toBe("item 1 failed");
    expect(results[2]).toBe(2);
  });

  it("anyFailed fires on a failed child, and is TriggerFailed when every child succeeded", async () => {
    expect((await run(failingChild(triggers.anyFailed))).state("reduce")).toBeInstanceOf(Success);
    const ok = task(function ok(x: number) {
      return x;
    });
    const onFailure = task({ trigger: triggers.anyFailed }, function onFailure(xs: number[]) {
      return xs;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void onFailure(ok.map([1, 2]))));
    expect(state("onFailure")).toBeInstanceOf(TriggerFailed);
  });

  it("a mapped reference task with a failed child fails the flow", async () => {
    const work = task(function work(x: number) {
      if (x === 2) throw new Error("no");
      return x;
    });
    const after = task({ trigger: triggers.alwaysRun }, function after() {});
    const flow = new Flow({ name: "f", referenceTasks: [work] }, () => {
      after().after(work.map([1, 2, 3]));
    });
    const { final, state } = await run(flow);
    expect(state("work")).toBeInstanceOf(Mapped);
    expect(final).toBeInstanceOf(Failed);
    expect(final.message).toBe("Some reference tasks failed.");
  });
});

describe("map: what the children are", () => {
  it("an empty list gives Mapped with no children, and the reducer gets []", async () => {
    const rec = recorder();
    const work = task({ stateHandlers: [rec.handler] }, function work(x: number) {
      return x;
    });
    const reduce = task(function reduce(xs: number[]) {
      return xs;
    });
    const { final, state } = await run(new Flow({ name: "f" }, () => void reduce(work.map([] as number[]))));
    expect(state("work")).toBeInstanceOf(Mapped);
    expect(state("work").message).toBe("Mapped 0 children.");
    expect(state("reduce").result).toEqual([]);
    expect(rec.calls).toEqual(['Pending() -> Mapped("Mapped 0 children.")']);
    expect(final).toBeInstanceOf(Success);
  });

  it("a list that is not an array fails the parent, naming the task and the value's type; no child runs", async () => {
    let ran = 0;
    const config = task(function config() {
      return { files: ["a"] };
    });
    const work = task(function work(x: unknown) {
      ran++;
      return x;
    });
    const { final, state } = await run(new Flow({ name: "f" }, () => void work.map(config() as never)));
    expect(ran).toBe(0);
    expect(state("work")).toBeInstanceOf(Failed);
    expect(state("work").message).toBe(
      "Task `work` maps over the result of `config`, which is an object, not an array; return an array from it, or pass it whole to every child with unmapped(...).",
    );
    expect(final).toBeInstanceOf(Failed);
  });

  it("flatten of a list whose item is not a list fails the parent, naming the item", async () => {
    const pages = task(function pages() {
      return [["a"], "b"];
    });
    const parse = task(function parse(x: string) {
      return x;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void parse.map(flatten(pages() as never))));
    expect(state("parse")).toBeInstanceOf(Failed);
    expect(state("parse").message).toBe(
      "Task `parse` maps over flatten(the result of `pages`), whose item 1 is a string, not an array; flatten(...) takes a list of lists (map without flatten over a plain list).",
    );
  });

  it("lists of different lengths are refused (Prefect 1.x would take the shortest)", async () => {
    const pair = task(function pair(a: number, b: string) {
      return `${a}${b}`;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void pair.map([1, 2, 3], ["a", "b"])));
    expect(state("pair")).toBeInstanceOf(Failed);
    expect(state("pair").message).toBe(
      "Task `pair` maps over lists of different lengths: argument 1 has 3 items, argument 2 has 2; map over lists of one length, or pass a list whole to every child with unmapped(...).",
    );
  });

  it("a skipped upstream task skips the mapped task, and the skip propagates downstream", async () => {
    const list = task(function list(): number[] {
      throw new signals.SKIP("nothing to do today");
    });
    const work = task(function work(x: number) {
      return x;
    });
    const reduce = task(function reduce(xs: number[]) {
      return xs;
    });
    const { final, state } = await run(new Flow({ name: "f" }, () => void reduce(work.map(list()))));
    expect(state("list")).toBeInstanceOf(Skipped);
    expect(state("work")).toBeInstanceOf(Skipped);
    expect(state("work")).not.toBeInstanceOf(Mapped);
    expect(state("reduce")).toBeInstanceOf(Skipped);
    expect(final).toBeInstanceOf(Success);
  });

  it("a skipped child skips its own child in a map over it, and counts as successful for the reducer", async () => {
    const pick = task(function pick(x: number) {
      if (x === 1) throw new signals.SKIP("not this one");
      return x;
    });
    const next = task(function next(x: number) {
      return x * 10;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void next.map(pick.map([0, 1, 2]))));
    expect((state("next") as Mapped).mapStates.map((s) => s.name)).toEqual(["Success", "Skipped", "Success"]);
  });
});

describe("map: children are full task runs", () => {
  it("mapConcurrency caps how many children's bodies run at once", async () => {
    const clock = virtualClock();
    let running = 0;
    let most = 0;
    const slow = task({ mapConcurrency: 3 }, async function slow(x: number) {
      running++;
      most = Math.max(most, running);
      await clock.sleep(100);
      running--;
      return x;
    });
    const { state } = await run(new Flow({ name: "f" }, () => void slow.map(range(10))), { clock });
    expect(most).toBe(3);
    expect((state("slow") as Mapped).mapStates.map((s) => s.result)).toEqual(range(10));

    // Without the cap, all ten are in flight together.
    running = most = 0;
    const free = task(async function free(x: number) {
      running++;
      most = Math.max(most, running);
      await clock.sleep(100);
      running--;
      return x;
    });
    await run(new Flow({ name: "g" }, () => void free.map(range(10))), { clock });
    expect(most).toBe(10);
  });

  it("children retry on their own and each child's transitions reach the task's handlers (Prefect's test_scheduled_runs_handle_mapped_retries)", async () => {
    const calls: string[] = [];
    const failedOnce = new Set<number>();
    const work = task(
      {
        maxRetries: 1,
        retryDelaySeconds: 1,
        stateHandlers: [
          (_task, oldState, newState) => {
            calls.push(`${getRunContext()?.mapIndex ?? "parent"}: ${oldState.name} -> ${newState.name}`);
          },
        ],
      },
      function work(x: number) {
        if (x === 1 && !failedOnce.has(x)) {
          failedOnce.add(x);
          throw new Error("once");
        }
        return x;
      },
    );
    const { state } = await run(new Flow({ name: "f" }, () => void work.map([0, 1, 2])));
    expect(state("work")).toBeInstanceOf(Mapped);
    expect(calls.filter((c) => c.startsWith("parent"))).toEqual(["parent: Pending -> Mapped"]);
    expect(calls.filter((c) => c.startsWith("1:"))).toEqual([
      "1: Pending -> Running",
      "1: Running -> Failed",
      "1: Failed -> Retrying",
      "1: Retrying -> Running",
      "1: Running -> Success",
    ]);
    expect(calls.filter((c) => c.startsWith("0:"))).toHaveLength(2);
    expect(calls.filter((c) => c.startsWith("2:"))).toHaveLength(2);
    expect(calls).toHaveLength(1 + 5 + 2 * 2);
    // The parent's handler sees Pending → Mapped once, after every child finished.
    expect(calls.at(-1)).toBe("parent: Pending -> Mapped");
  });

  it("getRunContext().mapIndex is the child's index in its body and handlers, and absent for the parent and other tasks", async () => {
    const seen: string[] = [];
    const list = task(function list() {
      seen.push(`list body ${getRunContext()?.mapIndex}`);
      return ["a", "b"];
    });
    const work = task(
      { stateHandlers: [(_t, _o, n) => void seen.push(`handler ${n.name} ${getRunContext()?.mapIndex}`)] },
      async function work(item: string) {
        await Promise.resolve();
        seen.push(`body ${item} ${getRunContext()?.mapIndex}`);
        return item;
      },
    );
    await run(new Flow({ name: "f" }, () => void work.map(list())));
    expect(seen).toContain("list body undefined");
    expect(seen).toContain("body a 0");
    expect(seen).toContain("body b 1");
    expect(seen.filter((s) => s.startsWith("handler Success")).sort()).toEqual(["handler Success 0", "handler Success 1"]);
    expect(seen).toContain("handler Mapped undefined");
  });

  it("each child's transitions carry its mapIndex (named t[i] by the CLI and alerts); the parent's carry none", async () => {
    const events: TransitionEvent[] = [];
    const work = task(function work(x: number) {
      return x;
    });
    await run(new Flow({ name: "f" }, () => void work.map([5, 6])), { onTransition: (e) => events.push(e) });
    const tasks = events.filter((e) => e.kind === "task").map((e) => `${e.name}${e.mapIndex === undefined ? "" : `[${e.mapIndex}]`} ${e.oldState.name}->${e.newState.name}`);
    expect([...tasks].sort()).toEqual(
      ["work[0] Pending->Running", "work[0] Running->Success", "work[1] Pending->Running", "work[1] Running->Success", "work Pending->Mapped"].sort(),
    );
    expect(tasks.at(-1)).toBe("work Pending->Mapped");
  });

  it("a task mapped twice in a flow becomes two nodes with distinct names", async () => {
    const double = task(function double(x: number) {
      return x * 2;
    });
    const { tasks, state } = await run(
      new Flow({ name: "f" }, () => {
        double.map([1, 2]);
        double.map([3]);
      }),
    );
    expect(tasks).toEqual(["double", "double-2"]);
    expect((state("double-2") as Mapped).mapStates.map((s) => s.result)).toEqual([6]);
  });
});

describe("map: definition errors", () => {
  const work = task(function work(x: number) {
    return x;
  });

  it("unmapped(...) and flatten(...) in a plain call are refused, naming the fix", () => {
    expect(() => new Flow({ name: "f" }, () => void work(unmapped(1) as never)).graph()).toThrow(
      new FlowDefinitionError("<Task: work> was passed unmapped(...) in a plain call; unmapped(...) only means something inside work.map(...)."),
    );
    expect(() => new Flow({ name: "f" }, () => void work(flatten([[1]]) as never)).graph()).toThrow(/was passed flatten\(\.\.\.\) in a plain call; flatten\(\.\.\.\) only means something inside work\.map/);
  });

  it("t.map(...) outside a flow builder is refused, naming where to call it", () => {
    expect(() => work.map([1])).toThrow(FlowDefinitionError);
    expect(() => work.map([1])).toThrow(/work.*\.map\(\.\.\.\) was called outside a flow builder; call it inside new Flow\(\{ name \}, \(\) => \{ … \}\)/);
  });

  it("a map whose every argument is unmapped is refused", () => {
    expect(() => new Flow({ name: "f" }, () => void work.map(unmapped(1))).graph()).toThrow(/needs at least one argument to map over/);
  });
});

describe("Mapped state", () => {
  it("round-trips through JSON with its children's states", () => {
    const mapped = new Mapped("Mapped 2 children.", { result: [new Success("Task run succeeded.", { result: 1 }), new Failed("boom")] });
    const json = JSON.parse(JSON.stringify(mapped));
    expect(json).toEqual({
      type: "Mapped",
      message: "Mapped 2 children.",
      result: [
        { type: "Success", message: "Task run succeeded.", result: 1 },
        { type: "Failed", message: "boom" },
      ],
    });
    const back = State.fromJSON(json);
    expect(back).toBeInstanceOf(Mapped);
    expect(back.isSuccessful()).toBe(true);
    expect((back as Mapped).mapStates.map((s) => [s.name, s.result])).toEqual([
      ["Success", 1],
      ["Failed", undefined],
    ]);
    expect((back as Mapped).mapStates[1]).toBeInstanceOf(Failed);
  });
});
