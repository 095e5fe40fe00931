import { describe, expect, it } from "vitest";
import { App, CfnResource, Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks } from "cdk-nag";
import { STATE_NAMES } from "../../lib/compile/index";
import { FlowStateMachine, type FlowAlertsProps, type FlowStateMachineProps } from "../../lib/cdk/index";
import { deliverySettingsProblems } from "../../lib/cdk/flow-alerts";
import { parseEventBridgeEvent } from "../../lib/aws/events";
import { FlowDefinitionError } from "../../lib/core/errors";
import type { StateHandler } from "../../lib/core/handlers";
import { Failed, Flow, slackNotifier, Success, task } from "../../lib/index";
import { deployedDefinition, ordersFlow } from "../helpers/cdk";
import { FlowEventBus } from "../../lib/cdk/flow-event-bus";

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** A stack with the orders flow, alerts on, bundling stubbed; `alerts` builds the alerts from the stack. */
function alertsStack(alerts: (stack: Stack) => FlowAlertsProps, app = new App()) {
  const stack = new Stack(app, "AlertsStack");
  const construct = new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: alerts(stack) });
  return { app, stack, construct, template: () => Template.fromStack(stack) };
}

function slackSecret(stack: Stack): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretNameV2(stack, "Slack", "flowhooks/slack-webhook");
}

/** Every Allow statement of the policies attached to `role` (a resolved `{ Ref }`). */
function allowStatements(template: Template, role: unknown): Statement[] {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
    (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify(role)),
  );
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === "Allow");
}

