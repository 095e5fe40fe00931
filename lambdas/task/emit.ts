/** Sends task transitions to EventBridge, for the handler Lambda. */
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { loadEventBridge } from "../../lib/aws/sdk";
import { EVENT_SOURCE, TASK_STATE_CHANGE, type TaskStateChangeDetail } from "./payload";

/** Sends one task transition; resolves when it was accepted. */
export type EmitTaskEvent = (detail: TaskStateChangeDetail) => Promise<void>;

export class EventDeliveryError extends Error {
  override name = "flowhooks.EventDeliveryFailed";
}

let sharedClient: EventBridgeClient | undefined;

/**
 * Where `flowhooks emulate` takes PutEvents entries in-process while it runs (set on `globalThis`
 * by lib/emulate/eventbridge.ts; `Symbol.for`, so every bundled copy of this code sees it). Never
 * set in Lambda. Without it the entries go through the SDK, to the endpoint the environment names.
 */
export const LOCAL_PUT_EVENTS = Symbol.for("flowhooks.emulator.putEvents");

type LocalPutEvents = (entries: { EventBusName: string; Source: string; DetailType: string; Detail: string }[]) => void;

/**
 * An emitter that puts events on `eventBusName`. The SDK module loads and the client is created on
 * the first emit, once per container, so a task function's init never pays for them.
 */
export function eventBridgeEmitter(eventBusName: string, client?: Pick<EventBridgeClient, "send">): EmitTaskEvent {
  return async (detail) => {
    const local = client ? undefined : ((globalThis as Record<symbol, unknown>)[LOCAL_PUT_EVENTS] as LocalPutEvents | undefined);
    if (local) {
      local([{ EventBusName: eventBusName, Source: EVENT_SOURCE, DetailType: TASK_STATE_CHANGE, Detail: JSON.stringify(detail) }]);
      return;
    }
    const { EventBridgeClient, PutEventsCommand } = await loadEventBridge();
    const eventBridge = client ?? (sharedClient ??= new EventBridgeClient({}));
    const out = await eventBridge.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: eventBusName, Source: EVENT_SOURCE, DetailType: TASK_STATE_CHANGE, Detail: JSON.stringify(detail) }],
      }),
    );
    if (out.FailedEntryCount) {
      const entry = out.Entries?.find((e) => e.ErrorCode);
      throw new EventDeliveryError(`EventBridge refused the event: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ""}`.trim());
    }
  };
}
