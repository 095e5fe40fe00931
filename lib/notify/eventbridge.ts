/**
 * EventBridge: one event per alert on a bus (`Source: "flowhooks"`, `DetailType: "Flowhooks Alert"`),
 * so rules route alerts to incident tools (PagerDuty, Opsgenie, Datadog), queues or functions. The
 * `detail` schema is versioned (`schemaVersion`) and documented in docs/alerts.md.
 */
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { NotificationError } from "../core/errors";
import { maskSecrets } from "../core/mask";
import type { StateHandler } from "../core/handlers";
import type { Alert, AlertChannel } from "./alert";
import { alertTitle, formatAlert, LIMITS, truncate } from "./format";
import { channelNotifier, checkNotifierOptions, type ChannelNotifierOptions } from "./notifier";
import { awsAdapters, type EventsSender } from "./ports";

/** The event's source and detail type (`fsm.onAlert` rules match on them). */
export const ALERT_EVENT_SOURCE = "flowhooks";
export const ALERT_DETAIL_TYPE = "Flowhooks Alert";
/** The `detail` schema's version: a field removed or changed in meaning raises it; added fields do not. */
export const ALERT_SCHEMA_VERSION = "1";

/** What `detail` holds. */
export interface AlertEventDetail {
  schemaVersion: typeof ALERT_SCHEMA_VERSION;
  flow: string;
  /** The Step Functions execution ARN (deployed), or the local run's id. */
  executionId: string;
  task?: string;
  mapIndex?: number;
  /** The task's attempt (1-based); 1 for flow alerts. */
  attempt: number;
  maxAttempts?: number;
  oldState: string;
  newState: string;
  /** The state's message, or the title when it has none; cut to fit with `… [truncated N chars]`. */
  message: string;
  error?: { name: string; cause: string };
  nextAttemptAt?: string;
  failedTasks?: string[];
  consoleUrl?: string;
  /** ISO time of the transition. */
  at: string;
}

export interface EventBridgeChannelOptions {
  /** The bus's name or ARN (an ARN for a bus in another account or region). @default "default" */
  eventBusName?: string;
  /** For tests: the EventBridge client. @default - one client per region per process */
  client?: EventsSender;
}

export type EventBridgeNotifierOptions = EventBridgeChannelOptions & ChannelNotifierOptions;

const BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;
const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/;

/** The detail with `message` and `error.cause` cut to `maxChars`. */
export function alertEventDetail(alert: Alert, maxChars = Number.POSITIVE_INFINITY): AlertEventDetail {
  const f = formatAlert(alert);
  return {
    schemaVersion: ALERT_SCHEMA_VERSION,
    flow: alert.flow,
    executionId: alert.executionId ?? "",
    ...(alert.task !== undefined ? { task: alert.task } : {}),
    ...(alert.mapIndex !== undefined ? { mapIndex: alert.mapIndex } : {}),
    attempt: alert.attempt ?? 1,
    ...(alert.maxAttempts !== undefined ? { maxAttempts: alert.maxAttempts } : {}),
    oldState: f.oldState,
    newState: f.state,
    message: truncate(f.message ?? f.title, maxChars),
    ...(f.error ? { error: { name: f.error.name, cause: truncate(f.error.cause, maxChars) } } : {}),
    ...(f.nextAttemptAt ? { nextAttemptAt: f.nextAttemptAt } : {}),
    ...(f.failedTasks ? { failedTasks: f.failedTasks.map(maskSecrets) } : {}),
    ...(f.consoleUrl ? { consoleUrl: f.consoleUrl } : {}),
    at: f.at,
  };
}

/** PutEvents' entry size: Time 14 bytes, plus Source, DetailType, Detail and each resource in UTF-8. */
export function entrySizeBytes(entry: PutEventsRequestEntry): number {
  return (
    (entry.Time ? 14 : 0) +
    Buffer.byteLength(entry.Source ?? "") +
    Buffer.byteLength(entry.DetailType ?? "") +
    Buffer.byteLength(entry.Detail ?? "") +
    (entry.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0)
  );
}

