import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { DOC, renderInto } from "./alert-examples";

it("docs/alerts.md shows the Slack payloads the formatters produce today (regenerate: npx tsx test/docs/alert-examples.ts)", () => {
  const doc = readFileSync(DOC, "utf8");
  expect(doc).toBe(renderInto(doc));
});
