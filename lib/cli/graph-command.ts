/** `flowhooks graph`: load the flow, draw it, write it to stdout or a file. */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { EXIT, UsageError } from "./errors";
import { GRAPH_FORMATS, renderGraph } from "./graph";
import { loadFlow } from "./load";
import type { Output } from "./progress";

export interface GraphCommandOptions {
  /** The module that exports the flow. */
  file: string;
  /** Which exported flow to draw (flow name or export name). @default - the only exported flow */
  flow?: string;
  /** Output syntax. @default "mermaid" */
  format?: string;
  /** Write here instead of stdout. @default - stdout */
  output?: string;
  /** @default process.stdout */
  out?: Output;
  /** Resolve FILE and `output` against this directory. @default process.cwd() */
  cwd?: string;
}

export async function graphCommand(options: GraphCommandOptions): Promise<number> {
  const format = options.format ?? "mermaid";
  // Checked before importing the module, so a typo in --format costs nothing.
  if (!(GRAPH_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`Unknown graph format ${JSON.stringify(format)}; use --format ${GRAPH_FORMATS.join(", --format ")}.`);
  }
  const flow = await loadFlow(options.file, options.flow, options.cwd);
  const text = await renderGraph(flow, format);
  if (options.output) await writeFile(resolve(options.cwd ?? process.cwd(), options.output), text);
  else (options.out ?? process.stdout).write(text);
  return EXIT.ok;
}
