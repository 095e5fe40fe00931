import { describe, expect, it } from "vitest";
import { Flow, getRunContext, task, triggers, type StateHandler } from "../../../lib/index";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { parseEventBridgeEvent } from "../../../lib/aws/events";
import { createLogger } from "../../../lib/aws/logger";
import { EventProcessor } from "../../../lambdas/handler/index";
import { eventBridgeEvent } from "../../fixtures/index";
import { runLocally } from "../../compile/local-run";
import { fakeChannel } from "./harness";

describe("handler Lambda: Catch records from the compiled state machine", () => {
  it("a task killed at its Lambda timeout, caught by the compiled definition's Catch Pass, is reconstructed from the output without a history reader", async () => {
    const calls: string[] = [];
    const record: StateHandler = (obj, oldState, newState) => {
      calls.push(`${String(obj)}: ${oldState.name} -> ${newState.name} (after the fact: ${getRunContext()?.observedAfterTheFact ?? false})`);
    };
    const load = task({ name: "load-order", stateHandlers: [record] }, () => 1);
    const cleanup = task({ name: "cleanup", trigger: triggers.alwaysRun }, (_x: unknown) => "cleaned");
    const flow = new Flow({ name: "orders" }, () => {
      cleanup(load());
    });

    // The real definition runs; Step Functions reports the killed Lambda as Sandbox.Timedout and the Catch Pass records it.
    const run = await runLocally(flow, {}, { crash: { "load-order": { Error: "Sandbox.Timedout", Cause: "Task timed out after 3.00 seconds" } } });
    expect(run.error).toBeUndefined();
    expect(JSON.stringify(run.output)).toContain('"infrastructure":{"Error":"Sandbox.Timedout"');
    // Keyed by the plain identifier `load_order` in the execution JSON; the record names the task itself.
    expect(JSON.stringify(run.output)).toContain('"load_order":{"task":"load-order"');

    const channel = fakeChannel();
    const processor = new EventProcessor({ flow, store: new InMemoryTransitionStore(), channels: [channel], logger: createLogger({ writer: () => {} }) });
    await processor.process(parseEventBridgeEvent(eventBridgeEvent("sfn-succeeded", { output: JSON.stringify(run.output) })));

    expect(calls).toEqual(["<Task: load-order>: Running -> TimedOut (after the fact: true)"]);
    expect(channel.sent.map((a) => `${a.kind} ${a.task ?? a.flow} ${String(a.newState)}`)).toEqual([
      'task load-order TimedOut("Task timed out in AWS before it could report its state (Sandbox.Timedout: Task timed out after 3.00 seconds).")',
    ]);
  });
});
