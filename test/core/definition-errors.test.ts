import { describe, expect, it } from "vitest";
import { Flow, FlowDefinitionError, Task, callbackFactory, task } from "../../lib/index";

const noop = () => undefined;

describe("bad flow and task definitions fail at definition time, naming the fix", () => {
  it("duplicate task names", () => {
    const a = task({ name: "load" }, noop);
    const b = task({ name: "load" }, noop);
    expect(() => new Flow({ name: "orders", tasks: [a, b] })).toThrow(
      new FlowDefinitionError("Task name `load` is used twice in flow `orders`; give one of them { name: … }."),
    );
  });

  it("a cycle made with after()", () => {
    const a = task(function a() {});
    const b = task(function b() {});
    expect(
      () =>
        new Flow({ name: "loop" }, () => {
          const ra = a();
          const rb = b().after(ra);
          ra.after(rb);
        }),
    ).toThrow("Flow `loop` has a cycle through `a`, `b`; remove one of the .after(...) edges between them.");
  });

  it("calling a task outside a builder", () => {
    const load = task(function load() {});
    expect(() => load()).toThrow(FlowDefinitionError);
    expect(() => load()).toThrow(
      "<Task: load> was called outside a flow builder. Call it inside new Flow({ name }, () => { … }), or add it with new Flow({ name, tasks: [load] }); use flow.run() to run it.",
    );
  });

  it("a non-function state handler", () => {
    expect(() => task({ stateHandlers: ["notify" as never] }, noop)).toThrow(
      "Task `noop`: stateHandlers[0] is string, not a function; a state handler is (obj, oldState, newState) => State | undefined.",
    );
    expect(() => new Flow({ name: "f", stateHandlers: {} as never })).toThrow("must be an array of functions");
    expect(() => callbackFactory("x" as never, () => true)).toThrow(TypeError);
  });

  it("negative or fractional retries, bad delays and bad jitter", () => {
    expect(() => task({ maxRetries: -1 }, noop)).toThrow("Task `noop`: `maxRetries` is -1; it must be a whole number from 0 to 99999999.");
    expect(() => task({ maxRetries: 1.5 }, noop)).toThrow(FlowDefinitionError);
    expect(() => task({ maxRetries: 2, retryDelaySeconds: 0 }, noop)).toThrow("`retryDelaySeconds` is 0; it must be a whole number from 1");
    expect(() => task({ backoffRate: 0.5 }, noop)).toThrow("`backoffRate` is 0.5; it must be a number of at least 1.0.");
    expect(() => task({ jitter: "HALF" as never }, noop)).toThrow('use "NONE" or "FULL"');
    expect(() => task({ timeoutSeconds: 0 }, noop)).toThrow("`timeoutSeconds` is 0; it must be a number above 0.");
  });

  it("task names that cannot name a Step Functions state", () => {
    expect(() => new Flow({ name: "f", tasks: [task({ name: "load orders!" }, noop)] })).toThrow(
      'Task name `load orders!` in flow `f` cannot name a Step Functions state or Lambda function; use 1-64 letters, digits, "-" or "_" (e.g. { name: "load-orders-" }).',
    );
  });

  it("reference tasks that are not in the flow, and passing a task instead of its result", () => {
    const inFlow = new Task({ name: "a" });
    const outside = new Task({ name: "b" });
    expect(() => new Flow({ name: "f", tasks: [inFlow], referenceTasks: [outside] })).toThrow(
      "Flow `f`: reference task <Task: b> is not part of the flow; add it to the flow first.",
    );
    const use = task(function use(_x: unknown) {});
    const make = task(function make() {});
    expect(() => new Flow({ name: "f" }, () => void use(make as never))).toThrow(
      "<Task: use> was passed the task <Task: make> itself; pass the result of calling it: make(...).",
    );
  });

  it("an async builder", () => {
    expect(() => new Flow({ name: "f" }, (async () => {}) as never)).toThrow("the builder function must be synchronous");
  });
});
