/**
 * EventBridge `PutEvents` for the alert bus notifier (lib/notify/eventbridge.ts builds the entries):
 * one client per region per process, its SDK module loaded and the client created on the first put.
 * The SDK reads `AWS_ENDPOINT_URL_EVENTBRIDGE` itself, which is how the emulator and tests point it at 127.0.0.1.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { EventsSender } from "../notify/ports";
import { loadEventBridge } from "./sdk";

const clients = new Map<string, EventBridgeClient>();

/** Puts `entries` with `client`, or with the process-wide client for `region` (else the environment's region). */
export async function putEvents(entries: PutEventsRequestEntry[], region: string | undefined, client?: EventsSender) {
  const { EventBridgeClient, PutEventsCommand } = await loadEventBridge();
  const key = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "";
  let shared = clients.get(key);
  if (!client && !shared) {
    shared = new EventBridgeClient(key ? { region: key } : {});
    clients.set(key, shared);
  }
  const sender = client ?? shared!;
  return sender.send(new PutEventsCommand({ Entries: entries }));
}
