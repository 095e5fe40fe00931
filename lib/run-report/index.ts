/**
 * `--report run.html` for `flowhooks run`, `emulate` and `history`: check the path before the run,
 * then build the model (model.ts), draw the DAG coloured by state (the Graphviz-in-WebAssembly
 * layout of lib/cli/graph.ts) and write one self-contained HTML file (html.ts).
 */
import { accessSync, constants, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { TimelineEntry as HistoryTransition } from "../aws/history";
import type { Flow } from "../core/flow";
import { UsageError } from "../cli/errors";
import { toSvg } from "../cli/graph";
import { FAMILY_STYLE, renderReportHtml } from "./html";
import { buildReportModel, type ReportModel, type RunReportInput } from "./model";

export { buildReportModel, type ReportModel, type RunReportInput, type ReportAlertInput } from "./model";
export { renderReportHtml } from "./html";

/** Beyond this many tasks the DAG is left out: Graphviz would take long and the picture would not help. */
export const GRAPH_MAX_TASKS = 300;

/**
 * Throws a `UsageError` naming the fix when `path` cannot be written: called before the flow
 * runs, so a typo does not cost a run.
 */
export function checkReportPath(path: string, cwd = process.cwd()): string {
  const full = resolve(cwd, path);
  if (!/\.html?$/i.test(full)) throw new UsageError(`--report ${path}: the report is an HTML file; give a path ending in .html (e.g. --report run.html).`);
  const dir = dirname(full);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`--report ${path}: folder ${dir} does not exist; create it (mkdir -p ${dir}) or pick another path.`);
  }
  if (!isDir) throw new UsageError(`--report ${path}: ${dir} is not a folder; pick a path inside a folder.`);
  try {
    statSync(full);
    accessSync(full, constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new UsageError(`--report ${path}: ${full} exists and is not writable; make it writable or pick another path.`);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new UsageError(`--report ${path}: folder ${dir} is not writable; pick a path in a folder you can write to.`);
    }
  }
  return full;
}

/** The DAG with each task filled in its final state's colour and labelled with its state and marks. */
export async function reportGraph(flow: Flow, model: ReportModel): Promise<{ graphSvg?: string; graphNote?: string }> {
  const count = flow.graph().nodes.length;
  if (count > GRAPH_MAX_TASKS) {
    return { graphNote: `The DAG is left out: ${count} tasks are more than ${GRAPH_MAX_TASKS}; \`flowhooks graph\` draws it on its own.` };
  }
  const svg = await toSvg(flow, (task) => {
    const seen = model.taskStates[task];
    const family = seen?.family ?? "pending";
    const style = FAMILY_STYLE[family];
    return {
      fillColor: style.bg,
      fontColor: style.fg,
      lines: [`${style.icon} ${seen?.state ?? "did not run"}`, ...(seen?.marks ?? [])],
      className: `task-node s-${family}`,
    };
  });
  // Drop the XML prologue and DOCTYPE: inline SVG in HTML needs neither.
  return { graphSvg: svg.replace(/^[\s\S]*?(<svg\b)/, "$1") };
}

export interface WriteRunReportOptions extends RunReportInput {
  /** Where to write (checked with `checkReportPath` before the run). */
  path: string;
  /** The flow, for its DAG. @default - no DAG (`graphNote` says why) */
  flowObject?: Flow;
}

/** Builds the model, draws the DAG and writes the page; resolves to the model. */
export async function writeRunReport(options: WriteRunReportOptions): Promise<ReportModel> {
  const { path, flowObject, ...input } = options;
  const order = input.order ?? flowObject?.graph().nodes.map((n) => n.name);
  let model = buildReportModel({ ...input, order });
  if (flowObject) model = { ...model, ...(await reportGraph(flowObject, model)) };
  writeFileSync(path, renderReportHtml(model));
  return model;
}

/** A deployed execution, as `flowhooks history` read it. */
export interface HistoryReportOptions {
  path: string;
  /** `executionTimeline(events)` of the execution's history. */
  timeline: readonly HistoryTransition[];
  region: string;
  /** The state machine's name, standing for the flow's. */
  stateMachine: string;
  executionArn: string;
}

/**
 * The report of a deployed execution: no DAG (the history holds no flow module), each task linked
 * to the execution in the console. A history with no transitions is refused (exit 2), nothing written.
 */
export async function writeHistoryReport(options: HistoryReportOptions): Promise<ReportModel> {
  const { path, timeline, region, stateMachine, executionArn } = options;
  if (timeline.length === 0) {
    throw new UsageError(`--report: execution ${executionArn} has no flowhooks transitions in its history yet; wait until a task ran (or check it is a flowhooks state machine), then try again.`);
  }
  return writeRunReport({
    path,
    source: "history",
    flow: stateMachine,
    transitions: timeline.map((t) => ({ ...t, name: t.task ?? t.object })),
    consoleUrl: `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`,
    graphNote: "No DAG: an execution's history does not carry the flow's module; `flowhooks graph FILE` draws it.",
    alertsNote: "An execution's history does not record the alerts the handler Lambda sent; see its CloudWatch logs.",
  });
}