const asList = <T,>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe("FlowStateMachine with alerts", () => {
  const { app, stack, construct, template: synth } = alertsStack((s) => ({ topic: true, slackWebhookSecret: slackSecret(s) }));
  const template = synth();
  const resources = template.toJSON().Resources as Resources;
  const ref = (token: string) => stack.resolve(token);
  const alerts = construct.alerts!;
  const bus = FlowEventBus.of(stack);
  const busArn = {
    "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":events:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:event-bus/${bus.eventBusName}`]],
  };
  const smName = stack.resolve(construct.stateMachine.stateMachineName);
  const executionsArn = {
    "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":execution:", smName, ":*"]],
  };

  it("routes only this state machine's status change events to the queue", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: Match.absent(), // Step Functions sends status events to the default bus only
      EventPattern: {
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: { stateMachineArn: [ref(construct.stateMachine.stateMachineArn)] },
      },
      Targets: [Match.objectLike({ Arn: ref(alerts.queue.queueArn) })],
    });
  });

  it("routes only this flow's task and final-report events, from its own executions, to the queue", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["flowhooks"],
        "detail-type": ["flowhooks Task State Change", "flowhooks Flow State Change"],
        detail: {
          flow: ["orders"],
          executionArn: [
            { prefix: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":execution:", smName, ":"]] } },
          ],
        },
      },
      EventBusName: ref(bus.eventBus.eventBusName),
      Targets: [Match.objectLike({ Arn: ref(alerts.queue.queueArn) })],
    });
    // Two rules for the flow (status, flowhooks events) and the reconciler's schedule; no rule listens elsewhere.
    template.resourceCountIs("AWS::Events::Rule", 3);
  });

  it("buffers events in an encrypted queue that hands failures to a dead-letter queue after retries", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360, // 6 × the handler's 60 s
      RedrivePolicy: { deadLetterTargetArn: ref(alerts.deadLetterQueue.queueArn), maxReceiveCount: 10 },
    });
    template.hasResourceProperties("AWS::SQS::Queue", { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    for (const queue of [alerts.queue, alerts.deadLetterQueue]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [ref(queue.queueUrl)],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
      });
    }
  });

  it("lets only the flow's two rules send to the queue", () => {
    const policy = Object.values(template.findResources("AWS::SQS::QueuePolicy")).find(
      (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(alerts.queue.queueUrl)]),
    )!;
    const allows = (policy.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === "Allow");
    expect(allows.map((s) => s.Principal)).toEqual([{ Service: "events.amazonaws.com" }, { Service: "events.amazonaws.com" }]);
    expect(allows.map((s) => s.Condition)).toEqual([
      { ArnEquals: { "aws:SourceArn": ref(alerts.statusRule.ruleArn) } },
      { ArnEquals: { "aws:SourceArn": ref(alerts.flowEventsRule.ruleArn) } },
    ]);
  });

  it("raises an alarm to every destination (the alert topic, and Slack through the handler) as soon as the dead-letter queue holds a message", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: ref(alerts.deadLetterQueue.queueName) }],
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      EvaluationPeriods: 1,
      Period: 300,
      AlarmActions: [ref(construct.alertTopic!.topicArn), ref(alerts.deadLetterNotices!.topicArn)],
    });
    // The notices topic feeds the handler, which posts the alarm to Slack.
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "lambda",
      TopicArn: ref(alerts.deadLetterNotices!.topicArn),
      Endpoint: { "Fn::GetAtt": [stack.getLogicalId(construct.handlerFunction!.node.defaultChild as never), "Arn"] },
    });
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: ref(alerts.alertTopicKey!.keyArn), DisplayName: "flowhooks orders dead-letter notices" });
  });

  it("has the handler consume the queue in small batches that report item failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: ref(alerts.queue.queueArn),
      FunctionName: ref(construct.handlerFunction!.functionName),
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("bounds the handler's concurrency on the queue, so a storm of events cannot fan out into Slack's rate limit", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: ref(alerts.queue.queueArn),
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("runs the handler and the reconciler from the flow's bundle on nodejs24.x", () => {
    const code = resources[stack.getLogicalId(construct.taskFunctions.load!.node.defaultChild as never)]!.Properties.Code;
    template.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.events", Runtime: "nodejs24.x", Timeout: 60, MemorySize: 256, Code: code });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.reconcile",
      Runtime: "nodejs24.x",
      Timeout: 300,
      ReservedConcurrentExecutions: Match.absent(),
      Code: code,
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      Targets: [Match.objectLike({ Arn: ref(alerts.reconcileFunction.functionArn) })],
    });
  });

  it("keeps claims in an on-demand table with the TTL attribute the handler writes", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it("creates the alert topic encrypted with a rotating customer-managed key the alarm may use", () => {
    const key = ref(alerts.alertTopicKey!.keyArn);
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: key });
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"] })]),
      },
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({ Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish" }),
        ]),
      },
    });
  });

  it("configures the handler through the environment, with the Slack secret's ARN and never its value", () => {
    const env = resources[stack.getLogicalId(construct.handlerFunction!.node.defaultChild as never)]!.Properties.Environment.Variables;
    expect(env).toEqual({
      FLOWHOOKS_DEDUPE_TABLE: ref(alerts.table.tableName),
      FLOWHOOKS_STATE_MACHINE_ARN: ref(construct.stateMachine.stateMachineArn),
      FLOWHOOKS_ALERT_TOPIC_ARN: ref(construct.alertTopic!.topicArn),
      FLOWHOOKS_SLACK_SECRET_ARN: {
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":secretsmanager:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":secret:flowhooks/slack-webhook"]],
      },
      FLOWHOOKS_ALERT_ON: "Failed,TimedOut,Retrying,Paused",
      FLOWHOOKS_EVENTS_QUEUE_URL: ref(alerts.queue.queueUrl),
      FLOWHOOKS_RESULTS_BUCKET: ref(construct.resultsBucket.bucketName),
    });
  });

  it("gives the handler access to its own state machine's executions, topic, secret, table and queue only", () => {
    const role = ref((construct.handlerFunction!.role as { roleName: string }).roleName);
    const statements = allowStatements(template, role);
    const byAction = new Map<string, unknown[]>();
    const unique = (xs: unknown[]) => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
    for (const s of statements) for (const a of asList(s.Action)) byAction.set(a, unique([...(byAction.get(a) ?? []), ...asList(s.Resource)]));
    const secretArn = {
      "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":secretsmanager:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":secret:flowhooks/slack-webhook-??????"]],
    };
    const logGroup = ref(alerts.handlerFunction.logGroup.logGroupArn);
    expect(Object.fromEntries(byAction)).toEqual({
      "states:DescribeExecution": [executionsArn],
      "states:GetExecutionHistory": [executionsArn],
      "dynamodb:GetItem": [ref(alerts.table.tableArn)],
      "dynamodb:PutItem": [ref(alerts.table.tableArn)],
      "dynamodb:UpdateItem": [ref(alerts.table.tableArn)],
      "dynamodb:DeleteItem": [ref(alerts.table.tableArn)],
      "sns:Publish": [ref(construct.alertTopic!.topicArn)],
      "kms:Decrypt": [ref(alerts.alertTopicKey!.keyArn)],
      "kms:GenerateDataKey*": [ref(alerts.alertTopicKey!.keyArn)],
      "secretsmanager:GetSecretValue": [secretArn],
      "secretsmanager:DescribeSecret": [secretArn],
      "sqs:ReceiveMessage": [ref(alerts.queue.queueArn)],
      "sqs:ChangeMessageVisibility": [ref(alerts.queue.queueArn)],
      "sqs:GetQueueUrl": [ref(alerts.queue.queueArn)],
      "sqs:DeleteMessage": [ref(alerts.queue.queueArn)],
      "sqs:GetQueueAttributes": [ref(alerts.queue.queueArn)],
      "sqs:SendMessage": [ref(alerts.queue.queueArn)],
      "logs:CreateLogStream": [logGroup],
      "logs:PutLogEvents": [logGroup],
      "xray:PutTraceSegments": ["*"],
      "xray:PutTelemetryRecords": ["*"],
      // The crashed children a Distributed Map's collect step kept, and nothing else of the results bucket.
      "s3:GetObject": [{ "Fn::Join": ["", [ref(construct.resultsBucket.bucketArn), "/*/crashed-children.json"]] }],
      "s3:ListBucket": [ref(construct.resultsBucket.bucketArn)],
    });
    expect(template.findResources("AWS::IAM::Role", { Properties: { ManagedPolicyArns: Match.anyValue() } })).toEqual({});
  });

  it("lets the reconciler list only its own state machine's executions, and only send to the queue (the flushes of digests it starts)", () => {
    const role = ref((alerts.reconcileFunction.role as { roleName: string }).roleName);
    const statements = allowStatements(template, role);
    const resourcesOf = (action: string) => statements.filter((s) => asList(s.Action).includes(action)).flatMap((s) => asList(s.Resource));
    expect(resourcesOf("states:ListExecutions")).toEqual([ref(construct.stateMachine.stateMachineArn)]);
    expect(resourcesOf("states:DescribeExecution")).toEqual([executionsArn]);
    expect(statements.flatMap((s) => asList(s.Action)).filter((a) => a.startsWith("sqs:")).sort()).toEqual(["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]);
    expect(resourcesOf("s3:GetObject")).toEqual([{ "Fn::Join": ["", [ref(construct.resultsBucket.bucketArn), "/*/crashed-children.json"]] }]);
  });

  it("puts no webhook URL or other secret value in the template", () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/hooks\.slack\.com|https?:\/\//);
    expect(json).not.toMatch(/SecretString|secretStringValue|\{\{resolve:secretsmanager/);
  });

  it("reports the flow's own final state with a putEvents step before Succeed and Fail, and lets the state machine PutEvents", () => {
    const states = deployedDefinition(template, app.outdir).States;
    expect(states[STATE_NAMES.decide]!.Default).toBe(STATE_NAMES.reportSucceeded);
    expect(states[STATE_NAMES.failureCause]!.Next).toBe(STATE_NAMES.reportFailed);
    for (const [name, next] of [[STATE_NAMES.reportSucceeded, STATE_NAMES.succeeded], [STATE_NAMES.reportFailed, STATE_NAMES.failed]] as const) {
      expect(states[name]).toMatchObject({ Type: "Task", Resource: "arn:aws:states:::events:putEvents", ResultPath: null, Next: next });
      // A report that cannot be sent must not change how the execution ends.
      expect(states[name]!.Catch).toEqual([expect.objectContaining({ ErrorEquals: ["States.ALL"], Next: next })]);
    }
    const smRole = ref(construct.stateMachine.role.roleName);
    const putEvents = allowStatements(template, smRole).filter((s) => asList(s.Action).includes("events:PutEvents"));
    expect(putEvents.flatMap((s) => asList(s.Resource))).toEqual([busArn]);
  });

  it("sends a final report the handler reads as the flow's ending", () => {
    const states = deployedDefinition(template, app.outdir).States;
    const entry = (name: string) => (states[name]!.Parameters as { Entries: { Source: string; DetailType: string; Detail: Record<string, string>; EventBusName: string }[] }).Entries[0]!;
    const executionArn = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";
    const asDelivered = (name: string) => {
      const e = entry(name);
      // What Step Functions puts on the bus: JSONPath fields resolved, ".$" dropped from their keys.
      const detail = Object.fromEntries(
        Object.entries(e.Detail).map(([k, v]) =>
          k.endsWith(".$") ? [k.slice(0, -2), v === "$$.Execution.Id" ? executionArn : "Some reference tasks failed: `save`"] : [k, v],
        ),
      );
      return { source: e.Source, "detail-type": e.DetailType, time: "2026-01-01T00:00:00Z", detail };
    };
    expect(entry(STATE_NAMES.reportSucceeded).EventBusName).toBe(bus.eventBusName);
    expect(parseEventBridgeEvent(asDelivered(STATE_NAMES.reportSucceeded))).toMatchObject({ kind: "execution-status", origin: "flow-report", executionArn, status: "SUCCEEDED" });
    expect(parseEventBridgeEvent(asDelivered(STATE_NAMES.reportFailed))).toMatchObject({
      origin: "flow-report",
      status: "FAILED",
      error: "flowhooks.FlowFailed",
      cause: "Some reference tasks failed: `save`",
    });
    expect(entry(STATE_NAMES.reportFailed).Detail["cause.$"]).toBe("$.flowhooks.cause");
  });

  it("lets task functions send their events to the stack's flowhooks bus", () => {
    for (const name of Object.keys(construct.taskFunctions)) {
      template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: { FLOWHOOKS_TASK: name, FLOWHOOKS_EVENT_BUS: bus.eventBusName } } });
    }
    const putEvents = allowStatements(template, ref(construct.taskRole.roleName)).filter((s) => asList(s.Action).includes("events:PutEvents"));
    expect(putEvents.flatMap((s) => asList(s.Resource))).toEqual([busArn]);
  });

  it("denies events:PutEvents on that bus to every principal but the task roles (on the bus's role path) and the state machine role, so no one can forge an alert", () => {
    template.hasResourceProperties("AWS::IAM::Role", { Path: `/flowhooks/${bus.eventBusName}/`, Description: Match.stringLikeRegexp("Runs the task functions") });
    template.hasResourceProperties("AWS::Events::EventBus", {
      Name: bus.eventBusName,
      Policy: {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "OnlyFlowhooksRolesPutEvents",
            Effect: "Deny",
            Principal: "*",
            Action: "events:PutEvents",
            Resource: busArn,
            Condition: { ArnNotLike: { "aws:PrincipalArn": [stack.resolve(bus.pathRolesArn), ref(construct.stateMachine.role.roleArn)] } },
          },
        ],
      },
    });
  });

  it("shares one bus between the flows of a stack, admitting each flow's task roles by path and its state machine role by ARN", () => {
    const app2 = new App();
    const two = new Stack(app2, "Two");
    const a = new FlowStateMachine(two, "A", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: {} });
    const b = new FlowStateMachine(two, "B", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: {} });
    const t = Template.fromStack(two);
    t.resourceCountIs("AWS::Events::EventBus", 1);
    const policy = Object.values(t.findResources("AWS::Events::EventBus"))[0]!.Properties.Policy;
    expect(policy.Statement[0].Condition.ArnNotLike["aws:PrincipalArn"]).toEqual(
      [FlowEventBus.of(two).pathRolesArn, a.stateMachine.role.roleArn, b.stateMachine.role.roleArn].map((arn) => two.resolve(arn)),
    );
  });
});

describe("FlowStateMachine alerts options", () => {
  it("sends alerts to the user's topic, creating none", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:team-alerts";
    const { stack, construct, template } = alertsStack((s) => ({ topic: sns.Topic.fromTopicArn(s, "Team", arn), on: ["Failed", "Cancelled"] }));
    const t = template();
    t.resourceCountIs("AWS::SNS::Topic", 0);
    t.resourceCountIs("AWS::KMS::Key", 0);
    expect(construct.alertTopic!.topicArn).toBe(arn);
    t.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.events",
      Environment: { Variables: Match.objectLike({ FLOWHOOKS_ALERT_TOPIC_ARN: arn, FLOWHOOKS_ALERT_ON: "Failed,Cancelled", FLOWHOOKS_SLACK_SECRET_ARN: Match.absent() }) },
    });
    const publish = allowStatements(t, stack.resolve(construct.handlerFunction!.role!.roleName)).filter((s) => asList(s.Action).includes("sns:Publish"));
    expect(publish.flatMap((s) => asList(s.Resource))).toEqual([arn]);
  });

  it("deploys the handler without built-in alerts for `alerts: {}` (the flow's own state handlers still run)", () => {
    const { construct, template } = alertsStack(() => ({}));
    const t = template();
    expect(construct.handlerFunction).toBeDefined();
    expect(construct.alertTopic).toBeUndefined();
    t.resourceCountIs("AWS::SNS::Topic", 0);
    t.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.events",
      Environment: { Variables: Match.objectLike({ FLOWHOOKS_ALERT_TOPIC_ARN: Match.absent(), FLOWHOOKS_SLACK_SECRET_ARN: Match.absent() }) },
    });
    t.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: Match.absent() });
  });

  it("wires nothing of the handler Lambda without `alerts`", () => {
    const plainApp = new App();
    const stack = new Stack(plainApp, "Plain");
    const construct = new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true });
    const t = Template.fromStack(stack);
    expect(construct.handlerFunction).toBeUndefined();
    t.resourceCountIs("AWS::SQS::Queue", 0);
    t.resourceCountIs("AWS::Events::Rule", 0);
    t.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: { FLOWHOOKS_TASK: "load" } } });
    expect(Object.keys(deployedDefinition(t, plainApp.outdir).States)).not.toContain(STATE_NAMES.reportSucceeded);
  });

  it("refuses an unknown state in `on`, listing the valid names", () => {
    expect(() => alertsStack(() => ({ topic: true, on: ["Failed", "Failure" as never] }))).toThrow(FlowDefinitionError);
    expect(() => alertsStack(() => ({ topic: true, on: ["Failure" as never] }))).toThrow(
      /`alerts.on` names unknown states "Failure"; use Failed, TimedOut, Retrying, TriggerFailed, Cancelled, Success/,
    );
  });

  it("refuses `on` without a channel and an empty `on`, naming the fix", () => {
    expect(() => alertsStack(() => ({ on: ["Failed"] }))).toThrow(/no channel is set; add `topic: true`.*`slackWebhookSecret`/);
    expect(() => alertsStack(() => ({ topic: true, on: [] }))).toThrow(/must list at least one of Failed.*leave out `topic` and `slackWebhookSecret`/);
  });

  it("refuses a topic or secret of the wrong kind before creating anything", () => {
    const app = new App();
    const stack = new Stack(app, "S");
    expect(() => new FlowStateMachine(stack, "F", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: { topic: "arn:aws:sns:x" as never } })).toThrow(
      /`alerts.topic` must be an SNS topic \(sns.ITopic\) or `true`/,
    );
    expect(() => new FlowStateMachine(stack, "G", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: { slackWebhookSecret: "https://hooks" as never } })).toThrow(
      /`alerts.slackWebhookSecret` must be a Secrets Manager secret/,
    );
    expect(stack.node.findAll().filter((c) => CfnResource.isCfnResource(c))).toHaveLength(0);
  });

  it("a Slack app: the bot token secret's ARN and the channel reach the handler, which may read that secret; dead letters reach Slack alone", () => {
    const { stack, construct, template } = alertsStack((s) => ({
      slack: { botTokenSecret: secretsmanager.Secret.fromSecretNameV2(s, "Bot", "flowhooks/slack-bot"), channel: "C0123ABCDEF" },
    }));
    const t = template();
    t.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.events",
      Environment: {
        Variables: Match.objectLike({
          FLOWHOOKS_SLACK_BOT_TOKEN_SECRET_ARN: Match.objectLike({ "Fn::Join": Match.arrayWith([Match.arrayWith([":secret:flowhooks/slack-bot"])]) }),
          FLOWHOOKS_SLACK_CHANNEL: "C0123ABCDEF",
        }),
      },
    });
    const reads = allowStatements(t, stack.resolve(construct.handlerFunction!.role!.roleName)).filter((s) => asList(s.Action).includes("secretsmanager:GetSecretValue"));
    expect(JSON.stringify(reads)).toContain(":secret:flowhooks/slack-bot-??????");
    // No alert topic: the alarm's one action is the notices topic, whose key is the construct's own.
    t.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [stack.resolve(construct.alerts!.deadLetterNotices!.topicArn)] });
    t.resourceCountIs("AWS::KMS::Key", 1);
  });

  it("refuses a Slack app without a channel id, and together with a webhook, naming the fix", () => {
    const bot = (s: Stack) => secretsmanager.Secret.fromSecretNameV2(s, "Bot", "flowhooks/slack-bot");
    expect(() => alertsStack((s) => ({ slack: { botTokenSecret: bot(s), channel: "#alerts" } }))).toThrow(/`alerts.slack.channel` must be a Slack channel id such as "C0123ABCDEF"/);
    expect(() => alertsStack((s) => ({ slack: { botTokenSecret: "xoxb-1" as never, channel: "C0123ABCDEF" } }))).toThrow(/`alerts.slack.botTokenSecret` must be a Secrets Manager secret/);
    expect(() => alertsStack((s) => ({ slack: { botTokenSecret: bot(s), channel: "C0123ABCDEF" }, slackWebhookSecret: slackSecret(s) }))).toThrow(/not both/);
  });

  it("checks at synth that timeouts, visibility, lease and concurrency fit together", () => {
    const fits = { handlerTimeoutSeconds: 60, visibilityTimeoutSeconds: 360, maxReceiveCount: 10, maxConcurrency: 5, claimLeaseSeconds: 420 };
    expect(deliverySettingsProblems(fits)).toEqual([]);
    expect(deliverySettingsProblems({ ...fits, visibilityTimeoutSeconds: 120 })).toEqual([expect.stringMatching(/visibility timeout \(120s\) is under 6 × the handler's timeout \(60s\).*at least 360s/)]);
    expect(deliverySettingsProblems({ ...fits, claimLeaseSeconds: 60 })).toEqual([expect.stringMatching(/claim lease \(60s\) is not above the handler's timeout/)]);
    expect(deliverySettingsProblems({ ...fits, claimLeaseSeconds: 300 })).toEqual([expect.stringMatching(/claim lease \(300s\) is not above the queue's visibility timeout/)]);
    expect(deliverySettingsProblems({ ...fits, maxConcurrency: 1 })).toEqual([expect.stringMatching(/from 2 to 1000/)]);
    // The construct's own settings pass its synth-time check.
    const { app } = alertsStack((s) => ({ slackWebhookSecret: slackSecret(s) }));
    expect(() => app.synth()).not.toThrow();
  });
});

describe("FlowStateMachine with alerts under cdk-nag", () => {
  function nagSynth(alerts: (stack: Stack) => FlowAlertsProps, extra: { tracing?: boolean; logging?: boolean } = {}) {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, "Nag");
    new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, alerts: alerts(stack), ...extra });
    return () => app.synth();
  }

  it("passes AwsSolutions checks with a new topic and a Slack secret, each deliberate finding acknowledged", () => {
    expect(nagSynth((s) => ({ topic: true, slackWebhookSecret: slackSecret(s) }))).not.toThrow();
  });

  it("passes AwsSolutions checks with the user's topic, and with tracing and logging off", () => {
    expect(nagSynth((s) => ({ topic: sns.Topic.fromTopicArn(s, "T", "arn:aws:sns:eu-west-1:123456789012:t") }))).not.toThrow();
    expect(nagSynth((s) => ({ slackWebhookSecret: slackSecret(s) }), { tracing: false, logging: false })).not.toThrow();
  });
});

describe("one alert per transition per Slack webhook", () => {
  /** load → save, with `alerts` as the flow's notifiers. */
  function notifiedFlow(alerts: StateHandler[], taskHandlers: StateHandler[] = []) {
    return new Flow({ name: "orders", alerts }, () => {
      task({ name: "save", stateHandlers: taskHandlers }, (x: number) => x)(task({ name: "load" }, () => 1)());
    });
  }
  function synth(flow: Flow, props: (stack: Stack) => Partial<FlowStateMachineProps>) {
    const stack = new Stack(new App(), "NotifiedStack");
    new FlowStateMachine(stack, "Flow", { flow, entry: "unused.ts", stubBundling: true, ...props(stack) });
    return stack;
  }

  it("refuses the flow's slackNotifier and alerts.slackWebhookSecret on the same secret, saying which to remove", () => {
    const flow = notifiedFlow([slackNotifier()]);
    const attempt = () =>
      synth(flow, (stack) => {
        const secret = slackSecret(stack);
        return { secrets: { SLACK_WEBHOOK_URL: secret }, alerts: { slackWebhookSecret: secret } };
      });
    expect(attempt).toThrow(FlowDefinitionError);
    expect(attempt).toThrow(
      /Failed, TimedOut, Retrying alerts would be posted to the same Slack webhook twice, by slackNotifier\(\) in the flow's `alerts`.*remove `alerts.slackWebhookSecret`.*or remove slackNotifier\(\) from the flow/s,
    );
  });

  it("spots the same secret imported twice, and a task's own notifier", () => {
    const flow = notifiedFlow([], [slackNotifier({ onlyStates: [Failed] })]);
    expect(() =>
      synth(flow, (stack) => ({
        secrets: { SLACK_WEBHOOK_URL: secretsmanager.Secret.fromSecretNameV2(stack, "A", "flowhooks/slack-webhook") },
        alerts: { slackWebhookSecret: secretsmanager.Secret.fromSecretNameV2(stack, "B", "flowhooks/slack-webhook") },
      })),
    ).toThrow(/^FlowStateMachine for flow `orders`: Failed, TimedOut alerts would be posted .* in the `stateHandlers` of task `save`/);
  });

  it("allows them when they alert on different states or post to different webhooks", () => {
    const onSuccess = notifiedFlow([slackNotifier({ onlyStates: [Success] })]);
    const stack = synth(onSuccess, (s) => {
      const secret = slackSecret(s);
      return { secrets: { SLACK_WEBHOOK_URL: secret }, alerts: { slackWebhookSecret: secret } };
    });
    Template.fromStack(stack).resourceCountIs("AWS::Lambda::Function", 4);
    expect(() =>
      synth(notifiedFlow([slackNotifier()]), (s) => ({
        secrets: { SLACK_WEBHOOK_URL: secretsmanager.Secret.fromSecretNameV2(s, "Team", "team-webhook") },
        alerts: { slackWebhookSecret: secretsmanager.Secret.fromSecretNameV2(s, "Ops", "ops-webhook") },
      })),
    ).not.toThrow();
  });

  it("warns when a flow notifier's secret is not given to the functions", () => {
    const stack = synth(notifiedFlow([slackNotifier()]), () => ({ alerts: { topic: true } }));
    Annotations.fromStack(stack).hasWarning(
      "/NotifiedStack/Flow",
      Match.stringLikeRegexp('slackNotifier\\(\\) in the flow\'s `alerts` reads the secret "SLACK_WEBHOOK_URL".*Add `secrets: \\{ SLACK_WEBHOOK_URL: secret \\}`'),
    );
  });
});
