/**
 * `SlackApprovals`: one flow's Slack interactivity endpoint (`alerts.slack.approvals`). A function
 * behind a Lambda function URL with auth NONE — Slack cannot sign with SigV4; it signs each request
 * with the app's signing secret, which the function checks before anything else
 * (lib/aws/slack-interact.ts) — allowed to read that secret, to answer task tokens of this flow's
 * state machine only, and whatever the approval store needs (`grantApprovalStore`). The URL is a
 * stack output: paste it into the Slack app's Interactivity Request URL.
 */
import { CfnOutput, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { FlowDefinitionError } from "../core/errors";
import { DEFAULT_RUNTIME } from "./task-functions";

/** Who may answer a Paused task from Slack, and how Slack's requests are verified. */
export interface SlackApprovalsProps {
  /** A secret whose value is the Slack app's signing secret (Basic Information → App Credentials → Signing Secret). */
  readonly signingSecret: secretsmanager.ISecret;
  /** Slack user ids (`U0123ABCDEF`: a profile's ⋮ → "Copy member ID") who may approve or reject; anyone else is told they are not an approver. */
  readonly approvers: string[];
}

/** What `SlackApprovals` needs from its `FlowAlerts`. */
export interface SlackApprovalsConstructProps {
  /** The flow's name (descriptions). */
  readonly flowName: string;
  /** The state machine whose task tokens the endpoint answers (states:SendTaskSuccess/Failure on it only). */
  readonly stateMachine: sfn.IStateMachine;
  /** The flow's code asset (exports `interact`). */
  readonly code: lambda.Code;
  /** The user's settings (already validated by `validateSlackApprovalsProps`). */
  readonly approvals: SlackApprovalsProps;
  /** X-Ray tracing. @default true */
  readonly tracing?: boolean;
  /** The asset has a source map: Node maps stack traces with it. @default false */
  readonly sourceMaps?: boolean;
  /**
   * Gives the function what the approval store needs (read and mark a Paused task's token: grants
   * and environment variables), called once with the function. @default - no store access
   */
  readonly grantApprovalStore?: (fn: lambda.Function) => void;
}

/** Slack acknowledges within 3 s; the `response_url` update may take a little longer, so the timeout leaves room. */
export const INTERACT_TIMEOUT_SECONDS = 10;

/** Refuses `alerts.slack.approvals` settings that cannot work, naming the fix. */
export function validateSlackApprovalsProps(owner: string, approvals: unknown): void {
  const a = approvals as Partial<SlackApprovalsProps> | null;
  if (typeof a !== "object" || a === null || !(typeof a.signingSecret === "object" && a.signingSecret !== null && "secretArn" in a.signingSecret)) {
    throw new FlowDefinitionError(
      `${owner}: \`alerts.slack.approvals.signingSecret\` must be a Secrets Manager secret (secretsmanager.ISecret) holding the Slack app's signing secret (Basic Information → App Credentials).`,
    );
  }
  if (!Array.isArray(a.approvers) || a.approvers.length === 0) {
    throw new FlowDefinitionError(`${owner}: \`alerts.slack.approvals.approvers\` must list at least one Slack user id such as "U0123ABCDEF" (a profile's ⋮ → Copy member ID).`);
  }
  const bad = a.approvers.filter((id) => typeof id !== "string" || !/^[UW][A-Z0-9]{2,}$/.test(id));
  if (bad.length > 0) {
    throw new FlowDefinitionError(
      `${owner}: \`alerts.slack.approvals.approvers\` must hold Slack user ids such as "U0123ABCDEF" (not names or e-mails), got ${bad.map((b) => JSON.stringify(b)).join(", ")}.`,
    );
  }
}

export class SlackApprovals extends Construct {
  /** The interactivity function. */
  readonly function: lambda.Function;
  /** Its URL: the Slack app's Interactivity Request URL. */
  readonly url: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: SlackApprovalsConstructProps) {
    super(scope, id);
    const tracing = props.tracing ?? true;
    const description = `flowhooks ${props.flowName}: Slack Approve/Reject buttons of Paused tasks`;
    const logGroup = new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"), description });
    logGroup.grantWrite(role);
    props.approvals.signingSecret.grantRead(role);
    props.stateMachine.grantTaskResponse(role);
    if (tracing) role.addToPolicy(new iam.PolicyStatement({ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }));
    const environment: Record<string, string> = {
      FLOWHOOKS_SLACK_SIGNING_SECRET_ARN: props.approvals.signingSecret.secretArn,
      FLOWHOOKS_SLACK_APPROVERS: props.approvals.approvers.join(","),
      FLOWHOOKS_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      ...(props.sourceMaps ? { NODE_OPTIONS: "--enable-source-maps" } : {}),
    };
    this.function = new lambda.Function(this, "Function", {
      description,
      runtime: DEFAULT_RUNTIME,
      handler: "index.interact",
      code: props.code,
      role,
      logGroup,
      // More memory, more CPU: a cold start must leave room in Slack's 3 s.
      memorySize: 512,
      timeout: Duration.seconds(INTERACT_TIMEOUT_SECONDS),
      environment,
      tracing: tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
    });
    props.grantApprovalStore?.(this.function);
    // Slack cannot sign with SigV4; every request is checked against the app's signing secret instead.
    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new CfnOutput(this, "InteractivityUrl", {
      description: `flowhooks ${props.flowName}: paste into your Slack app's Interactivity & Shortcuts → Request URL`,
      value: this.url.url,
    });
    this.acknowledgeFindings(tracing);
  }

  /** cdk-nag (AwsSolutions) findings that are deliberate, each acknowledged with its reason. */
  private acknowledgeFindings(tracing: boolean): void {
    const nag = (id: string, finding?: string) => `AwsSolutions::AwsSolutions-${id}${finding ? `[${finding}]` : ""}`;
    Validations.of(this.function).acknowledge({
      id: nag("L1"),
      reason: "The function runs flowhooks' default runtime (Node.js 24, DEFAULT_RUNTIME), which the flow's bundle targets.",
    });
    if (tracing) {
      Validations.of(this.function.role!).acknowledge({
        id: nag("IAM5", "Resource::*"),
        reason: "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (tracing is on).",
      });
    }
  }
}
