/**
 * Issue 21, the handler's claims, history and record handling: one test per item, each failing
 * without its fix.
 */
import { afterEach, describe, expect, it } from "vitest";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { harness } from "./harness";

let h: ReturnType<typeof harness>;
afterEach(() => h?.sfnMock.restore());

/** Throws that have no usable text: a null-prototype object, a throwing toString, a Proxy that throws on every trap. */
const unprintable: Record<string, () => unknown> = {
  "a null-prototype object": () => Object.create(null),
  "an object whose toString throws": () => ({ toString: () => { throw new Error("no"); } }),
  "a Proxy that throws on every access": () =>
    new Proxy({}, { get: () => { throw new Error("trap"); }, getPrototypeOf: () => { throw new Error("trap"); }, ownKeys: () => { throw new Error("trap"); } }),
};

describe("a throw that cannot be stringified (item 4)", () => {
  for (const [what, make] of Object.entries(unprintable)) {
    it(`a flow state handler throwing ${what} still alerts the FAILED ending, once`, async () => {
      h = harness({ flowStateHandlers: [() => { throw make(); }] });
      const record = sqsRecord(eventBridgeEvent("sfn-failed"));
      const result = await h.handler(sqsEvent(record));
      expect(result.batchItemFailures).toEqual([]);
      await h.handler(sqsEvent(record));
      expect(h.channel.sent.map((a) => a.newState.name)).toEqual(["Failed", "Failed"]);
      expect(h.channel.sent[1]!.newState.message).toMatch(/Unexpected error while calling state handlers: /);
    });
  }
});
