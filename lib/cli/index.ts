/** Library side of the `flowhooks` CLI: bin/commands/*.ts parse arguments and call these. */
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
export { resumeCommand, type ResumeCommandOptions } from "./resume";
