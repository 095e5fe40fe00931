import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { Flow, task, virtualClock } from "../../../lib/index";
import { createTaskHandler, eventBridgeEmitter, runTask } from "../../../lambdas/task/index";

const payload = {
  task: "only",
  parameters: {},
  upstream: {},
  context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:f:1", Input: {} }, State: { RetryCount: 0 } },
};

describe("task transition events", () => {
  const eventBridge = mockClient(EventBridgeClient);
  afterEach(() => eventBridge.reset());

  it("puts each task transition on the bus named by FLOWHOOKS_EVENT_BUS", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
    const only = task({ name: "only" }, () => 1);
    const handler = createTaskHandler(new Flow({ name: "f", tasks: [only] }), {
      clock: virtualClock(),
      env: { FLOWHOOKS_TASK: "only", FLOWHOOKS_EVENT_BUS: "flowhooks-bus" },
    });
    await handler(payload);
    const entries = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries![0]!);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ EventBusName: "flowhooks-bus", Source: "flowhooks", DetailType: "flowhooks Task State Change" });
    expect(JSON.parse(entries[1]!.Detail!)).toMatchObject({
      flow: "f",
      task: "only",
      attempt: 1,
      oldState: { type: "Running" },
      newState: { type: "Success", result: 1 },
      at: "2026-01-01T00:00:00.000Z",
    });
  });

  it("sends nothing when FLOWHOOKS_EVENT_BUS is not set", async () => {
    const only = task({ name: "only" }, () => 1);
    await createTaskHandler(new Flow({ name: "f", tasks: [only] }), { env: { FLOWHOOKS_TASK: "only" } })(payload);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it("does not fail the task when EventBridge refuses the event", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try later" }] });
    const only = task({ name: "only" }, () => 1);
    const logged: Record<string, unknown>[] = [];
    const out = await runTask(payload, {
      flow: new Flow({ name: "f", tasks: [only] }),
      taskName: "only",
      emit: eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1" })),
      log: (line) => void logged.push(line),
    });
    expect(out.state.type).toBe("Success");
    expect(logged[0]).toMatchObject({ level: "ERROR", error: expect.stringMatching(/InternalFailure/) });
  });
});
