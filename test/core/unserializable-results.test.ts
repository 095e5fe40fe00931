/**
 * Deployed, a task's result reaches the next task as JSON. A result JSON cannot carry unchanged
 * fails the task the same way locally and in the task Lambda (one code path), naming the task.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Flow, Success, UnserializableResultError, task, virtualClock, type State } from "../../lib/index";
import { unserializablePart } from "../../lib/core/serialize";
import { createTaskHandler } from "../../lambdas/task/index";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const cyclic = (): unknown => {
  const o: Record<string, unknown> = { id: 1 };
  o.self = o;
  return o;
};

const bad: [string, () => unknown, string][] = [
  ["a function", () => () => 1, "result: a function"],
  ["a BigInt", () => 10n, "result: a BigInt (10n)"],
  ["a symbol", () => Symbol("s"), "result: a symbol (Symbol(s))"],
  ["a cyclic object", cyclic, "result.self: a reference to itself (a cycle)"],
  ["a Map", () => new Map([["a", 1]]), "result: a Map (JSON makes it {})"],
  ["a function inside an array inside an object", () => ({ rows: [1, { client: () => 1 }] }), "result.rows[1].client: a function"],
];

describe("a task result JSON cannot carry", () => {
  for (const [what, make, part] of bad) {
    it(`${what} fails the task locally, naming the task and the fix, and its downstream does not run`, async () => {
      let ran = false;
      const load = task({ name: "load" }, () => make());
      const use = task({ name: "use" }, (_x: unknown) => {
        ran = true;
      });
      const flow = new Flow({ name: "f" }, () => {
        use(load());
      });
      const state = await flow.run();
      const loaded = state.result.get(load)!;
      expect(loaded.isFailed()).toBe(true);
      expect(loaded.result).toBeInstanceOf(UnserializableResultError);
      expect((loaded.result as Error).message).toContain(`Task \`load\` returned a value that cannot be serialized as JSON (${part})`);
      expect((loaded.result as Error).message).toContain("Return plain data");
      expect(ran).toBe(false);
    });
  }

  it("fails the task in the task Lambda with the same error as locally", async () => {
    const load = task({ name: "load" }, async () => ({ total: 10n }));
    const flow = new Flow({ name: "f", tasks: [load] });
    const handler = createTaskHandler(flow, { clock: virtualClock(NOW), env: { FLOWHOOKS_TASK: "load" }, emit: async () => undefined });
    const out = (await handler({
      task: "load",
      parameters: {},
      upstream: {},
      context: {
        Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:f:1", Input: {}, Name: "1", StartTime: NOW.toISOString() },
        State: { Name: "load", EnteredTime: NOW.toISOString(), RetryCount: 0 },
        StateMachine: { Id: "arn:aws:states:us-east-1:123456789012:stateMachine:f", Name: "f" },
      },
    } as never)) as unknown as { state: { result: { $flowhooksError: { name: string; message: string } } }; failed: boolean };
    const local = (await flow.run()).result.get(load)!;
    expect(out.failed).toBe(true);
    const result = out.state.result.$flowhooksError;
    expect(result.name).toBe("UnserializableResultError");
    expect(result.message).toBe((local.result as Error).message);
  });

  it("retries like any other failure while retries are left", async () => {
    let calls = 0;
    const load = task({ name: "load", maxRetries: 1, retryDelaySeconds: 1 }, () => {
      calls++;
      return 1n;
    });
    const state = await new Flow({ name: "f", tasks: [load] }).run({ clock: virtualClock(NOW) });
    expect(calls).toBe(2);
    expect(state.result.get(load)!.isFailed()).toBe(true);
  });
});

describe("results JSON carries", () => {
  it("pass unchanged, Dates and undefined properties included", async () => {
    const when = new Date("2026-01-01T00:00:00Z");
    const load = task({ name: "load" }, () => ({ when, missing: undefined, nested: [{ a: null }] }));
    const state = await new Flow({ name: "f", tasks: [load] }).run();
    const loaded: State = state.result.get(load)!;
    expect(loaded).toBeInstanceOf(Success);
    expect(loaded.result).toEqual({ when, missing: undefined, nested: [{ a: null }] });
  });

  it("any JSON value is accepted, and one function, BigInt or symbol anywhere in it is found with its path", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        expect(unserializablePart(json)).toBeUndefined();
      }),
    );
    const poison = fc.constantFrom<unknown>(() => 1, 5n, Symbol("x"));
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), fc.nat(), fc.string(), poison, (items, at, key, bad) => {
        const index = items.length === 0 ? 0 : at % items.length;
        const value = [...items.slice(0, index), { [key]: bad }, ...items.slice(index)];
        expect(unserializablePart(value)).toBe(`result[${index}].${key}: ${typeof bad === "function" ? "a function" : typeof bad === "bigint" ? "a BigInt (5n)" : "a symbol (Symbol(x))"}`);
      }),
    );
  });
});
