import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isPrintable, safeString } from "../../lib/core/safe-string";
import { chainError } from "../../lib/core/handlers";

const hostile: unknown[] = [
  Object.create(null),
  { toString: () => { throw new Error("no"); } },
  { [Symbol.toPrimitive]: () => { throw new Error("no"); } },
  new Proxy({}, { get: () => { throw new Error("trap"); }, getPrototypeOf: () => { throw new Error("trap"); } }),
];

describe("safeString", () => {
  it("turns any value into text without throwing, describing what String() cannot print", () => {
    fc.assert(fc.property(fc.oneof(fc.anything(), fc.constantFrom(...hostile)), (value) => typeof safeString(value) === "string"));
    expect(safeString(Object.create(null))).toBe("[unprintable Object]");
    expect(safeString(new Error("boom"))).toBe("Error: boom");
  });

  it("chainError never throws and keeps only printable throws as the failed state's result", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.constantFrom(...hostile)), (thrown) => {
        const { state, final } = chainError(thrown);
        expect(final).toBe(true);
        expect(state.message).toMatch(/^Unexpected error while calling state handlers: /);
        expect(() => JSON.stringify(state.toJSON())).not.toThrow();
        if (!isPrintable(thrown)) expect(state.result).toBeInstanceOf(Error);
      }),
    );
  });
});
