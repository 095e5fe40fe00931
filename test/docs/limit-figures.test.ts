import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOC, figuresIn, limitFigures, renderFigures } from "./limit-figures";

describe("docs/limits.md's definition sizes", () => {
  it("are the ones the code synthesizes today (regenerate: npx tsx test/docs/limit-figures.ts)", () => {
    const figures = limitFigures();
    const written = figuresIn(readFileSync(DOC, "utf8"));
    // Every computed figure is quoted, and every quoted one is computed.
    expect(Object.keys(written).sort()).toEqual(Object.keys(figures).sort());
    expect(written).toEqual(figures);
  }, 120_000);

  it("are found between their markers and replaced there only", () => {
    const md = "a <!-- figure:x -->1<!-- /figure --> b <!-- figure:y -->2<!-- /figure -->";
    expect(figuresIn(md)).toEqual({ x: "1", y: "2" });
    expect(renderFigures(md, { x: "10" })).toBe("a <!-- figure:x -->10<!-- /figure --> b <!-- figure:y -->2<!-- /figure -->");
  });
});
