import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, flatten, parameter, task, triggers, unmapped } from "../../lib/index";
import { graphCommand, toDot, toMermaid } from "../../lib/cli/index";

function ordersFlow() {
  const extract = task({ maxRetries: 2 }, function extract(day: string) {
    return [day];
  });
  const load = task({ timeoutSeconds: 30 }, function load(rows: string[]) {
    return rows.length;
  });
  const alert = task({ trigger: triggers.anyFailed }, function alert() {});
  return new Flow({ name: "orders", referenceTasks: [load] }, () => {
    const rows = extract(parameter("day", "today"));
    load(rows);
    alert().after(rows);
  });
}

describe("graph", () => {
  it("Mermaid: parameters and tasks as nodes, retries/triggers/timeouts in labels, dashed ordering edges, bold reference tasks", () => {
    expect(toMermaid(ordersFlow()).split("\n").slice(2)).toEqual([
      '  p0(["parameter day"])',
      '  t0["extract<br/>retries: 2"]',
      '  t1["load<br/>timeout: 30s"]',
      '  t2["alert<br/>trigger: any_failed"]',
      "  p0 --> t0",
      "  t0 --> t1",
      "  t0 -.-> t2",
      "  classDef reference stroke-width:3px,font-weight:bold",
      "  class t1 reference",
      "",
    ]);
  });

  it("DOT: the same graph, with quoted labels and the reference task drawn bold", () => {
    const dot = toDot(ordersFlow());
    expect(dot).toMatch(/^digraph "orders" \{/);
    expect(dot).toContain('t0 [label="extract\nretries: 2"];');
    expect(dot).toContain('t1 [label="load\ntimeout: 30s", style="rounded,bold", penwidth=3];');
    expect(dot).toContain("t0 -> t2 [style=dashed];");
    expect(dot).toContain("p0 -> t0;");
    expect(dot.trimEnd().endsWith("}")).toBe(true);
  });

  it("escapes quotes in flow names so the DOT stays valid", () => {
    const a = task(function a() {});
    expect(toDot(new Flow({ name: 'say "hi"', tasks: [a] }))).toMatch(/^digraph "say \\"hi\\"" \{/);
  });
});

function filesFlow() {
  const listFiles = task(function listFiles() {
    return ["a.csv", "b.csv"];
  });
  const download = task({ mapConcurrency: 10 }, function download(file: string, bucket: string) {
    return `${bucket}/${file}`;
  });
  const pages = task(function pages(path: string) {
    return [path];
  });
  const parse = task(function parse(page: string) {
    return page.length;
  });
  const total = task(function total(sizes: number[]) {
    return sizes.length;
  });
  return new Flow({ name: "files" }, () => {
    const files = listFiles();
    const paths = download.map(files, unmapped(parameter("bucket", "in")));
    total(parse.map(flatten(pages.map(paths))));
    download.map(files, unmapped("backup"));
  });
}

describe("graph of mapped tasks", () => {
  it("Mermaid: a mapped task is one node marked [map] in the subroutine shape; what it maps over is a thick edge labelled map or flatten, unmapped inputs plain", () => {
    const lines = toMermaid(filesFlow()).split("\n");
    expect(lines).toContain('  t1[["download [map]<br/>mapConcurrency: 10"]]');
    // The same task mapped twice: two nodes, as a task called twice.
    expect(lines).toContain('  t2[["download-2 [map]<br/>mapConcurrency: 10"]]');
    expect(lines).toContain('  t3[["pages [map]"]]');
    expect(lines).toContain('  t0["listFiles"]');
    expect(lines).toContain("  t0 ==>|map| t1");
    expect(lines).toContain("  t0 ==>|map| t2");
    expect(lines).toContain("  p0 --> t1");
    expect(lines).toContain("  t3 ==>|flatten| t4");
    // A reducer of a mapped task's results takes them whole.
    expect(lines).toContain("  t4 --> t5");
  });

  it("DOT: a mapped task has a double border and [map] in its label; mapped-over edges are bold and labelled", () => {
    const dot = toDot(filesFlow());
    expect(dot).toContain('t1 [label="download [map]\nmapConcurrency: 10", peripheries=2];');
    expect(dot).toContain('t0 -> t1 [style=bold, label="map"];');
    expect(dot).toContain("p0 -> t1;");
    expect(dot).toContain('t3 -> t4 [style=bold, label="flatten"];');
    expect(dot).toContain("t4 -> t5;");
    expect(dot).toContain('t0 [label="listFiles"];');
  });
});

describe("graph command", () => {
  it("--output writes the drawing to the file instead of stdout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowhooks-graph-"));
    const written: string[] = [];
    const code = await graphCommand({
      file: "test/cli/fixtures/retries.ts",
      format: "dot",
      output: join(dir, "rates.dot"),
      out: { write: (t: string) => written.push(t) },
    });
    expect(code).toBe(0);
    expect(written).toEqual([]);
    expect(readFileSync(join(dir, "rates.dot"), "utf8")).toMatch(/^digraph "rates" \{[\s\S]*t0 -> t1;/);
  });

  it("refuses an unknown format before importing the module, listing the formats", async () => {
    await expect(graphCommand({ file: "does-not-matter.ts", format: "png" })).rejects.toThrow(
      'Unknown graph format "png"; use --format mermaid, --format dot, --format svg.',
    );
  });
});
