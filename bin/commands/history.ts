/** `flowhooks history EXECUTION_ARN`: a deployed execution's task and flow transitions, from its Step Functions history. */
import type { Command } from "commander";
import { SFNClient } from "@aws-sdk/client-sfn";
import { executionTimeline, getExecutionHistory, type TimelineEntry } from "../../lib/aws/history";
import { EXIT, UsageError } from "../../lib/cli/errors";
import { renderTimeline } from "../../lib/cli/timeline";
import { checkReportPath, writeHistoryReport } from "../../lib/run-report/index";

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:([^:]+):[^:]+$/;

export interface HistoryCommandOptions {
  executionArn: string;
  /** Print JSON (one array of transitions) instead of the timeline. @default false */
  json?: boolean;
  /** Times in UTC. @default false */
  utc?: boolean;
  /** @default - a client for the execution's region */
  sfn?: Pick<SFNClient, "send">;
  /** @default process.stdout */
  out?: { write(text: string): unknown };
  /** Also write the execution as one HTML page here (lib/run-report). @default - no report */
  report?: string;
}

export async function historyCommand(options: HistoryCommandOptions): Promise<number> {
  const match = EXECUTION_ARN.exec(options.executionArn);
  if (!match) {
    throw new UsageError(
      `"${options.executionArn}" is not a Step Functions execution ARN; copy it from the console or ` +
        `\`aws stepfunctions list-executions --state-machine-arn …\` (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME).`,
    );
  }
  const [, region, stateMachine] = match;
  const reportPath = options.report === undefined ? undefined : checkReportPath(options.report);
  const sfn = options.sfn ?? new SFNClient({ region });
  const events = await getExecutionHistory(sfn as SFNClient, options.executionArn).catch((error: unknown) => {
    throw explainAwsError(error, region!, options.executionArn);
  });
  const timeline = executionTimeline(events, { flowName: stateMachine });
  const out = options.out ?? process.stdout;
  if (reportPath) await writeHistoryReport({ path: reportPath, timeline, region: region!, stateMachine: stateMachine!, executionArn: options.executionArn });
  if (options.json) {
    const json = timeline.map((t) => ({ ...t, oldState: t.oldState.toJSON(), newState: t.newState.toJSON(), at: t.at.toISOString() }));
    out.write(JSON.stringify(json, null, 2) + "\n");
  } else {
    const text = renderTimeline(timeline.map((t) => ({ ...t, name: t.task ?? t.object })), { utc: options.utc });
    const reconstructed = timeline.some((t) => t.reconstructed)
      ? "\n\nSome task transitions were reconstructed from the history: no flowhooks code ran for them (timeout, crash, throttling, abort)."
      : "";
    out.write(`${text || "No transitions yet."}${subFlowLines(timeline)}${reconstructed}\n`);
  }
  return EXIT.ok;
}

/** The sub-flow executions a flowRun task's attempts ran (`flowhooks history` on one shows its own transitions). */
function subFlowLines(timeline: readonly TimelineEntry[]): string {
  const runs = timeline.filter((t) => t.subFlowExecutionArn !== undefined);
  if (runs.length === 0) return "";
  return `\n\nSub-flow executions:\n${runs.map((t) => `  ${t.object} #${t.attempt ?? 1} ${t.newState.name}: ${t.subFlowExecutionArn}`).join("\n")}`;
}

/** The AWS errors a newcomer meets here, as one line that says what to do. */
function explainAwsError(error: unknown, region: string, executionArn: string): unknown {
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "CredentialsProviderError") {
    return new UsageError(
      "No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`, then try again.",
    );
  }
  if (name === "AccessDeniedException") {
    return new UsageError(`Your AWS identity may not read this execution's history; allow states:GetExecutionHistory on ${executionArn}.`);
  }
  if (name === "ExecutionDoesNotExist") {
    return new UsageError(`No execution ${executionArn} in ${region}; check the ARN (and that your credentials are for its account).`);
  }
  return error;
}

export function register(program: Command): void {
  program
    .command("history")
    .description("Print a deployed execution's task and flow transitions (reads Step Functions' execution history)")
    .argument("<executionArn>", "the execution's ARN (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)")
    .option("--json", "print the transitions as JSON")
    .option("--utc", "print times in UTC")
    .option("--report <file.html>", "also write the execution as one self-contained HTML page (timeline, per-task details, console links)")
    .addHelpText("after", "\nUses your AWS credentials (states:GetExecutionHistory).\n\nExample:\n  flowhooks history arn:aws:states:eu-west-1:123456789012:execution:orders:2b1c…")
    .action(async (executionArn: string, opts: { json?: boolean; utc?: boolean; report?: string }) => {
      process.exitCode = await historyCommand({ executionArn, ...opts });
    });
}