/** The PutEvents entry of an alert, masked, and cut to fit 256 KB. */
export function alertEventEntry(alert: Alert, eventBusName: string): PutEventsRequestEntry {
  const build = (maxChars: number): PutEventsRequestEntry => ({
    EventBusName: eventBusName,
    Source: ALERT_EVENT_SOURCE,
    DetailType: ALERT_DETAIL_TYPE,
    Time: alert.at,
    // Masked per field before it is serialized, so an escaped secret cannot slip past.
    Detail: maskSecrets(JSON.stringify(alertEventDetail(alert, maxChars))),
    ...(alert.executionId?.startsWith("arn:") ? { Resources: [alert.executionId] } : {}),
  });
  let maxChars = LIMITS.eventBridgeEntryBytes;
  let entry = build(maxChars);
  for (let bytes = entrySizeBytes(entry); bytes > LIMITS.eventBridgeEntryBytes && maxChars > 0; bytes = entrySizeBytes(entry)) {
    maxChars = Math.min(maxChars - 1, Math.floor(maxChars * (LIMITS.eventBridgeEntryBytes / bytes) * 0.98));
    entry = build(Math.max(maxChars, 0));
  }
  return entry;
}

/** A channel that puts one EventBridge event per alert. */
export function eventBridgeChannel(options: EventBridgeChannelOptions = {}): AlertChannel {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`eventBridgeChannel(options) takes an object such as { eventBusName: "alerts" }.`);
  }
  const eventBusName = options.eventBusName?.trim() ?? "default";
  if (!BUS_NAME.test(eventBusName) && !BUS_ARN.test(eventBusName)) {
    throw new TypeError(
      `eventBridgeNotifier: \`eventBusName\` ${JSON.stringify(options.eventBusName)} is neither a bus name (letters, digits, . - _ /) nor an event bus ARN; ` +
        "pass the bus's name, or its ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME) for a bus in another account.",
    );
  }
  return {
    name: "eventbridge",
    destination: eventBusName,
    async send(alert: Alert): Promise<void> {
      let out;
      try {
        // A bus ARN names its region; a bus name is in the function's own region.
        out = await awsAdapters().putEvents([alertEventEntry(alert, eventBusName)], BUS_ARN.exec(eventBusName)?.[1], options.client);
      } catch (error) {
        const code = error instanceof Error ? error.name : "Error";
        const hint = code.includes("AccessDenied")
          ? ` Grant events:PutEvents on the bus to this function's role${BUS_ARN.test(eventBusName) ? ", and let this account put events in the bus's resource policy" : ""}.`
          : code === "ResourceNotFoundException" ? " The bus does not exist; check its name." : "";
        throw new NotificationError(
          maskSecrets(`EventBridge did not accept the alert "${alertTitle(alert)}" for bus ${eventBusName} (${code}: ${error instanceof Error ? error.message : String(error)}).${hint}`),
        );
      }
      // PutEvents answers 200 with a failed entry (throttled, too large, …): that alert was not delivered.
      const failed = out.FailedEntryCount ? out.Entries?.find((e) => e.ErrorCode) : undefined;
      if (out.FailedEntryCount) {
        throw new NotificationError(
          maskSecrets(`EventBridge refused the alert "${alertTitle(alert)}" for bus ${eventBusName} (${failed?.ErrorCode ?? "unknown"}: ${failed?.ErrorMessage ?? "no message"}).`),
        );
      }
    },
  };
}

/**
 * A state handler that puts one EventBridge event per finished or retrying state (or the states
 * `onlyStates`/`ignoreStates` select) on `eventBusName`.
 */
export function eventBridgeNotifier(options: EventBridgeNotifierOptions = {}): StateHandler {
  checkNotifierOptions(options, "eventBridgeNotifier");
  return channelNotifier(eventBridgeChannel(options), options, "eventBridgeNotifier");
}
