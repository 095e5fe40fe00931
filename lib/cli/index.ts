/**
 * lib/cli: the library side of the `flowhooks` CLI; bin/commands/*.ts parse arguments and call
 * these. Reading order for a newcomer:
 *  1. errors.ts, report.ts: exit codes, and one line per error naming the fix.
 *  2. load.ts, params.ts: loading the user's flow module; `--param k=v`.
 *  3. run.ts, progress.ts: `flowhooks run`, with live progress.
 *  4. timeline.ts, mapped.ts, format.ts: a run's transitions per task, as run, history and emulate
 *     print them; mapped children counted, not listed.
 *  5. graph.ts, graph-command.ts: `flowhooks graph` (Mermaid, DOT, SVG).
 *  6. init.ts: `flowhooks init`.
 * The `--report` page is lib/run-report; `flowhooks emulate` is lib/emulate.
 */
export { EXIT, UsageError } from "./errors";
export { loadFlows, loadFlow, selectFlow, type ExportedFlow } from "./load";
export { parseParam, parseParams } from "./params";
export { createProgress, type Output, type ProgressMode, type ProgressOptions, type ProgressRenderer } from "./progress";
export { runCommand, type RunCommandOptions } from "./run";
export { graphCommand, type GraphCommandOptions } from "./graph-command";
export { toMermaid, toDot, toSvg, renderGraph, GRAPH_FORMATS, type GraphFormat } from "./graph";
export {
  buildTimeline,
  childCounts,
  renderTimeline,
  renderSummaryTable,
  type Timeline,
  type TimelineEntry,
  type TimelineOptions,
  type TimelineTransition,
} from "./timeline";
export { formatTime, formatDuration, formatTransition, table } from "./format";
export { countChildren, mappedSummaryLine, type ChildCounts } from "./mapped";
export { reportError } from "./report";
