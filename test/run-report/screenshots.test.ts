import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exampleReportHtml, hashHtml, HASHES_FILE, SCREENSHOTS } from "../../scripts/report-screenshots";

describe("the report screenshots in docs/images", () => {
  it("show the reports the code makes today (else run: npx tsx scripts/report-screenshots.ts)", async () => {
    const committed = JSON.parse(readFileSync(HASHES_FILE, "utf8")) as Record<string, string>;
    for (const { example } of SCREENSHOTS) {
      const now = hashHtml(await exampleReportHtml(example));
      expect(now, `${example}'s report changed since its screenshot; run npx tsx scripts/report-screenshots.ts`).toBe(committed[example]);
    }
  }, 60_000);
});
