/**
 * eventBridgeNotifier (issue 26 item 3): one PutEvents entry per alert through the real SDK client
 * (aws-sdk-client-mock), the versioned detail schema, entries within 256 KB, failed entries thrown.
 */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Flow, NotificationError, Retrying, Running, task, withRunContext, type Clock, type State } from "../../lib/index";
import { forgetSecretValues, registerSecretValue } from "../../lib/core/mask";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { alertEventEntry, entrySizeBytes, eventBridgeChannel, eventBridgeNotifier } from "../../lib/notify/eventbridge";
import { errorOf } from "./reject";

const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:run-42";
const AT = new Date("2026-03-01T12:00:00.000Z");
const clock: Clock = { now: () => new Date(AT), sleep: async () => {} };
const eventBridge = mockClient(EventBridgeClient);
afterEach(() => {
  eventBridge.reset();
  forgetSecretValues();
});
const client = () => new EventBridgeClient({ region: "eu-west-1" });

function taskAlert(newState: State, extra: Partial<Alert> = {}): Alert {
  return { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState, at: AT, executionId: EXECUTION, consoleUrl: executionConsoleUrl(EXECUTION), attempt: 2, maxAttempts: 3, ...extra };
}

describe("the alert event", () => {
  it("is one entry: Source flowhooks, DetailType Flowhooks Alert, the versioned detail, the execution as resource", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
    const load = task({ name: "load", stateHandlers: [eventBridgeNotifier({ eventBusName: "alerts", onlyStates: [Failed], client: client(), now: () => AT })] }, async () => {
      throw new Error("disk full");
    });
    await withRunContext({ flowName: "orders", executionId: EXECUTION, runtime: "lambda", attempt: 1 }, () => new Flow({ name: "orders" }, () => void load()).run({ clock }));
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const [entry, ...more] = calls[0]!.args[0].input.Entries!;
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ EventBusName: "alerts", Source: "flowhooks", DetailType: "Flowhooks Alert", Resources: [EXECUTION], Time: AT });
    expect(JSON.parse(entry!.Detail!)).toEqual({
      schemaVersion: "1",
      flow: "orders",
      executionId: EXECUTION,
      task: "load",
      attempt: 1,
      maxAttempts: 1,
      oldState: "Running",
      newState: "Failed",
      message: "Error during execution of task: Error: disk full",
      error: { name: "Error", cause: "disk full" },
      consoleUrl: executionConsoleUrl(EXECUTION),
      at: AT.toISOString(),
    });
  });

  it("a retry carries the attempt and the next attempt's time; a mapped child its index", () => {
    const entry = alertEventEntry(taskAlert(new Retrying("again", { startTime: new Date(AT.getTime() + 30_000), runCount: 2 }), { task: "load[3]", mapIndex: 3 }), "default");
    expect(JSON.parse(entry.Detail!)).toMatchObject({ task: "load[3]", mapIndex: 3, attempt: 2, newState: "Retrying", nextAttemptAt: "2026-03-01T12:00:30.000Z" });
  });

  it("any alert stays within PutEvents' 256 KB entry size, masked before it is cut (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.string({ unit: "binary", maxLength: 50 }), (pad, noise) => {
        forgetSecretValues();
        const secret = "tok_ABCDEFGHIJKLMNOP";
        registerSecretValue(secret);
        const cause = `${"é\u0001\"".repeat(pad)}${noise}${secret}`;
        const entry = alertEventEntry(taskAlert(new Failed(cause, { result: new Error(cause) })), "default");
        expect(entrySizeBytes(entry)).toBeLessThanOrEqual(256 * 1024);
        expect(entry.Detail).not.toContain("tok_ABCD");
        const detail = JSON.parse(entry.Detail!);
        expect(detail.schemaVersion).toBe("1");
      }),
      { numRuns: 40 },
    );
  });
});

describe("eventBridgeNotifier", () => {
  it("a failed entry (PutEvents answers 200) fails the alert with the entry's error", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }] });
    const error = await errorOf(eventBridgeChannel({ client: client() }).send(taskAlert(new Failed("x"))));
    expect(error).toBeInstanceOf(NotificationError);
    expect(error.message).toBe('EventBridge refused the alert "Task load failed in flow orders" for bus default (ThrottlingException: Rate exceeded).');
  });

  it("access denied on a bus ARN names the grant and the bus's resource policy", async () => {
    eventBridge.on(PutEventsCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
    const bus = "arn:aws:events:eu-west-1:210987654321:event-bus/central-alerts";
    const error = await errorOf(eventBridgeChannel({ eventBusName: bus, client: client() }).send(taskAlert(new Failed("x"))));
    expect(error.message).toMatch(/Grant events:PutEvents on the bus to this function's role, and let this account put events in the bus's resource policy/);
  });

  it("refuses a bus name that is neither a name nor an ARN, when created", () => {
    expect(() => eventBridgeNotifier({ eventBusName: "my bus!" })).toThrow(/neither a bus name .* nor an event bus ARN/);
  });
});
