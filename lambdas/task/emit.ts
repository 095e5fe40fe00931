/** Sends task transitions to EventBridge, for the handler Lambda: bounded in size, retried with backoff. */
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { systemClock, type Clock } from "../../lib/core/clock";
import type { StateJSON } from "../../lib/core/states";
import { loadEventBridge } from "../../lib/aws/sdk";
import { maskJSON, maskSecrets } from "../../lib/core/mask";
import { truncate } from "../../lib/notify/format";
import { EVENT_SOURCE, TASK_STATE_CHANGE, type TaskStateChangeDetail } from "./payload";

/** Sends one task transition; resolves when it was accepted. */
export type EmitTaskEvent = (detail: TaskStateChangeDetail) => Promise<void>;

export class EventDeliveryError extends Error {
  override name = "flowhooks.EventDeliveryFailed";
}

/**
 * The largest task event detail sent, in UTF-8 bytes. The smallest limit on the event's path is
 * 256 KB (an EventBridge PutEvents entry; SQS takes 1 MiB; the alert it becomes is fitted to SNS's
 * 256 KiB and Slack's block limits by the formatter). An alert needs a few KB of a state, so events
 * stay far below: 64 KiB leaves room for the envelope EventBridge adds.
 */
export const MAX_TASK_EVENT_BYTES = 64 * 1024;

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** A state's JSON with its text cut to `maxChars` per field and any result that is no error dropped. */
function boundState(state: StateJSON, maxChars: number): StateJSON {
  const out: StateJSON = { type: state.type };
  if (state.message !== undefined) out.message = truncate(state.message, maxChars);
  if (state.startTime !== undefined) out.startTime = state.startTime;
  if (state.runCount !== undefined) out.runCount = state.runCount;
  // Alerts render a failed state's error (name and message); any other result is data they never show.
  const error = (state.result as Record<string, { name?: unknown; message?: unknown; stack?: unknown }> | undefined)?.["$flowhooksError"];
  if (error && typeof error === "object") {
    out.result = {
      $flowhooksError: {
        name: String(error.name ?? "Error"),
        message: truncate(String(error.message ?? ""), maxChars),
        ...(typeof error.stack === "string" ? { stack: truncate(error.stack, Math.min(maxChars, 4_000)) } : {}),
      },
    };
  }
  return out;
}

/**
 * The detail as sent: unchanged when it fits `maxBytes`; else the old state (context only) keeps
 * its type and a short message, and the new state's text is cut, with a visible marker, until it fits.
 */
export function boundTaskEvent(detail: TaskStateChangeDetail, maxBytes = MAX_TASK_EVENT_BYTES): TaskStateChangeDetail {
  if (bytes(detail) <= maxBytes) return detail;
  const oldState = boundState(detail.oldState, 500);
  for (let maxChars = Math.floor(maxBytes / 4); maxChars >= 100; maxChars = Math.floor(maxChars / 2)) {
    const bounded = { ...detail, oldState, newState: boundState(detail.newState, maxChars) };
    if (bytes(bounded) <= maxBytes) return bounded;
  }
  return { ...detail, oldState: { type: detail.oldState.type }, newState: { ...boundState(detail.newState, 100), result: undefined } };
}

export interface EmitterOptions {
  /** Waits between attempts. @default systemClock */
  clock?: Clock;
  /** PutEvents calls in all for one event (the SDK's own retries come on top). @default 4 */
  maxAttempts?: number;
  /** Wait before the second call, doubled for each further one, at most 2 s. @default 200 */
  baseDelayMs?: number;
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
 * the first emit, once per container, so a task function's init never pays for them. An entry
 * EventBridge refuses (FailedEntryCount, which the SDK does not retry) or a call that fails is
 * tried again with bounded backoff on the injected clock.
 */
export function eventBridgeEmitter(eventBusName: string, client?: Pick<EventBridgeClient, "send">, options: EmitterOptions = {}): EmitTaskEvent {
  const clock = options.clock ?? systemClock;
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const retrying = { clock, maxAttempts, baseDelayMs };
  // Not an async function: the emulator's in-process delivery is synchronous, and the task Lambda sends two events per invocation.
  return (detail) => {
    try {
      // Values this container read through secrets.get never leave it in an event, masked before the
      // event is cut to size (so the cut leaves no part of one) and again as sent.
      const masked = maskJSON(detail);
      const local = client ? undefined : ((globalThis as Record<symbol, unknown>)[LOCAL_PUT_EVENTS] as LocalPutEvents | undefined);
      if (!local) return putEvent(eventBusName, masked, client, retrying);
      local([{ EventBusName: eventBusName, Source: EVENT_SOURCE, DetailType: TASK_STATE_CHANGE, Detail: maskSecrets(JSON.stringify(masked)) }]);
      return SENT;
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

const SENT: Promise<void> = Promise.resolve();

/** One event through the SDK: the client made on first use, once per container; refused entries and failed calls retried. */
async function putEvent(
  eventBusName: string,
  masked: TaskStateChangeDetail,
  client: Pick<EventBridgeClient, "send"> | undefined,
  { clock, maxAttempts, baseDelayMs }: { clock: Clock; maxAttempts: number; baseDelayMs: number },
): Promise<void> {
  const { EventBridgeClient, PutEventsCommand } = await loadEventBridge();
  const eventBridge = client ?? (sharedClient ??= new EventBridgeClient({}));
  const entry = { EventBusName: eventBusName, Source: EVENT_SOURCE, DetailType: TASK_STATE_CHANGE, Detail: maskSecrets(JSON.stringify(boundTaskEvent(masked))) };
  for (let attempt = 1; ; attempt++) {
    let problem: EventDeliveryError;
    try {
      const out = await eventBridge.send(new PutEventsCommand({ Entries: [entry] }));
      if (!out.FailedEntryCount) return;
      const failed = out.Entries?.find((e) => e.ErrorCode);
      problem = new EventDeliveryError(`EventBridge refused the event: ${failed?.ErrorCode} ${failed?.ErrorMessage ?? ""}`.trim());
    } catch (error) {
      problem = new EventDeliveryError(`PutEvents failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
    }
    if (attempt >= maxAttempts) throw new EventDeliveryError(`${problem.message} (after ${attempt} attempts)`, { cause: problem });
    await clock.sleep(Math.min(baseDelayMs * 2 ** (attempt - 1), 2_000));
  }
}
