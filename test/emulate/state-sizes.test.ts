/**
 * lib/emulate/state-sizes.ts works a Task or Pass state's output size out from its input's instead of
 * serializing the whole state again. These properties check it against the plain measurement
 * (`JSON.stringify` + UTF-8 length) on what aws-local-stepfunctions really outputs, for random
 * states, results, result paths and caught errors: a wrong size would move the 256 KiB limit.
 */
import { StateMachine } from "aws-local-stepfunctions";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LimitWatch, MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { bytesWithKey, jsonBytes, StateSizes } from "../../lib/emulate/state-sizes";

type Json = Record<string, any>;
const key = fc.constantFrom("a", "b", "L1", "é", "k_2", "__proto__x");
const object = fc.dictionary(fc.oneof(key, fc.string({ maxLength: 4 })), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });
/** What `ResultPath: "$.key"` does to a copy of the input (aws-local-stepfunctions' setJSONPath): the key keeps its place. */
const withKey = (input: Json, k: string, value: unknown) => ({ ...structuredClone(input), [k]: value });

describe("bytesWithKey: the size of an object with one key set, from the object's size", () => {
  it("equals the measured size for any JSON object, key (present or not) and value (undefined included)", () => {
    fc.assert(
      fc.property(object, key, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (input, k, value) => {
        expect(bytesWithKey(input, jsonBytes(input), k, value)).toBe(jsonBytes(withKey(input, k, value)));
      }),
      { numRuns: 500 },
    );
  });
});

/** One random state of a chain: a Pass state, or a Task state that fails (and is caught) or returns its result. */
const state = fc.record({
  type: fc.constantFrom("Pass", "Task"),
  result: fc.jsonValue({ maxDepth: 2 }),
  fails: fc.boolean(),
  resultPath: fc.constantFrom<unknown>("$.a", "$.b", "$.L1", "$.é", null, "$", "$.a.b", "$['b']", undefined),
  catchPath: fc.constantFrom<unknown>("$.a", "$.err", null, "$", "$.a.b", undefined),
  outputPath: fc.constantFrom<string | undefined>(undefined, undefined, undefined, "$"),
});

type ChainState = typeof state extends fc.Arbitrary<infer T> ? T : never;
function chain(states: ChainState[]): Json {
  const States: Json = {};
  states.forEach((s, i) => {
    const next = i + 1 < states.length ? { Next: `s${i + 1}` } : { End: true };
    const paths = { ...(s.resultPath !== undefined ? { ResultPath: s.resultPath } : {}), ...(s.outputPath ? { OutputPath: s.outputPath } : {}) };
    if (s.type === "Pass") States[`s${i}`] = { Type: "Pass", Result: s.result, ...paths, ...next };
    else {
      const catcher = { ErrorEquals: ["States.ALL"], Next: next.Next ?? "done", ...(s.catchPath !== undefined ? { ResultPath: s.catchPath } : {}) };
      States[`s${i}`] = { Type: "Task", Resource: `arn:aws:lambda:us-east-1:123456789012:function:s${i}`, ...paths, Catch: [catcher], ...next };
    }
  });
  States.done = { Type: "Succeed" };
  return { StartAt: "s0", States };
}

describe("StateSizes on aws-local-stepfunctions' own event log", () => {
  it("gives every state input and output the size JSON.stringify gives it, caught errors and unfollowed paths included", async () => {
    let exits = 0;
    await fc.assert(
      fc.asyncProperty(object, fc.array(state, { minLength: 1, maxLength: 6 }), async (input, states) => {
        const definition = chain(states);
        const handlers = Object.fromEntries(
          states.map((s, i) => [
            `s${i}`,
            async () => {
              if (s.fails) throw Object.assign(new Error("boom"), { name: "Boom" });
              return s.result;
            },
          ]),
        );
        const run = new StateMachine(definition as never, { validationOptions: { noValidate: true } }).run(input as never, { overrides: { taskResourceLocalHandlers: handlers as never } });
        const sizes = new StateSizes(definition);
        const logs = (async () => {
          for await (const event of run.eventLogs as AsyncIterable<Json>) {
            const s = event.state;
            if (event.type === "StateEntered") expect(sizes.input(s.input)).toBe(jsonBytes(s.input));
            if (event.type === "StateCaught") sizes.caughtBy(s.name, s.input, event.catch?.catcher);
            if (event.type === "StateExited") {
              expect(sizes.output(s.name, s.input, s.output), `${s.name}: ${JSON.stringify(definition.States[s.name])}`).toBe(jsonBytes(s.output));
              exits++;
            }
          }
        })();
        await run.result.catch(() => undefined);
        await logs;
      }),
      { numRuns: 300 },
    );
    // Some random chains fail before any state exits (a path that finds nothing is no catchable error); most do not.
    expect(exits).toBeGreaterThan(300);
  });
});

describe("the 256 KiB limit with sizes worked out", () => {
  /** A chain whose second state adds a string of `n` bytes under `$.big` to a state of known size. */
  async function largestOf(n: number): Promise<{ largest: number; exceeded?: string; expected: number }> {
    const definition = {
      StartAt: "first",
      States: {
        first: { Type: "Pass", Result: "x".repeat(1000), ResultPath: "$.small", Next: "second" },
        second: { Type: "Task", Resource: "arn:aws:lambda:us-east-1:123456789012:function:second", ResultPath: "$.big", End: true },
      },
    };
    const big = "y".repeat(n);
    const run = new StateMachine(definition as never, { validationOptions: { noValidate: true } }).run({ start: 1 } as never, { overrides: { taskResourceLocalHandlers: { second: async () => big } as never } });
    const watch = new LimitWatch(() => run.abort(), { definition });
    for await (const event of run.eventLogs as AsyncIterable<never>) watch.onEvent(event);
    await run.result.catch(() => undefined);
    return { largest: watch.largestStateBytes, exceeded: watch.exceeded?.cause, expected: jsonBytes({ start: 1, small: "x".repeat(1000), big }) };
  }

  it("passes an output of exactly 256 KiB and fails one byte more, naming the state", async () => {
    const overhead = (await largestOf(0)).expected;
    const at = await largestOf(MAX_STATE_PAYLOAD_BYTES - overhead);
    expect(at.largest).toBe(MAX_STATE_PAYLOAD_BYTES);
    expect(at.exceeded).toBeUndefined();
    const over = await largestOf(MAX_STATE_PAYLOAD_BYTES - overhead + 1);
    expect(over.largest).toBe(MAX_STATE_PAYLOAD_BYTES + 1);
    expect(over.exceeded).toBe(`The output of state \`second\` is ${MAX_STATE_PAYLOAD_BYTES + 1} bytes; Step Functions accepts ${MAX_STATE_PAYLOAD_BYTES}.`);
  });
});
