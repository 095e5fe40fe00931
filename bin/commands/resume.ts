/** `flowhooks resume EXECUTION_ARN TASK [--reject REASON]`: answers a task Paused for approval in a deployed execution. */
import type { Command } from "commander";
import { resumeCommand } from "../../lib/cli/resume";

export function register(program: Command): void {
  program
    .command("resume")
    .description("Approve (or with --reject, reject) a task that waits for approval (triggers.manualOnly) in a deployed execution")
    .argument("<executionArn>", "the execution's ARN, as the Paused alert gives it")
    .argument("<task>", "the Paused task's name")
    .option("--reject <reason>", "reject the task with this reason: it ends Cancelled(\"Rejected: <reason>\")")
    .option("--results-bucket <name>", "where the task token is kept (default: the bucket the execution's definition names)")
    .addHelpText(
      "after",
      "\nUses your AWS credentials (states:DescribeStateMachineForExecution, states:SendTaskSuccess/SendTaskFailure, s3:GetObject and s3:PutObject on the results bucket's approvals/*).\n" +
        "Exit code: 0 answered (or already answered), 2 when the task is not paused or on a usage error.\n\nExamples:\n" +
        "  flowhooks resume arn:aws:states:eu-west-1:123456789012:execution:Release:2b1c… deploy\n" +
        "  flowhooks resume arn:aws:states:eu-west-1:123456789012:execution:Release:2b1c… deploy --reject \"change freeze\"",
    )
    .action(async (executionArn: string, task: string, opts: { reject?: string; resultsBucket?: string }) => {
      process.exitCode = await resumeCommand({ executionArn, task, ...opts });
    });
}
