/**
 * A PutEvents-compatible endpoint on 127.0.0.1: the bundled task code sends its transition events
 * with the real EventBridge client (AWS_ENDPOINT_URL_EVENTBRIDGE points here), and each emulation
 * receives the entries of its own execution. One endpoint per process, so warm containers whose
 * clients were created in an earlier emulation keep reaching it.
 */
import { AsyncResource } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { startLocalService } from "./local-service";

/** One PutEvents entry, as the SDK sends it. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number | string;
}

/** Receives an entry with its `Detail` parsed once (undefined when it is not JSON). */
export type EntrySink = (entry: PutEventsEntry, detail: Record<string, unknown> | undefined) => void;

let server: Promise<string> | undefined;
const sinks = new Map<string, EntrySink>();

function detailOf(entry: PutEventsEntry): Record<string, unknown> | undefined {
  try {
    const detail = JSON.parse(entry.Detail ?? "{}") as unknown;
    return detail !== null && typeof detail === "object" ? (detail as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Hands each entry to the emulation of its execution. */
function deliverEntries(entries: readonly PutEventsEntry[]): void {
  for (const entry of entries) {
    // Entries of no running emulation (a task killed by its timeout that went on) are dropped, as Lambda would have stopped it.
    const detail = detailOf(entry);
    const executionArn = typeof detail?.executionArn === "string" ? detail.executionArn : "";
    sinks.get(executionArn)?.(entry, detail);
  }
}

/**
 * The async context of this module's loading: no container environment, no run context. Entries
 * handed over in-process are delivered from it, as the HTTP endpoint's requests are, so what the
 * emulator does with them (and the handler Lambda it calls) never inherits the sending task
 * container's `process.env` view or run context.
 */
const outside = new AsyncResource("flowhooks.emulator.putEvents");
function deliverDetached(entries: readonly PutEventsEntry[]): void {
  outside.runInAsyncScope(deliverEntries, null, entries);
}

/** Same key as LOCAL_PUT_EVENTS in lambdas/task/emit.ts (the bundled task code reads it from `globalThis`). */
const LOCAL_PUT_EVENTS = Symbol.for("flowhooks.emulator.putEvents");
let inProcessUsers = 0;

/**
 * Until the returned function is called, the bundled task code hands its PutEvents entries
 * straight to the emulations here instead of signing and sending them over HTTP: same entries,
 * same routing, none of the SDK's per-request cost (~1 ms per event). Nested uses are counted.
 */
export function deliverInProcess(): () => void {
  if (inProcessUsers++ === 0) (globalThis as Record<symbol, unknown>)[LOCAL_PUT_EVENTS] = deliverDetached;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--inProcessUsers === 0) delete (globalThis as Record<symbol, unknown>)[LOCAL_PUT_EVENTS];
  };
}

/** The endpoint's URL, starting it on first use. */
export function localEventBridge(): Promise<string> {
  server ??= startLocalService("PutEvents", (request) => {
    const entries = (request.Entries ?? []) as PutEventsEntry[];
    deliverEntries(entries);
    return { status: 200, body: { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) } };
  });
  return server;
}

/** Routes the entries whose detail names `executionArn` to `sink` until the returned function is called. */
export function subscribe(executionArn: string, sink: EntrySink): () => void {
  sinks.set(executionArn, sink);
  return () => {
    if (sinks.get(executionArn) === sink) sinks.delete(executionArn);
  };
}
