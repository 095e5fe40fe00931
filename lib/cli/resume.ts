/**
 * `flowhooks resume EXECUTION_ARN TASK [--reject REASON]`: answers a task Paused for approval in a
 * deployed execution. The execution's definition says whether the task waits for approval and in
 * which bucket its token is kept; `Approvals` (lib/aws/approval-store.ts) sends the answer once.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { createApprovals, s3ApprovalStore } from "../aws/approval-store";
import { approvalStateName, type ApprovalDecision } from "../aws/approvals";
import { loadS3, loadSfn } from "../aws/sdk";
import { EXIT, UsageError } from "./errors";

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:[^:]+:[^:]+$/;

export interface ResumeCommandOptions {
  executionArn: string;
  task: string;
  /** `--reject REASON`: reject instead of approving. @default - approve */
  reject?: string;
  /** `--results-bucket`: where the token is kept. @default - the bucket the execution's approval state names */
  resultsBucket?: string;
  /** Who answered, recorded with the answer. @default - $USER, else "flowhooks resume" */
  by?: string;
  /** @default - a client for the execution's region */
  sfn?: Pick<SFNClient, "send">;
  /** @default - a client for the execution's region */
  s3?: Pick<S3Client, "send">;
  /** @default process.stdout */
  out?: { write(text: string): unknown };
}

type Json = Record<string, any>;

/** Every state of a definition, in Parallel branches and Map processors too. */
function allStates(machine: Json): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [name, state] of Object.entries((machine.States ?? {}) as Record<string, Json>)) {
    out.push([name, state]);
    for (const branch of (state.Branches ?? []) as Json[]) out.push(...allStates(branch));
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) out.push(...allStates(processor));
  }
  return out;
}

/** The approval state of `task` in `definition`, or a usage error naming the tasks that do wait. */
export function approvalStateOf(definition: string, task: string, executionArn: string): Json {
  const states = allStates(JSON.parse(definition) as Json);
  const found = states.find(([name]) => name === approvalStateName(task));
  if (found) return found[1];
  const waiting = states.filter(([name, s]) => name.endsWith(".Approval") && s.Type === "Task").map(([name]) => name.slice(0, -".Approval".length));
  throw new UsageError(
    `Task \`${task}\` of ${executionArn.split(":")[6]} does not wait for approval (it has no triggers.manualOnly); ` +
      (waiting.length ? `the tasks that do: ${waiting.join(", ")}.` : "no task of this flow does."),
  );
}

export async function resumeCommand(options: ResumeCommandOptions): Promise<number> {
  const { executionArn, task } = options;
  const match = EXECUTION_ARN.exec(executionArn);
  if (!match) {
    throw new UsageError(
      `"${executionArn}" is not a Step Functions execution ARN; copy it from the alert or the console (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME).`,
    );
  }
  if (options.reject !== undefined && options.reject.trim() === "") throw new UsageError('--reject needs a reason: --reject "not during the freeze".');
  const region = match[1]!;
  const sfnSdk = await loadSfn();
  const sfn = options.sfn ?? new sfnSdk.SFNClient({ region });
  const described = await sfn.send(new sfnSdk.DescribeStateMachineForExecutionCommand({ executionArn })).catch((error: unknown) => {
    throw explainAwsError(error, executionArn);
  });
  const state = approvalStateOf(described.definition ?? "{}", task, executionArn);
  const bucket = options.resultsBucket ?? (state.Parameters?.Payload?.tokenBucket as string | undefined);
  if (!bucket) throw new UsageError(`The execution's definition names no results bucket for \`${task}\`'s token; pass --results-bucket (the FlowStateMachine's resultsBucket).`);
  const s3 = options.s3 ?? new (await loadS3()).S3Client({ region });
  const approvals = createApprovals({ sfn, store: s3ApprovalStore(bucket, s3) });
  const by = options.by ?? process.env.USER ?? "flowhooks resume";
  const decision: ApprovalDecision = options.reject === undefined ? { approve: true, by } : { approve: false, reason: options.reject, by };
  const outcome = await approvals.answer(executionArn, task, decision).catch((error: unknown) => {
    throw explainAwsError(error, executionArn);
  });
  const out = options.out ?? process.stdout;
  if (outcome === "not-paused") {
    throw new UsageError(
      `Task \`${task}\` is not paused in ${executionArn}: it was not reached yet, or its wait ended (answered, timed out, execution stopped); ` +
        `see \`flowhooks history ${executionArn}\`.`,
    );
  }
  if (outcome === "already-answered") out.write(`Task ${task} was already answered; nothing was sent.\n`);
  else out.write(decision.approve ? `Approved ${task}; the execution goes on.\n` : `Rejected ${task}: it ends Cancelled("Rejected: ${options.reject!.trim()}").\n`);
  return EXIT.ok;
}

/** The AWS errors a newcomer meets here, as one line that says what to do. */
function explainAwsError(error: unknown, executionArn: string): unknown {
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "CredentialsProviderError") {
    return new UsageError("No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`, then try again.");
  }
  if (name === "AccessDeniedException" || name === "AccessDenied") {
    return new UsageError(
      `Your AWS identity may not answer this task; allow states:DescribeStateMachineForExecution on ${executionArn}, ` +
        "states:SendTaskSuccess and states:SendTaskFailure, and s3:GetObject + s3:PutObject on the results bucket's approvals/* (docs/cli.md, resume).",
    );
  }
  if (name === "ExecutionDoesNotExist") return new UsageError(`No execution ${executionArn}; check the ARN (and that your credentials are for its account and region).`);
  return error;
}
