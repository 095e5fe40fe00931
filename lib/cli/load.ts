/** Loading a user's flow module and choosing the flow to act on. */
import type { FlowRunTask } from "../core/control";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { tsImport } from "tsx/esm/api";
import { Flow, isFlow } from "../core/flow";
import { UsageError } from "./errors";

/** A flow found in a module, with the name of the export that holds it. */
export interface ExportedFlow {
  exportName: string;
  flow: Flow;
}

/**
 * Imports `file` (.ts, .mts, .cts or .js, in a CommonJS or an ESM package: tsx compiles it as the
 * package's tsconfig says) and returns its exported flows,
 * each flow once even if it is exported under several names (`export default flow` too).
 */
export async function loadFlows(file: string, cwd: string = process.cwd()): Promise<ExportedFlow[]> {
  const path = resolve(cwd, file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError(`File ${file} not found; pass the path of a module that exports a flow (relative to ${cwd}).`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await tsImport(pathToFileURL(path).href, { parentURL: import.meta.url })) as Record<string, unknown>;
    // A CommonJS module's exports arrive as `default` (and its named exports when Node can tell them).
    if (isPlainExports(mod.default)) mod = { ...(mod.default as Record<string, unknown>), ...mod };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Definition errors already name their fix; other import errors need the file named.
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new UsageError(`Importing ${file} failed: ${detail}`, { cause: error });
  }
  const found: ExportedFlow[] = [];
  const seen = new Set<Flow>();
  // Named exports first, so a flow exported both ways is listed by its name, not as "default".
  const names = Object.keys(mod).sort((a, b) => Number(a === "default") - Number(b === "default"));
  for (const exportName of names) {
    const value = mod[exportName];
    if (isFlow(value) && !seen.has(value)) {
      seen.add(value);
      found.push({ exportName, flow: value });
    }
  }
  return found;
}

function isPlainExports(value: unknown): boolean {
  return typeof value === "object" && value !== null && !isFlow(value);
}

/**
 * The one flow to act on: the only one exported, or the one `--flow NAME` names (by flow name or
 * export name). Anything else is a usage error that says how to fix the call.
 */
export function selectFlow(flows: readonly ExportedFlow[], file: string, wanted?: string): Flow {
  if (flows.length === 0) {
    throw new UsageError(`${file} exports no flow; export one: \`export const flow = new Flow(...)\`.`);
  }
  const list = flows.map((f) => f.flow.name).join(", ");
  if (wanted !== undefined) {
    const match =
      flows.find((f) => f.flow.name === wanted) ?? flows.find((f) => f.exportName === wanted);
    if (!match) throw new UsageError(`${file} has no flow named ${wanted}; its flows are: ${list} (pass one with --flow NAME).`);
    return match.flow;
  }
  // A file that exports a flow and the flows it runs with flowRun (each must be exported to deploy) means the outer one.
  const outer = flows.filter((f) => !flows.some((g) => g !== f && runsWithFlowRun(g.flow, f.flow.name)));
  if (flows.length > 1 && outer.length === 1) return outer[0]!.flow;
  if (flows.length > 1) {
    throw new UsageError(`${file} exports ${flows.length} flows (${list}); choose one with --flow NAME, e.g. --flow ${flows[0]!.flow.name}.`);
  }
  return flows[0]!.flow;
}

/** True when `flow` runs the flow named `name` with flowRun, directly or through other flows. */
function runsWithFlowRun(flow: Flow, name: string, seen = new Set<string>()): boolean {
  if (seen.has(flow.name)) return false;
  seen.add(flow.name);
  return flow.graph().nodes.some((n) => {
    if (n.kind !== "flowRun") return false;
    const sub = (n.task as FlowRunTask).flow as Flow;
    return sub.name === name || runsWithFlowRun(sub, name, seen);
  });
}

/** `loadFlows` then `selectFlow`. */
export async function loadFlow(file: string, wanted?: string, cwd?: string): Promise<Flow> {
  return selectFlow(await loadFlows(file, cwd), file, wanted);
}
