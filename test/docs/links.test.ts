/**
 * README.md and docs/ ship in the npm tarball; their relative links must point at files the tarball
 * holds, or they break for everyone reading the installed package (node_modules/flowhooks/…).
 * Repository-only files (BENCHMARKS.md, sources) are linked by their GitHub address instead.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** The relative link targets of a markdown file (without #anchors), with their lines. */
export function relativeLinks(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  markdown.split("\n").forEach((text, i) => {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    if (fenced) return;
    for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!.split("#")[0]!;
      if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      out.push({ line: i + 1, target });
    }
  });
  return out;
}

describe("links in the packed docs", () => {
  it("point only at files `npm pack` puts in the tarball", () => {
    const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as { files: { path: string }[] }[];
    const files = new Set(packed[0]!.files.map((f) => f.path));
    expect(files.has("LICENSE")).toBe(true);
    const broken = docs.flatMap((doc) => {
      if (!files.has(doc)) return [`${doc} is not in the tarball`];
      return relativeLinks(readFileSync(join(root, doc), "utf8"))
        .map(({ line, target }) => ({ line, path: normalize(join(dirname(doc), decodeURIComponent(target))).replace(/\\/g, "/") }))
        .filter(({ path }) => !files.has(path) && ![...files].some((f) => f.startsWith(`${path.replace(/\/$/, "")}/`)))
        .map(({ line, path }) => `${doc}:${line} links ${path}, which the tarball lacks`);
    });
    expect(broken).toEqual([]);
  }, 60_000);

  it("finds relative links and images outside code blocks, and skips URLs and anchors", () => {
    const md = ["[a](docs/x.md#h) ![i](images/p.svg) [u](https://e.com/y) [h](#top)", "```", "[c](not-a-link.md)", "```", '[t](../B.md "title")'].join("\n");
    expect(relativeLinks(md)).toEqual([
      { line: 1, target: "docs/x.md" },
      { line: 1, target: "images/p.svg" },
      { line: 5, target: "../B.md" },
    ]);
  });
});
