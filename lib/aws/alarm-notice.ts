/**
 * The dead-letter alarm, as the handler receives it (CloudWatch → SNS → Lambda): turned into a
 * notice every Slack destination posts and a FIFO alert topic gets (CloudWatch cannot publish to one), so a
 * deployment without a standard alert topic hears that alerts were dead-lettered.
 */
import type { SNSEvent } from "aws-lambda";
import type { Notice } from "../notify/ports";

export type { Notice } from "../notify/ports";

export function isSnsEvent(event: unknown): event is SNSEvent {
  const records = (event as { Records?: { EventSource?: string }[] })?.Records;
  return Array.isArray(records) && records.length > 0 && records.every((r) => r?.EventSource === "aws:sns");
}

/** The notice for a CloudWatch alarm notification entering ALARM; undefined for OK/INSUFFICIENT_DATA or anything else. */
export function alarmNotice(message: string, flowName: string): Notice | undefined {
  let alarm: { AlarmName?: string; AlarmDescription?: string; NewStateValue?: string; NewStateReason?: string; StateChangeTime?: string; Region?: string };
  try {
    alarm = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (alarm?.NewStateValue !== "ALARM") return undefined;
  const at = alarm.StateChangeTime ? new Date(alarm.StateChangeTime) : new Date();
  return {
    title: `flowhooks ${flowName}: alert records are in the dead-letter queue`,
    text: [
      alarm.AlarmDescription ?? `Events the handler Lambda of flow ${flowName} could not process are in its dead-letter queue.`,
      alarm.NewStateReason ? `Alarm ${alarm.AlarmName ?? ""}: ${alarm.NewStateReason}` : undefined,
      "Some alerts may not have been sent. Read the records in the dead-letter queue, fix the cause (the handler's logs name it), then redrive them to the events queue (docs/alerts.md, \"Dead letters\"); alerts already sent are not sent again.",
    ]
      .filter(Boolean)
      .join("\n"),
    at: Number.isNaN(at.getTime()) ? new Date() : at,
  };
}
