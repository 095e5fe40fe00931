/** `flowhooks graph FILE`: draws a flow's DAG. */
import { Option, type Command } from "commander";
import { GRAPH_FORMATS, graphCommand } from "../../lib/cli/index";

export function register(program: Command): void {
  program
    .command("graph")
    .description("Draw a flow's tasks and edges, with retries and triggers marked")
    .argument("<file>", "module that exports the flow (.ts or .js)")
    .option("--flow <name>", "which flow to draw when the module exports several")
    .addOption(new Option("--format <format>", "output format").choices([...GRAPH_FORMATS]).default("mermaid"))
    .option("--output <path>", "write to this file instead of stdout")
    .addHelpText("after", "\nSVG needs Graphviz's `dot` on PATH (apt-get install graphviz).\n\nExample:\n  flowhooks graph examples/orders.ts --format dot --output orders.dot")
    .action(async (file: string, opts: { flow?: string; format: string; output?: string }) => {
      process.exitCode = await graphCommand({ file, ...opts });
    });
}
