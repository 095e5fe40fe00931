/** Sends task transitions to EventBridge, for the handler Lambda. */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { EVENT_SOURCE, TASK_STATE_CHANGE, type TaskStateChangeDetail } from "./payload";

/** Sends one task transition; resolves when it was accepted. */
export type EmitTaskEvent = (detail: TaskStateChangeDetail) => Promise<void>;

export class EventDeliveryError extends Error {
  override name = "flowhooks.EventDeliveryFailed";
}

let sharedClient: EventBridgeClient | undefined;

/** An emitter that puts events on `eventBusName`; the client is created once per container. */
export function eventBridgeEmitter(eventBusName: string, client?: EventBridgeClient): EmitTaskEvent {
  return async (detail) => {
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
