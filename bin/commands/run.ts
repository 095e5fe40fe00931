/** `flowhooks run FILE`: runs a flow locally with live progress. */
import type { Command } from "commander";
import { runCommand } from "../../lib/cli/index";

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command("run")
    .description("Run a flow locally, showing each task's state as it changes")
    .argument("<file>", "module that exports the flow (.ts or .js)")
    .option("--flow <name>", "which flow to run when the module exports several")
    .option("--param <key=value>", "a flow parameter; the value is parsed as JSON when it parses (repeatable)", collect, [])
    .option("--json", "print one JSON object per transition, then a summary object")
    .option("--report <file.html>", "also write the run as one self-contained HTML page (DAG, timeline, alerts, per-task details)")
    .option("--approve <all|none>", "answer every task waiting for approval (triggers.manualOnly); without it, asked on a terminal")
    .addHelpText("after", "\nExit code: 0 when the flow succeeded, 1 when it failed, 2 on a usage error.\n\nExample:\n  flowhooks run examples/orders.ts --param n=3")
    .action(async (file: string, opts: { flow?: string; param: string[]; json?: boolean; report?: string; approve?: string }) => {
      process.exitCode = await runCommand({ file, flow: opts.flow, params: opts.param, json: opts.json, report: opts.report, approve: opts.approve });
    });
}
