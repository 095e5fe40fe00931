import { afterEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { Flow, task, virtualClock } from "../../../lib/index";
import { createTaskHandler, eventBridgeEmitter, runTask } from "../../../lambdas/task/index";
import { boundTaskEvent, MAX_TASK_EVENT_BYTES } from "../../../lambdas/task/emit";

const payload = {
  task: "only",
  parameters: {},
  upstream: {},
  context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:f:1", Input: {} }, State: { RetryCount: 0 } },
};

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

describe("task transition events", () => {

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
      emit: eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1" }), { clock: virtualClock() }),
      log: (line) => void logged.push(line),
    });
    expect(out.state.type).toBe("Success");
    expect(logged[0]).toMatchObject({ level: "ERROR", error: expect.stringMatching(/InternalFailure/) });
  });

  it("retries a refused or failed PutEvents with bounded backoff on the injected clock, then delivers (issue 14 item 4)", async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }] })
      .rejectsOnce(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }))
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
    const clock = virtualClock();
    const emit = eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1" }), { clock });
    await emit({ flow: "f", task: "only", executionArn: "x", attempt: 1, oldState: { type: "Running" }, newState: { type: "Failed" }, at: "2026-01-01T00:00:00.000Z" });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(clock.sleeps).toEqual([200, 400]);
  });

  it("gives up after maxAttempts with an error naming the last problem", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try later" }] });
    const clock = virtualClock();
    const emit = eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1" }), { clock, maxAttempts: 4 });
    await expect(emit({ flow: "f", task: "only", executionArn: "x", attempt: 1, oldState: { type: "Running" }, newState: { type: "Failed" }, at: "2026-01-01T00:00:00.000Z" })).rejects.toThrow(
      "EventBridge refused the event: InternalFailure try later (after 4 attempts)",
    );
    expect(clock.sleeps).toEqual([200, 400, 800]);
  });
});

describe("task event size (issue 14 item 5)", () => {

  it("a 300 KB result's 'Task result is N bytes' event carries neither the old result nor more than 64 KiB", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
    const big = task({ name: "only" }, () => "x".repeat(300 * 1024));
    const handler = createTaskHandler(new Flow({ name: "f", tasks: [big] }), { clock: virtualClock(), env: { FLOWHOOKS_TASK: "only", FLOWHOOKS_EVENT_BUS: "bus" } });
    await handler(payload);
    const details = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries![0]!.Detail!);
    const tooBig = details.map((d) => JSON.parse(d)).find((d) => /Task result is \d+ bytes/.test(d.newState.message ?? ""));
    expect(tooBig).toBeDefined();
    for (const d of details) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(MAX_TASK_EVENT_BYTES);
    // The old state keeps its type and message; its 300 KB result is left out (at most its size is said).
    expect(tooBig.oldState).toMatchObject({ type: "Success", message: expect.any(String) });
    expect(JSON.stringify(tooBig.oldState).length).toBeLessThan(1_000);
  });

  it("an 85 KB error message is sent once, cut with a visible marker, within the bound", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
    const failing = task({ name: "only" }, () => {
      throw new Error("E".repeat(85 * 1024));
    });
    const handler = createTaskHandler(new Flow({ name: "f", tasks: [failing] }), { clock: virtualClock(), env: { FLOWHOOKS_TASK: "only", FLOWHOOKS_EVENT_BUS: "bus" } });
    await handler(payload);
    const details = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries![0]!.Detail!);
    for (const d of details) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(MAX_TASK_EVENT_BYTES);
    const failed = details.map((d) => JSON.parse(d)).find((d) => d.newState.type === "Failed");
    // Cut where the task Lambda bounds failure text (lib/core/results.ts), or by the event's own bound.
    expect(failed.newState.message).toMatch(/… \[(truncated \d+ chars|trimmed by flowhooks: \d+ more characters)\]$/);
    expect(failed.newState.result.$flowhooksError.name).toBe("Error");
  });

  it("leaves an event that fits unchanged", () => {
    const detail = { flow: "f", task: "t", executionArn: "x", attempt: 1, oldState: { type: "Running" as const }, newState: { type: "Failed" as const, message: "boom" }, at: "2026-01-01T00:00:00.000Z" };
    expect(boundTaskEvent(detail)).toBe(detail);
  });
});
