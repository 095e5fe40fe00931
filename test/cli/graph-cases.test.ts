/** `flowhooks graph` shows case blocks: which condition, which value, which tasks, nested as written. */
import { describe, expect, it } from "vitest";
import { Flow, task } from "../../lib/index";
import { toDot, toMermaid, toSvg } from "../../lib/cli/index";
import { caseFlow } from "../helpers/case-flows";

describe("graph of a flow with case blocks", () => {
  it("Mermaid: one subgraph per caseOf block labelled with its condition and value, around its tasks, nested blocks inside", () => {
    const lines = toMermaid(caseFlow()).split("\n");
    const from = lines.indexOf('  subgraph c3["case kind = #quot;even#quot;"]');
    expect(lines.slice(from, from + 6)).toEqual([
      '  subgraph c3["case kind = #quot;even#quot;"]',
      "    t5",
      '    subgraph c4["case isBig = true"]',
      "      t8",
      "    end",
      "  end",
    ]);
    expect(lines).toContain('  subgraph c1["case isBig = false"]');
    // ifElse's merge says what it does.
    expect(lines).toContain('  t6["merge<br/>merge: first not skipped"]');
  });

  it("DOT: one dashed cluster per block, nested, that Graphviz lays out with its label", async () => {
    const dot = toDot(caseFlow());
    expect(dot).toContain('  subgraph cluster_c3 {\n    label="case kind = \\"even\\""; style=dashed;\n    t5;\n    subgraph cluster_c4 {');
    const svg = await toSvg(caseFlow());
    expect(svg).toContain('<g id="clust');
    expect(svg).toContain("case isBig = false");
  });

  it("draws no box for a flow without caseOf", () => {
    const a = task({ name: "a" }, () => 1);
    const flow = new Flow({ name: "plain", tasks: [a] });
    expect(toMermaid(flow)).not.toContain("subgraph");
    expect(toDot(flow)).not.toContain("cluster");
  });
});
