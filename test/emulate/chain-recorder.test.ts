import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { handlerLogger } from "../../lib/emulate/chain-recorder";
import type { LogFields, Logger } from "../../lib/aws/logger";

/** What a child logger's lines carried when every child merged its fields at once: the straightforward form. */
function eagerFields(chain: LogFields[], line: LogFields | undefined): LogFields {
  let base: LogFields = {};
  for (const fields of chain) base = { ...base, ...fields };
  return { ...base, ...line };
}

const key = fc.constantFrom("executionArn", "flow", "task", "attempt", "messageId", "error", "transition");
const fieldsArb = fc.dictionary(key, fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)), { maxKeys: 5 });

describe("the handler Lambda's logger in the emulator", () => {
  it("a child logger's line carries its ancestors' fields, then its own, then the line's, in the order eager merging gave", () => {
    fc.assert(
      fc.property(fc.array(fieldsArb, { maxLength: 5 }), fc.option(fieldsArb, { nil: undefined }), fc.nat(5), (chain, line, writeAt) => {
        const lines: { message: string; fields: LogFields }[] = [];
        const root = handlerLogger((_level, message, fields) => lines.push({ message, fields }));
        const loggers: Logger[] = [root];
        for (const fields of chain) loggers.push(loggers.at(-1)!.child(fields));
        // A logger in the middle of the chain writes too (its merged fields are kept for its children).
        const middle = Math.min(writeAt, chain.length);
        loggers[middle]!.debug("middle", line);
        loggers.at(-1)!.info("leaf", line);
        expect(lines.map((l) => l.message)).toEqual(["middle", "leaf"]);
        expect(Object.entries(lines[0]!.fields)).toEqual(Object.entries(eagerFields(chain.slice(0, middle), line)));
        expect(Object.entries(lines[1]!.fields)).toEqual(Object.entries(eagerFields(chain, line)));
      }),
    );
  });

  it("a child's fields are those given when it was made, even if the caller changes the object afterwards", () => {
    const lines: LogFields[] = [];
    const fields: LogFields = { task: "load" };
    const child = handlerLogger((_level, _message, f) => lines.push(f)).child(fields);
    fields.task = "changed";
    fields.extra = 1;
    child.warn("line");
    expect(lines).toEqual([{ task: "load" }]);
  });
});
