/**
 * `flowhooks graph`: a flow's DAG as Mermaid or Graphviz DOT text, or SVG rendered by Graphviz (WebAssembly, no system package).
 * Nodes show retries and non-default triggers; reference tasks are drawn bold; ordering-only
 * edges (`.after(...)`) are dashed; parameters are rounded nodes. A mapped task (`t.map(...)`) is
 * one node labelled `t [map]` in its own shape; the edges from what it maps over are thick and
 * labelled `map` (or `flatten`), the edges of `unmapped(...)` inputs plain. A `caseOf` block is a
 * box labelled `case <condition> = <value>` around its tasks (graph-cases.ts); a `merge` says so; a
 * `flowRun` task's notes name the flow it runs (`sub-flow: etl`).
 */
import type { Viz } from "@viz-js/viz";
import type { FlowRunTask } from "../core/control";
import type { Flow, FlowNode } from "../core/flow";
import { allSuccessful } from "../core/triggers";
import { UsageError } from "./errors";
import { caseBlocks, dotCaseLines, mermaidCaseLines, type CaseBlock } from "./graph-cases";

export type GraphFormat = "mermaid" | "dot" | "svg";
export const GRAPH_FORMATS: readonly GraphFormat[] = ["mermaid", "dot", "svg"];

interface GraphModel {
  tasks: { id: string; task: string; name: string; notes: string[]; reference: boolean; mapped: boolean }[];
  parameters: { id: string; name: string }[];
  /**
   * `data`: a result or parameter passed in (whole); `map`/`flatten`: what a mapped task maps over
   * (`flatten(...)`: a list of lists); `order`: `.after(...)` only.
   */
  edges: { from: string; to: string; kind: EdgeKind }[];
  /** `caseOf` blocks, outermost first. */
  cases: CaseBlock[];
}

type EdgeKind = "data" | "map" | "flatten" | "order";

/** What the renderers draw, independent of the output syntax. */
function model(flow: Flow): GraphModel {
  const graph = flow.graph();
  const ids = new Map(graph.nodes.map((n, i) => [n.task, `t${i}`] as const));
  const references = new Set(graph.referenceTasks);
  const paramIds = new Map(graph.parameters.map((p, i) => [p, `p${i}`] as const));
  const edges: GraphModel["edges"] = [];
  for (const node of graph.nodes) {
    const to = ids.get(node.task)!;
    // One edge per source; mapped over wins over passed whole (`t.map(xs, unmapped(xs))`).
    const dataFrom = new Map<string, EdgeKind>();
    for (const input of node.inputs) {
      const from = input.kind === "task" ? ids.get(input.task) : input.kind === "parameter" ? paramIds.get(input.name) : undefined;
      if (!from) continue;
      const kind: EdgeKind = input.flatten ? "flatten" : input.mapped ? "map" : "data";
      if (!dataFrom.has(from) || dataFrom.get(from) === "data") dataFrom.set(from, kind);
    }
    for (const [from, kind] of dataFrom) edges.push({ from, to, kind });
    for (const up of node.upstream) {
      const from = ids.get(up)!;
      if (!dataFrom.has(from)) edges.push({ from, to, kind: "order" });
    }
  }
  return {
    tasks: graph.nodes.map((n) => ({
      id: ids.get(n.task)!,
      task: n.name,
      name: n.mapped ? `${n.name} [map]` : n.name,
      notes: notes(n),
      reference: references.has(n.task),
      mapped: n.mapped === true,
    })),
    parameters: graph.parameters.map((p) => ({ id: paramIds.get(p)!, name: p })),
    edges,
    cases: caseBlocks(graph.nodes, ids),
  };
}

function notes(node: FlowNode): string[] {
  const out: string[] = [];
  const { maxRetries } = node.task.retry;
  if (maxRetries > 0) out.push(`retries: ${maxRetries}`);
  // By name: the flow may come from another copy of flowhooks (the CLI loads it apart from itself).
  if (node.task.trigger.name !== allSuccessful.name) out.push(`trigger: ${node.task.trigger.name}`);
  if (node.task.timeoutSeconds !== undefined) out.push(`timeout: ${node.task.timeoutSeconds}s`);
  if (node.mapped && node.task.mapConcurrency !== undefined) out.push(`mapConcurrency: ${node.task.mapConcurrency}`);
  if (node.kind === "merge") out.push("merge: first not skipped");
  // A flowRun task: which flow it runs (its own state machine, deployed).
  if (node.kind === "flowRun") out.push(`sub-flow: ${(node.task as FlowRunTask).flow.name}`);
  return out;
}

