import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, parameter, task, triggers } from "../../lib/index";
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
