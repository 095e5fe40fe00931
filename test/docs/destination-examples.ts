/**
 * What the cloud-native destinations look like to a person (docs/alerts.md, "SNS e-mail and SMS,
 * Amazon Q Developer, EventBridge"): the e-mail body, the SMS, the Amazon Q Developer card and the
 * EventBridge event, rendered by the real formatters from one example execution.
 * `npx tsx test/docs/destination-examples.ts` writes them (between `<!-- alert-example:NAME -->`
 * markers, and docs/images/alert-chatbot-card.svg); test/docs/destination-examples.test.ts fails
 * when they drift.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Failed, Retrying, Running } from "../../lib/core/states";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { formatChatbotNotification, type ChatbotNotification } from "../../lib/notify/chatbot";
import { alertEventEntry } from "../../lib/notify/eventbridge";
import { formatSnsMessage, stateColor } from "../../lib/notify/format";
import { blockKitSvg } from "./block-kit-svg";

export const DOC = fileURLToPath(new URL("../../docs/alerts.md", import.meta.url));
export const IMAGES = fileURLToPath(new URL("../../docs/images/", import.meta.url));
const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:2026-03-02-nightly";
const at = (s: number) => new Date(Date.parse("2026-03-02T02:00:00Z") + s * 1000);
const base = { flow: "orders", executionId: EXECUTION, consoleUrl: executionConsoleUrl(EXECUTION) };

const failed: Alert = {
  ...base,
  kind: "task",
  task: "load-eu",
  oldState: new Running(),
  newState: new Failed("Error during execution of task", { result: Object.assign(new Error("connect ETIMEDOUT 10.0.3.17:5432"), { name: "ConnectionError" }) }),
  attempt: 3,
  maxAttempts: 3,
  at: at(41),
};
const retrying: Alert = {
  ...base,
  kind: "task",
  task: "load-us",
  oldState: new Running(),
  newState: new Retrying("Retrying Task (after attempt 1 of 3)", { startTime: at(72), runCount: 1, result: new Error("HTTP 503 from api.partner.example") }),
  attempt: 1,
  maxAttempts: 3,
  at: at(42),
};

/** Each example by the name its marker carries, with the fence it is shown in. */
export function destinationExamples(): Record<string, { lang: "text" | "json"; body: string }> {
  const sns = formatSnsMessage(retrying);
  const bodies = JSON.parse(sns.message) as { email: string };
  const entry = alertEventEntry(failed, "orders-alerts");
  return {
    "sns-email": { lang: "text", body: `Subject: ${sns.subject}\n\n${bodies.email}` },
    "sns-sms": { lang: "text", body: (JSON.parse(formatSnsMessage(failed).message) as { sms: string }).sms },
    "chatbot-notification": { lang: "json", body: JSON.stringify(formatChatbotNotification(failed), null, 2) },
    "eventbridge-event": {
      lang: "json",
      body: JSON.stringify({ source: entry.Source, "detail-type": entry.DetailType, resources: entry.Resources, detail: JSON.parse(entry.Detail!) }, null, 2),
    },
  };
}

export function markerBlock(name: string, example: { lang: string; body: string }): string {
  return `<!-- alert-example:${name} -->\n\`\`\`${example.lang}\n${example.body}\n\`\`\`\n<!-- /alert-example:${name} -->`;
}

/** The doc with every destination example replaced by the current rendering. */
export function renderInto(markdown: string): string {
  let out = markdown;
  for (const [name, example] of Object.entries(destinationExamples())) {
    const re = new RegExp(`<!-- alert-example:${name} -->[\\s\\S]*?<!-- /alert-example:${name} -->`);
    if (!re.test(out)) throw new Error(`docs/alerts.md has no <!-- alert-example:${name} --> … <!-- /alert-example:${name} --> block.`);
    out = out.replace(re, () => markerBlock(name, example));
  }
  return out;
}

/** The card as Slack shows an Amazon Q Developer custom notification, drawn with the Block Kit renderer (an approximation). */
export function chatbotCardSvg(n: ChatbotNotification = formatChatbotNotification(failed)): string {
  return blockKitSvg(
    {
      text: n.content.title,
      blocks: [{ type: "section", text: { type: "mrkdwn", text: `*${n.content.title.replace(/^:\w+: /, "")}*` } }],
      attachments: [
        {
          color: stateColor(failed.newState),
          blocks: [
            { type: "section", text: { type: "mrkdwn", text: n.content.description } },
            ...(n.content.nextSteps.length ? [{ type: "section", text: { type: "mrkdwn", text: `*Next steps*\n${n.content.nextSteps.map((s) => `• ${s}`).join("\n")}` } }] : []),
          ],
        },
      ],
    } as never,
    "Amazon Q",
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DOC, renderInto(readFileSync(DOC, "utf8")));
  writeFileSync(`${IMAGES}alert-chatbot-card.svg`, chatbotCardSvg());
  console.log(`wrote the destination examples into ${DOC} and ${IMAGES}alert-chatbot-card.svg`);
}
