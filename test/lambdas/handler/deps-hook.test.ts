import { afterEach, describe, expect, it } from "vitest";
import { createEventsHandler, HANDLER_DEPS, type HandlerDeps } from "../../../lambdas/handler/index";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { createLogger } from "../../../lib/aws/logger";
import { eventBridgeEvent, sqsEvent, sqsRecord } from "../../fixtures/index";
import { fakeChannel, harness } from "./harness";

const slot = globalThis as Record<symbol, HandlerDeps | undefined>;
let h: ReturnType<typeof harness> | undefined;
afterEach(() => {
  delete slot[HANDLER_DEPS];
  h?.sfnMock.restore();
});

describe("handler Lambda: the emulator's deps hook", () => {
  it("deps set at globalThis[Symbol.for(\"flowhooks.handlerDeps\")] reach a handler built with none, and a new set replaces the old", async () => {
    h = harness(); // its SFN mock serves the history read
    const { flow } = h;
    // As in a bundle: the factory call has no deps and the environment has no table.
    const handler = createEventsHandler(flow);
    const deps = (channel: ReturnType<typeof fakeChannel>): HandlerDeps => ({
      env: { FLOWHOOKS_DEDUPE_TABLE: "emulator" },
      store: new InMemoryTransitionStore(),
      channels: [channel],
      logger: createLogger({ writer: () => {} }),
    });
    expect(Symbol.for("flowhooks.handlerDeps")).toBe(HANDLER_DEPS);
    const first = fakeChannel("first");
    slot[HANDLER_DEPS] = deps(first);
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    const second = fakeChannel("second");
    slot[HANDLER_DEPS] = deps(second);
    await handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(first.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
    // A fresh store: the same ending is alerted again to the new emulation's channel.
    expect(second.sent.map((a) => a.newState.name)).toEqual(["Failed"]);
  });
});
