/**
 * The emulator shows alerts to the stack's alert bus (`alerts.eventBus`) locally: printed as the
 * event the bus would carry, beside the readable console alert (issue 26 item 5).
 */
import { expect, it } from "vitest";
import { Failed, Flow, Running, virtualClock } from "../../lib/index";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import type { Alert } from "../../lib/notify/alert";
import { emulatorChannels } from "../../lib/emulate/alert-channels";
import type { SynthesizedFlow, SynthesizedFunction } from "../../lib/emulate/synth";

function synthesized(environment: Record<string, string>): SynthesizedFlow {
  const handler: SynthesizedFunction = {
    logicalId: "Handler",
    functionName: "orders-handler",
    arn: "arn:aws:lambda:us-east-1:000000000000:function:orders-handler",
    handler: "index.events",
    timeoutSeconds: 60,
    memorySize: 256,
    environment: { FLOWHOOKS_DEDUPE_TABLE: "claims", ...environment },
    assetDir: "/nonexistent",
  };
  return { outdir: "/nonexistent", stackName: "S", stateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:orders", definitionString: "{}", functions: new Map([["orders-handler", handler]]) };
}

async function sendThrough(environment: Record<string, string>): Promise<{ lines: string[]; names: string[] }> {
  const lines: string[] = [];
  const channels = emulatorChannels({
    synthesized: synthesized(environment),
    flow: new Flow({ name: "orders" }, () => {}),
    ownStack: false,
    documents: new InMemoryDocumentStore(),
    queue: { send: async () => {} } as never,
    clock: virtualClock(new Date("2026-03-01T12:00:00Z")),
    write: (text) => lines.push(text),
    onAlert: () => {},
  });
  const alert: Alert = { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState: new Failed("load broke"), at: new Date("2026-03-01T12:00:00Z"), executionId: "local-1" };
  for (const channel of channels) await channel.send(alert);
  return { lines, names: channels.map((c) => c.name) };
}

it("a stack with alerts.eventBus prints each alert event beside the console alert", async () => {
  const { lines, names } = await sendThrough({ FLOWHOOKS_ALERT_EVENT_BUS: "arn:aws:events:us-east-1:000000000000:event-bus/alerts" });
  expect(names).toEqual(["console", "eventbridge"]);
  const event = lines.find((l) => l.startsWith("⇢ EventBridge flowhooks \"Flowhooks Alert\" "));
  expect(event).toBeDefined();
  expect(JSON.parse(event!.slice(event!.indexOf("{")))).toMatchObject({ schemaVersion: "1", flow: "orders", task: "load", newState: "Failed", message: "load broke" });
});

it("a stack without an alert bus prints no events", async () => {
  const { names } = await sendThrough({});
  expect(names).toEqual(["console"]);
});
