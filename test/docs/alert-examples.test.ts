import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { alertPictures, DOC, IMAGES, renderInto } from "./alert-examples";

it("docs/alerts.md shows the Slack payloads the formatters produce today (regenerate: npx tsx test/docs/alert-examples.ts)", () => {
  const doc = readFileSync(DOC, "utf8");
  expect(doc).toBe(renderInto(doc));
});

it("docs/images holds the pictures of those payloads as rendered today", () => {
  for (const [file, svg] of Object.entries(alertPictures())) expect(readFileSync(`${IMAGES}${file}`, "utf8"), file).toBe(svg);
});
