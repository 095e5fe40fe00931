/**
 * The run report as one self-contained HTML file: inline CSS, inline SVG, no script and no URL it
 * loads (links to the console are links, never requests). Lays out a `ReportModel`; decides nothing.
 */
import { formatDuration } from "../cli/format";
import type { DetailTransition, GanttRow, ReportModel, Segment, StateFamily } from "./model";

/** Each family's colours (WCAG AA: every text/background pair is at least 4.5:1) and the icon that stands beside the colour. */
export const FAMILY_STYLE: Record<StateFamily, { icon: string; label: string; fg: string; bg: string; bar: string }> = {
  succeeded: { icon: "✔", label: "succeeded", fg: "#14532d", bg: "#dcfce7", bar: "#15803d" },
  mapped: { icon: "⇶", label: "mapped", fg: "#14532d", bg: "#dcfce7", bar: "#15803d" },
  failed: { icon: "✖", label: "failed", fg: "#7f1d1d", bg: "#fee2e2", bar: "#b91c1c" },
  skipped: { icon: "⤼", label: "skipped", fg: "#1f2937", bg: "#e5e7eb", bar: "#6b7280" },
  retrying: { icon: "↻", label: "retrying", fg: "#78350f", bg: "#fef3c7", bar: "#b45309" },
  running: { icon: "▶", label: "running", fg: "#1e3a8a", bg: "#dbeafe", bar: "#1d4ed8" },
  pending: { icon: "○", label: "pending", fg: "#374151", bg: "#f3f4f6", bar: "#9ca3af" },
  cancelled: { icon: "⊘", label: "cancelled", fg: "#374151", bg: "#f3f4f6", bar: "#4b5563" },
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const SOURCE_TITLE = { run: "local run", emulate: "emulated run", history: "deployed execution" } as const;

function chip(family: StateFamily, state: string): string {
  const s = FAMILY_STYLE[family];
  return `<span class="chip s-${family}" data-state="${escapeHtml(state)}"><span aria-hidden="true">${s.icon}</span> ${escapeHtml(state)}</span>`;
}

function css(): string {
  const families = Object.entries(FAMILY_STYLE)
    .map(([f, s]) => `.s-${f}{color:${s.fg};background:${s.bg}}.b-${f}{background:${s.bar}}`)
    .join("");
  return `body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#111827;background:#fff;margin:24px;max-width:1200px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #d1d5db}
.meta{color:#374151}.chip{display:inline-block;padding:0 6px;border-radius:4px;font-weight:600;white-space:nowrap}
.gantt{display:grid;grid-template-columns:minmax(160px,28%) 1fr;gap:2px 8px;align-items:center}
.gantt .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.track{position:relative;height:18px;margin-right:6px;background:#f9fafb;border-left:1px solid #d1d5db}
.seg{position:absolute;top:2px;height:14px;min-width:4px;border-radius:2px;z-index:1;box-shadow:0 0 0 1px #fff}
.seg.wait{background:repeating-linear-gradient(45deg,#fde68a 0 4px,#fff 4px 8px);border:1px dashed #b45309;top:4px;height:10px;z-index:0;box-shadow:none}
.note{color:#374151;font-size:12px}.hist{vertical-align:middle}table{border-collapse:collapse;font-size:13px}
td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #e5e7eb;vertical-align:top}
.rw{font-weight:600;color:#5b21b6}details{margin:2px 0}summary{cursor:pointer}
.graph svg{max-width:100%;height:auto}.graph svg text{font-family:Helvetica,Arial,'Liberation Sans','DejaVu Sans Condensed',sans-serif}.legend span{margin-right:8px}${families}`;
}

function legend(): string {
  const families: StateFamily[] = ["succeeded", "failed", "retrying", "skipped", "mapped", "running", "pending"];
  return `<p class="legend">${families.map((f) => chip(f, FAMILY_STYLE[f].label)).join(" ")} <span class="seg-key">hatched bar: wait before a retry</span> <span class="rw">✎ state set by a state handler</span></p>`;
}

function pct(ms: number, total: number): string {
  return total <= 0 ? "0" : ((ms / total) * 100).toFixed(3);
}

function segment(s: Segment, total: number): string {
  const width = Math.max(0, s.endMs - s.startMs);
  const title = s.kind === "wait" ? `wait before a retry, ${formatDuration(width)}` : `attempt ${s.attempt ?? "-"}: ${s.state}, ${formatDuration(width)}`;
  const cls = s.kind === "wait" ? "seg wait" : `seg b-${s.family}`;
  const attempt = s.attempt !== undefined ? ` data-attempt="${s.attempt}"` : "";
  return `<div class="${cls}" data-kind="${s.kind}"${attempt} style="left:${pct(s.startMs, total)}%;width:${pct(width, total)}%" title="${escapeHtml(title)}"></div>`;
}

function histogramSvg(h: { maxMs: number; bins: number[] }): string {
  const max = Math.max(1, ...h.bins);
  const bars = h.bins.map((n, i) => `<rect x="${i * 6}" y="${16 - Math.round((n / max) * 16)}" width="5" height="${Math.round((n / max) * 16)}" fill="#374151"/>`).join("");
  return `<svg class="hist" width="60" height="16" role="img" aria-label="durations 0 to ${formatDuration(h.maxMs)}: ${h.bins.join(", ")}">${bars}</svg>`;
}

function rowLabel(row: GanttRow): string {
  const parts = [chip(row.family, row.finalState), ` <span class="task-name">${escapeHtml(row.name)}</span>`];
  if (row.kind === "task" && row.attempts > 1) parts.push(` <span class="note">${row.attempts} attempts</span>`);
  if (row.rewritten > 0) parts.push(` <span class="rw" title="state set by a state handler">✎</span>`);
  if (row.children) {
    const c = row.children;
    parts.push(` <span class="note">${c.count} children: ${c.succeeded} succeeded / ${c.failed} failed / ${c.retriedChildren.length} retried${c.skipped ? ` / ${c.skipped} skipped` : ""}</span>`);
  }
  if (row.histogram) parts.push(` ${histogramSvg(row.histogram)}`);
  return parts.join("");
}

function gantt(model: ReportModel): string {
  if (model.rows.length === 0) return `<p>No task ran.</p>`;
  const rows = model.rows
    .map((row) => `<div class="name" data-row="${row.kind}" data-task="${escapeHtml(row.name)}">${rowLabel(row)}</div><div class="track" data-task="${escapeHtml(row.name)}">${row.segments.map((s) => segment(s, model.durationMs)).join("")}</div>`)
    .join("\n");
  return `<div class="gantt" id="gantt">${rows}</div>`;
}

function transitionsTable(list: readonly DetailTransition[]): string {
  const rows = list
    .map(
      (t) =>
        `<tr><td>${escapeHtml(t.at)}</td><td>${t.attempt ?? ""}</td><td>${escapeHtml(t.from)} → ${chip(t.toFamily, t.to)}${t.rewritten ? ' <span class="rw">✎ set by a state handler</span>' : ""}</td><td>${escapeHtml(t.message ?? "")}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>time</th><th>attempt</th><th>transition</th><th>message</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function detailsSection(model: ReportModel): string {
  const items = model.details.map((d) => {
    const link = model.consoleUrl ? ` <a href="${escapeHtml(model.consoleUrl)}" rel="noreferrer">open in the Step Functions console</a>` : "";
    const children = d.notableChildren?.length ? `<p class="note">${d.notableChildren.map(escapeHtml).join(", ")}</p>` : "";
    return `<details data-task="${escapeHtml(d.name)}"><summary>${chip(d.family, d.finalState)} ${escapeHtml(d.name)}</summary>${link}${children}${transitionsTable(d.transitions)}</details>`;
  });
  const omitted = model.detailsOmitted > 0 ? `<p class="note">${model.detailsOmitted} more tasks (all succeeded or skipped on their first attempt) are not detailed; <code>--json</code> prints every transition.</p>` : "";
  return items.join("\n") + omitted;
}

function alertsSection(model: ReportModel): string {
  if (!model.alerts) return `<p class="note" id="alerts-note">${escapeHtml(model.alertsNote ?? "The alerts sent are not known for this run.")}</p>`;
  if (model.alerts.length === 0) return `<p id="alerts-none">No alert was sent.${model.alertsNote ? ` ${escapeHtml(model.alertsNote)}` : ""}</p>`;
  const rows = model.alerts.map((a) => `<tr class="alert"><td>${escapeHtml(a.at)}</td><td>${escapeHtml(a.channel)}</td><td>${escapeHtml(a.subject)}</td><td>${chip(a.family, a.state)}</td></tr>`).join("");
  return `<table id="alerts"><thead><tr><th>time</th><th>channel</th><th>subject</th><th>state</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** `9,990 ✔ succeeded · 10 ✖ failed`: every task counted by how it ended, above the rows that may be grouped. */
function tally(model: ReportModel): string {
  const counts = new Map<StateFamily, number>();
  for (const { family } of Object.values(model.taskStates)) counts.set(family, (counts.get(family) ?? 0) + 1);
  const parts = [...counts].map(([f, n]) => `${chip(f, `${n.toLocaleString("en-US")} ${FAMILY_STYLE[f].label}`)}`);
  return parts.length ? `<p class="meta" id="tally">${parts.join(" ")}</p>` : "";
}

/** The whole page. */
export function renderReportHtml(model: ReportModel): string {
  const title = `flow ${model.flow}: ${model.flowState ?? "no flow state"} (${SOURCE_TITLE[model.source]})`;
  const flowChip = model.flowState ? chip(model.flowFamily!, model.flowState) : "";
  const consoleLink = model.consoleUrl ? ` · <a href="${escapeHtml(model.consoleUrl)}" rel="noreferrer">Step Functions console</a>` : "";
  const graph = model.graphSvg ? `<div class="graph" id="graph">${model.graphSvg}</div>` : `<p class="note" id="graph-note">${escapeHtml(model.graphNote ?? "No DAG for this run.")}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${css()}</style></head>
<body>
<h1>flow ${escapeHtml(model.flow)} ${flowChip}</h1>
<p class="meta">${SOURCE_TITLE[model.source]} · started ${escapeHtml(model.startedAt)} · ${formatDuration(model.durationMs)} · ${model.taskCount} tasks${consoleLink}</p>
${model.flowMessage ? `<p class="meta">${escapeHtml(model.flowMessage)}</p>` : ""}
${tally(model)}
${legend()}
<h2>DAG</h2>
${graph}
<h2>Timeline</h2>
${gantt(model)}
<h2>Flow transitions</h2>
${transitionsTable(model.flowTransitions)}
<h2>Alerts sent</h2>
${alertsSection(model)}
<h2>Tasks</h2>
${detailsSection(model)}
</body></html>
`;
}
