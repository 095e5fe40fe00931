/**
 * The Slack payloads docs/alerts.md shows, rendered by the real formatters from one example
 * execution. `npx tsx test/docs/alert-examples.ts` writes them into the doc (between the
 * `<!-- alert-example:NAME -->` markers); test/docs/alert-examples.test.ts fails when they drift.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Failed, Retrying, Running, TimedOut } from "../../lib/core/states";
import { alarmNotice } from "../../lib/aws/alarm-notice";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { digestEnding, digestLine, type DigestDoc } from "../../lib/notify/digest";
import { formatParentMessage } from "../../lib/notify/slack-app";
import { formatDigestMessage, formatEndingMessage, formatNoticeMessage } from "../../lib/notify/slack-digest";
import { blockKitSvg } from "./block-kit-svg";

export const DOC = fileURLToPath(new URL("../../docs/alerts.md", import.meta.url));
/** Where the pictures of the examples go (`alert-<name>.svg`). */
export const IMAGES = fileURLToPath(new URL("../../docs/images/", import.meta.url));
const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:2026-03-02-nightly";
const at = (s: number) => new Date(Date.parse("2026-03-02T02:00:00Z") + s * 1000);
const base = { flow: "orders", executionId: EXECUTION, consoleUrl: executionConsoleUrl(EXECUTION) };

/** A task's last attempt failed, and one that will be retried: the examples every alert picture shows. */
export const failedAlert: Alert = {
  ...base,
  kind: "task",
  task: "load-eu",
  oldState: new Running(),
  newState: new Failed("Error during execution of task", { result: Object.assign(new Error("connect ETIMEDOUT 10.0.3.17:5432"), { name: "ConnectionError" }) }),
  attempt: 3,
  maxAttempts: 3,
  at: at(41),
};
export const retryingAlert: Alert = {
  ...base,
  kind: "task",
  task: "load-us",
  oldState: new Running(),
  newState: new Retrying("Retrying Task (after attempt 1 of 3)", { startTime: at(72), runCount: 1, result: new Error("HTTP 503 from api.partner.example") }),
  attempt: 1,
  maxAttempts: 3,
  at: at(42),
};

const alerts: Alert[] = [
  failedAlert,
  retryingAlert,
  { ...base, kind: "task", task: "report", oldState: new Running(), newState: new TimedOut("Task timed out after 300 seconds."), attempt: 1, maxAttempts: 1, at: at(44) },
];

const lines = alerts.map(digestLine);

function exampleDoc(ended: boolean): DigestDoc {
  const doc: DigestDoc = {
    flow: "orders",
    executionId: EXECUTION,
    consoleUrl: base.consoleUrl,
    pages: 1,
    sentPages: 0,
    pendingLines: lines.length,
    counts: Object.fromEntries(lines.map((l) => [l.state, 1])),
    failedTasks: ["load-eu", "report"],
    requests: 0,
    sentLines: 0,
    endings: [],
    target: {},
  };
  if (ended) {
    doc.endings = [digestEnding({ ...base, kind: "flow", oldState: new Running(), newState: new Failed("Some reference tasks failed."), failedTasks: ["load-eu", "report"], at: at(125), startedAt: at(0) })];
  }
  return doc;
}

/** Each example payload by the name its marker in docs/alerts.md carries. */
export function alertExamples(): Record<string, unknown> {
  const running = exampleDoc(false);
  const ended = exampleDoc(true);
  const notice = alarmNotice(
    JSON.stringify({ AlarmName: "orders-DeadLettersAlarm", NewStateValue: "ALARM", NewStateReason: "Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0).", StateChangeTime: "2026-03-02T02:15:00.000Z" }),
    "orders",
  )!;
  return {
    "webhook-digest": formatDigestMessage(running, lines, 0),
    "webhook-ending": formatEndingMessage(ended, ended.endings[0]!),
    "app-parent-running": formatParentMessage(running),
    "app-parent-ended": formatParentMessage(ended),
    "dead-letter-notice": formatNoticeMessage(notice),
  };
}

export function markerBlock(name: string, payload: unknown): string {
  return `<!-- alert-example:${name} -->\n\`\`\`json\n${JSON.stringify(payload, null, 2)}\n\`\`\`\n<!-- /alert-example:${name} -->`;
}

/** The doc with every example block replaced by the current rendering. */
export function renderInto(markdown: string): string {
  let out = markdown;
  for (const [name, payload] of Object.entries(alertExamples())) {
    const re = new RegExp(`<!-- alert-example:${name} -->[\\s\\S]*?<!-- /alert-example:${name} -->`);
    if (!re.test(out)) throw new Error(`docs/alerts.md has no <!-- alert-example:${name} --> … <!-- /alert-example:${name} --> block.`);
    out = out.replace(re, () => markerBlock(name, payload));
  }
  return out;
}

/** Each example's picture, by file name under docs/images/. */
export function alertPictures(): Record<string, string> {
  return Object.fromEntries(Object.entries(alertExamples()).map(([name, payload]) => [`alert-${name}.svg`, blockKitSvg(payload as never)]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DOC, renderInto(readFileSync(DOC, "utf8")));
  mkdirSync(IMAGES, { recursive: true });
  for (const [file, svg] of Object.entries(alertPictures())) writeFileSync(`${IMAGES}${file}`, svg);
  console.log(`wrote the alert examples into ${DOC} and their pictures into ${IMAGES}`);
}
