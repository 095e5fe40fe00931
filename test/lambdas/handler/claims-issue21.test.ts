/**
 * Issue 21, the handler's claims, history and record handling: one test per item, each failing
 * without its fix.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { GetExecutionHistoryCommand } from "@aws-sdk/client-sfn";
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

/** History events of task `load` timing out (no code of ours reported it), as GetExecutionHistory returns them without data. */
function crashedLoad(firstId: number, start: number, opener: "ExecutionStarted" | "ExecutionRedriven", end: "ExecutionFailed" | "ExecutionTimedOut" = "ExecutionFailed"): HistoryEvent[] {
  const at = (s: number) => new Date(start + s * 1000);
  const id = (n: number) => firstId + n;
  return [
    { id: id(0), type: opener, timestamp: at(0), ...(opener === "ExecutionStarted" ? { previousEventId: 0 } : { previousEventId: id(-1) }) },
    { id: id(1), previousEventId: id(0), type: "TaskStateEntered", timestamp: at(1), stateEnteredEventDetails: { name: "load" } },
    { id: id(2), previousEventId: id(1), type: "TaskScheduled", timestamp: at(1) },
    { id: id(3), previousEventId: id(2), type: "TaskStarted", timestamp: at(2) },
    { id: id(4), previousEventId: id(3), type: "TaskTimedOut", timestamp: at(60), taskTimedOutEventDetails: { error: "States.Timeout" } },
    { id: id(5), previousEventId: id(4), type: end, timestamp: at(61) },
  ] as HistoryEvent[];
}

describe("redrive (item 3)", () => {
  it("a redriven run's ending alerts its own crashed task, and run 0's crashed task is not alerted again", async () => {
    h = harness();
    const run0 = crashedLoad(1, Date.parse("2019-02-26T19:40:00Z"), "ExecutionStarted");
    const run1 = crashedLoad(7, Date.parse("2019-02-26T20:00:00Z"), "ExecutionRedriven");
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: run0 });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 0 }))));
    h.sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [...run0, ...run1] });
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed", { redriveCount: 1, stopDate: Date.parse("2019-02-26T20:01:01Z") }))));
    const load = h.channel.sent.filter((a) => a.task === "load").map((a) => `${a.newState.name} ${a.at.toISOString()}`);
    expect(load).toEqual(["TimedOut 2019-02-26T19:41:00.000Z", "TimedOut 2019-02-26T20:01:00.000Z"]);
  });
});
