import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { chatbotCardSvg, DOC, IMAGES, renderInto } from "./destination-examples";

it("docs/alerts.md shows the e-mail, SMS, Q Developer notification and EventBridge event the formatters produce today (regenerate: npx tsx test/docs/destination-examples.ts)", () => {
  const doc = readFileSync(DOC, "utf8");
  expect(doc).toBe(renderInto(doc));
});

it("docs/images/alert-chatbot-card.svg is the Q Developer card as rendered today", () => {
  expect(readFileSync(`${IMAGES}alert-chatbot-card.svg`, "utf8")).toBe(chatbotCardSvg());
});
