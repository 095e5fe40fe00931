import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { blockKitSvg } from "./block-kit-svg";
import { approvalReply, approvedReply, chatbotCardSvg, DOC, IMAGES, renderInto } from "./destination-examples";

it("docs/alerts.md shows the e-mail, SMS, Q Developer notification, EventBridge event and Slack approval reply the formatters produce today (regenerate: npx tsx test/docs/destination-examples.ts)", () => {
  const doc = readFileSync(DOC, "utf8");
  expect(doc).toBe(renderInto(doc));
});

it("docs/images/alert-chatbot-card.svg is the Q Developer card as rendered today", () => {
  expect(readFileSync(`${IMAGES}alert-chatbot-card.svg`, "utf8")).toBe(chatbotCardSvg());
});

it("docs/images/alert-app-approval.svg and alert-app-approved.svg are the Paused task's thread reply with its buttons, and after Approve, as rendered today", () => {
  expect(readFileSync(`${IMAGES}alert-app-approval.svg`, "utf8")).toBe(blockKitSvg(approvalReply() as never));
  expect(readFileSync(`${IMAGES}alert-app-approved.svg`, "utf8")).toBe(blockKitSvg(approvedReply() as never));
});
