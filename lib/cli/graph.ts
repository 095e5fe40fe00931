/**
 * `flowhooks graph`: a flow's DAG as Mermaid or Graphviz DOT text, or SVG rendered by Graphviz (WebAssembly, no system package).
 * Nodes show retries and non-default triggers; reference tasks are drawn bold; ordering-only
 * edges (`.after(...)`) are dashed; parameters are rounded nodes.
 */
import type { Viz } from "@viz-js/viz";
import type { Flow, FlowNode } from "../core/flow";
import { allSuccessful } from "../core/triggers";
import { UsageError } from "./errors";

export type GraphFormat = "mermaid" | "dot" | "svg";
export const GRAPH_FORMATS: readonly GraphFormat[] = ["mermaid", "dot", "svg"];

interface GraphModel {
  tasks: { id: string; name: string; notes: string[]; reference: boolean }[];
  parameters: { id: string; name: string }[];
  /** `data`: a result or parameter passed in; `order`: `.after(...)` only. */
  edges: { from: string; to: string; kind: "data" | "order" }[];
}

/** What the renderers draw, independent of the output syntax. */
function model(flow: Flow): GraphModel {
  const graph = flow.graph();
  const ids = new Map(graph.nodes.map((n, i) => [n.task, `t${i}`] as const));
  const references = new Set(graph.referenceTasks);
  const paramIds = new Map(graph.parameters.map((p, i) => [p, `p${i}`] as const));
  const edges: GraphModel["edges"] = [];
  for (const node of graph.nodes) {
    const to = ids.get(node.task)!;
    const dataFrom = new Set<string>();
    for (const input of node.inputs) {
      const from = input.kind === "task" ? ids.get(input.task) : input.kind === "parameter" ? paramIds.get(input.name) : undefined;
      if (from && !dataFrom.has(from)) {
        dataFrom.add(from);
        edges.push({ from, to, kind: "data" });
      }
    }
    for (const up of node.upstream) {
      const from = ids.get(up)!;
      if (!dataFrom.has(from)) edges.push({ from, to, kind: "order" });
    }
  }
  return {
    tasks: graph.nodes.map((n) => ({ id: ids.get(n.task)!, name: n.name, notes: notes(n), reference: references.has(n.task) })),
    parameters: graph.parameters.map((p) => ({ id: paramIds.get(p)!, name: p })),
    edges,
  };
}

function notes(node: FlowNode): string[] {
  const out: string[] = [];
  const { maxRetries } = node.task.retry;
  if (maxRetries > 0) out.push(`retries: ${maxRetries}`);
  // By name: the flow may come from another copy of flowhooks (the CLI loads it apart from itself).
  if (node.task.trigger.name !== allSuccessful.name) out.push(`trigger: ${node.task.trigger.name}`);
  if (node.task.timeoutSeconds !== undefined) out.push(`timeout: ${node.task.timeoutSeconds}s`);
  return out;
}

/** A Mermaid flowchart (paste into GitHub Markdown or mermaid.live). */
export function toMermaid(flow: Flow): string {
  const m = model(flow);
  const lines = ["flowchart TD", `  %% flow ${flow.name}; bold: reference tasks, dashed: ordering-only edges`];
  // Mermaid labels are quoted; a double quote inside is written as an entity.
  const label = (parts: string[]) => `"${parts.join("<br/>").replace(/"/g, "#quot;")}"`;
  for (const p of m.parameters) lines.push(`  ${p.id}([${label([`parameter ${p.name}`])}])`);
  for (const t of m.tasks) lines.push(`  ${t.id}[${label([t.name, ...t.notes])}]`);
  for (const e of m.edges) lines.push(`  ${e.from} ${e.kind === "data" ? "-->" : "-.->"} ${e.to}`);
  const refs = m.tasks.filter((t) => t.reference).map((t) => t.id);
  if (refs.length > 0) {
    lines.push("  classDef reference stroke-width:3px,font-weight:bold");
    lines.push(`  class ${refs.join(",")} reference`);
  }
  return `${lines.join("\n")}\n`;
}

/** Graphviz DOT (render with `dot -Tsvg`). */
export function toDot(flow: Flow): string {
  const m = model(flow);
  const q = (text: string) => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  const lines = [
    `digraph ${q(flow.name)} {`,
    `  // bold: reference tasks, dashed: ordering-only edges`,
    "  rankdir=TB;",
    '  node [shape=box, style="rounded", fontname="Helvetica"];',
  ];
  for (const p of m.parameters) lines.push(`  ${p.id} [label=${q(`parameter ${p.name}`)}, shape=oval];`);
  for (const t of m.tasks) {
    const attrs = [`label=${q([t.name, ...t.notes].join("\n"))}`];
    if (t.reference) attrs.push('style="rounded,bold"', "penwidth=3");
    lines.push(`  ${t.id} [${attrs.join(", ")}];`);
  }
  for (const e of m.edges) lines.push(`  ${e.from} -> ${e.to}${e.kind === "order" ? " [style=dashed]" : ""};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * SVG through Graphviz compiled to WebAssembly (@viz-js/viz): the layout is Graphviz's, and no
 * system package is needed. The WASM module loads on first use and is reused.
 */
export async function toSvg(flow: Flow): Promise<string> {
  const viz = await loadViz();
  return viz.renderString(toDot(flow), { format: "svg" });
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