/** A Mermaid flowchart (paste into GitHub Markdown or mermaid.live). */
export function toMermaid(flow: Flow): string {
  const m = model(flow);
  const lines = [
    "flowchart TD",
    `  %% flow ${flow.name}; bold: reference tasks, dashed: ordering-only edges, [map]: mapped tasks (double-bordered), thick "map" edges: what they map over`,
  ];
  // Mermaid labels are quoted; a double quote inside is written as an entity.
  const label = (parts: string[]) => `"${parts.join("<br/>").replace(/"/g, "#quot;")}"`;
  for (const p of m.parameters) lines.push(`  ${p.id}([${label([`parameter ${p.name}`])}])`);
  // A mapped task is a subroutine shape (double side borders): one node standing for its children.
  for (const t of m.tasks) lines.push(t.mapped ? `  ${t.id}[[${label([t.name, ...t.notes])}]]` : `  ${t.id}[${label([t.name, ...t.notes])}]`);
  lines.push(...mermaidCaseLines(m.cases, label));
  const arrow = { data: "-->", order: "-.->", map: "==>|map|", flatten: "==>|flatten|" } as const;
  for (const e of m.edges) lines.push(`  ${e.from} ${arrow[e.kind]} ${e.to}`);
  const refs = m.tasks.filter((t) => t.reference).map((t) => t.id);
  if (refs.length > 0) {
    lines.push("  classDef reference stroke-width:3px,font-weight:bold");
    lines.push(`  class ${refs.join(",")} reference`);
  }
  return `${lines.join("\n")}\n`;
}

/** How a run report draws one task node: fill, text colour, and lines added under its notes (lib/run-report). */
export interface NodeDecoration {
  fillColor: string;
  fontColor: string;
  lines: string[];
  /** SVG class of the node's group, so a page can find it. */
  className: string;
}

/** Graphviz DOT (render with `dot -Tsvg`); `decorate` styles task nodes (a run report colours them by state). */
export function toDot(flow: Flow, decorate?: (task: string) => NodeDecoration | undefined): string {
  const m = model(flow);
  const q = (text: string) => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  const lines = [
    `digraph ${q(flow.name)} {`,
    `  // bold: reference tasks, dashed: ordering-only edges, [map] with a double border: mapped tasks, bold "map" edges: what they map over`,
    "  rankdir=TB;",
    '  node [shape=box, style="rounded", fontname="Helvetica"];',
  ];
  for (const p of m.parameters) lines.push(`  ${p.id} [label=${q(`parameter ${p.name}`)}, shape=oval];`);
  for (const t of m.tasks) {
    const look = decorate?.(t.task);
    const attrs = [`label=${q([t.name, ...t.notes, ...(look?.lines ?? [])].join("\n"))}`];
    if (look) attrs.push(`style="rounded,filled${t.reference ? ",bold" : ""}"`, `fillcolor=${q(look.fillColor)}`, `fontcolor=${q(look.fontColor)}`, `class=${q(look.className)}`);
    if (t.reference && !look) attrs.push('style="rounded,bold"');
    if (t.reference) attrs.push("penwidth=3");
    if (t.mapped) attrs.push("peripheries=2");
    lines.push(`  ${t.id} [${attrs.join(", ")}];`);
  }
  lines.push(...dotCaseLines(m.cases, q));
  const edgeAttrs = { data: "", order: " [style=dashed]", map: ' [style=bold, label="map"]', flatten: ' [style=bold, label="flatten"]' } as const;
  for (const e of m.edges) lines.push(`  ${e.from} -> ${e.to}${edgeAttrs[e.kind]};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * SVG through Graphviz compiled to WebAssembly (@viz-js/viz): the layout is Graphviz's, and no
 * system package is needed. The WASM module loads on first use and is reused.
 */
export async function toSvg(flow: Flow, decorate?: (task: string) => NodeDecoration | undefined): Promise<string> {
  const viz = await loadViz();
  return viz.renderString(toDot(flow, decorate), { format: "svg" });
}

let vizInstance: Promise<Viz> | undefined;
function loadViz(): Promise<Viz> {
  vizInstance ??= import("@viz-js/viz").then((m) => m.instance());
  return vizInstance;
}

/** The flow drawn in `format`. */
export async function renderGraph(flow: Flow, format: string): Promise<string> {
  switch (format) {
    case "mermaid":
      return toMermaid(flow);
    case "dot":
      return toDot(flow);
    case "svg":
      return toSvg(flow);
    default:
      throw new UsageError(`Unknown graph format ${JSON.stringify(format)}; use --format ${GRAPH_FORMATS.join(", --format ")}.`);
  }
}
