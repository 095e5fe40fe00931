/**
 * What the cloud-native destinations look like to a person (docs/alerts.md, "SNS e-mail and SMS,
 * Amazon Q Developer, EventBridge"): the e-mail body, the SMS, the Amazon Q Developer card and the
 * EventBridge event, and the Slack app's thread reply for a Paused task with its Approve and Reject
 * buttons (before and after a click), rendered by the real formatters from one example execution.
 * `npx tsx test/docs/destination-examples.ts` writes them (between `<!-- alert-example:NAME -->`
 * markers, docs/images/alert-chatbot-card.svg and alert-app-approval*.svg); test/docs/destination-examples.test.ts fails
 * when they drift.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Paused, Pending } from "../../lib/core/states";
import { answeredLine, replaceButtons } from "../../lib/aws/slack-interact";
import type { Alert } from "../../lib/notify/alert";
import { formatChatbotNotification, type ChatbotNotification } from "../../lib/notify/chatbot";
import { digestLine } from "../../lib/notify/digest";
import { formatThreadReply } from "../../lib/notify/slack-app";
import { alertEventEntry } from "../../lib/notify/eventbridge";
import { formatSnsMessage, stateColor } from "../../lib/notify/format";
import { failedAlert as failed, retryingAlert as retrying } from "./alert-examples";
import { blockKitSvg } from "./block-kit-svg";

export const DOC = fileURLToPath(new URL("../../docs/alerts.md", import.meta.url));
export const IMAGES = fileURLToPath(new URL("../../docs/images/", import.meta.url));

/** A task waiting for approval (`triggers.manualOnly`), in the same execution. */
export const pausedAlert: Alert = {
  flow: failed.flow,
  executionId: failed.executionId,
  consoleUrl: failed.consoleUrl,
  kind: "task",
  task: "approve-refund",
  oldState: new Pending(),
  newState: new Paused("Waiting for approval.", { startTime: new Date("2026-03-02T02:00:50Z") }),
  at: new Date("2026-03-02T02:00:50Z"),
};

/** The Slack app's thread reply for the Paused task, with buttons (alerts.slack.approvals). */
export function approvalReply() {
  return formatThreadReply({ flow: failed.flow, executionId: failed.executionId!, consoleUrl: failed.consoleUrl }, [digestLine(pausedAlert)], 0, true);
}

/** The same reply after an approver clicked Approve: the endpoint's update through response_url. */
export function approvedReply() {
  const reply = approvalReply();
  const actions = reply.attachments[0]!.blocks.find((b) => b.type === "actions") as { block_id: string };
  const line = answeredLine("answered", { approve: true }, { executionArn: failed.executionId!, task: pausedAlert.task! }, "U0APPROVER", "2026-03-02T02:03:12Z");
  const { replace_original: _, ...message } = replaceButtons(reply as never, actions.block_id, line)!;
  return message;
}

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
    "slack-app-approval": { lang: "json", body: JSON.stringify(approvalReply(), null, 2) },
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
  writeFileSync(`${IMAGES}alert-app-approval.svg`, blockKitSvg(approvalReply() as never));
  writeFileSync(`${IMAGES}alert-app-approved.svg`, blockKitSvg(approvedReply() as never));
  console.log(`wrote the destination examples into ${DOC}, and ${IMAGES}alert-chatbot-card.svg, alert-app-approval.svg, alert-app-approved.svg`);
}
