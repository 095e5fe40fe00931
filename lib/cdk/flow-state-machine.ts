/**
 * `FlowStateMachine`: a flow as a Standard Step Functions state machine with one Lambda function
 * per task, all running one bundled code asset. Thin: lib/compile decides the definition.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Annotations, ArnFormat, CfnResource, Duration, NestedStack, Stack, Token, Validations } from "aws-cdk-lib";
import { DEFAULT_RESULT_THRESHOLD_BYTES } from "../core/results";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { secretArnVariable } from "../aws/secrets";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct, type IConstruct } from "constructs";
import type { Flow } from "../core/flow";
import { assertEntryExportsFlow } from "./entry-exports";
import { FlowDefinitionError } from "../core/errors";
import {
  assertDefinitionSize,
  compileFlow,
  validateDefinition,
  type CompiledFlow,
  type CompileOptions,
  type TransientRetryOptions,
} from "../compile/index";
import { FLOW_STATE_MACHINE_METADATA, type FlowStateMachineMetadata } from "./assembly-metadata";
import { bundleFlow } from "./bundle";
import { validateBundlingOptions, type FlowBundlingOptions } from "./bundling-options";
import {
  bundleTarget,
  createTaskFunction,
  DEFAULT_ACCOUNT_CONCURRENCY,
  DEFAULT_RUNTIME,
  reservedConcurrency,
  UNRESERVED_CONCURRENCY_FLOOR,
  validateTaskFunctionOptions,
  type TaskFunctionOptions,
  type TaskOptions,
} from "./task-functions";
import { checkFlowNotifiers, FlowAlerts, validateAlertsProps, type FlowAlertsProps, type OnAlertOptions } from "./flow-alerts";
import type * as events from "aws-cdk-lib/aws-events";
import { FlowEventBus } from "./flow-event-bus";
import { flowRunSubstitution, flowRunSubstitutions, grantFlowRuns, subFlowNames, validateFlowRuns } from "./flow-runs";
import { FlowScheduleResources, validateSchedule, type FlowSchedule } from "./schedule";
import { FLOW_STATE_CHANGE, TASK_EVENT_SOURCE } from "../aws/events";
import { FLOW_FAILED_ERROR } from "../../lambdas/task/payload";
import { FLOW_OUTCOME_PATH, MAP_RESULTS_PREFIX, STATE_NAMES, type AslDefinition, type AslState } from "../compile/index";
import { PUT_EVENTS } from "../compile/resources";

export type { FlowAlertsProps, OnAlertOptions } from "./flow-alerts";

export type { TaskFunctionDefaults, TaskFunctionOptions, TaskOptions } from "./task-functions";
export type { FlowBundlingOptions } from "./bundling-options";
export type { FlowSchedule } from "./schedule";

export interface FlowStateMachineLoggingProps {
  /** What is logged. @default sfn.LogLevel.ALL */
  readonly level?: sfn.LogLevel;
  /** Log execution input, output and task results (they may hold sensitive data). @default false */
  readonly includeExecutionData?: boolean;
  /** Where logs go. @default - a new log group kept for one month */
  readonly destination?: logs.ILogGroup;
}

export interface FlowStateMachineProps {
  /** The flow to deploy. */
  readonly flow: Flow;
  /** Path of the module that exports `flow` (bundled into the task functions). */
  readonly entry: string;
  /** The export of `entry` that holds the flow. @default - the export that is a flow named `flow.name` */
  readonly exportName?: string;
  /**
   * Turns on the handler Lambda (the flow's own state handlers in the cloud, tasks that died
   * where no code of ours ran, missed endings) and built-in alerts to SNS and/or Slack.
   * `{}` deploys the handler Lambda without built-in alerts.
   * @default - no handler Lambda: task functions send no events and the flow's state handlers do not run in the cloud
   */
  readonly alerts?: FlowAlertsProps;
  /**
   * Secrets the flow's own code reads with `secrets.get(name)` (e.g. `{ SLACK_WEBHOOK_URL: secret }`
   * for a `slackNotifier()` on a task or the flow), by name. The task functions and the handler Lambda
   * get read access and the secret's ARN (never its value) in `FLOWHOOKS_SECRET_ARN_<NAME>`.
   * @default - none
   */
  readonly secrets?: Record<string, secretsmanager.ISecret>;
  /** Settings for every task function (docs/deploying.md, "Configuring task functions"). @default - 256 MB, 5 minutes, Node.js 24, arm64 */
  readonly taskDefaults?: TaskFunctionOptions;
  /**
   * Settings for one task's function, by task name; they win over `taskDefaults` (`environment`
   * merges key by key), and the task's own `memorySize`/`timeoutSeconds` win over both.
   * `ownRole: true` gives the task an IAM role of its own.
   * @default - every task uses `taskDefaults` and the shared role
   */
  readonly tasks?: Record<string, TaskOptions>;
  /** How the flow's code is bundled, with NodejsFunction's meanings. @default - minified, `@aws-sdk/*` external, no source map */
  readonly bundling?: FlowBundlingOptions;
  /** CloudWatch Logs for the state machine: `false` turns them off. @default true (level ALL, without execution data) */
  readonly logging?: boolean | FlowStateMachineLoggingProps;
  /** X-Ray tracing of the state machine and the task functions. @default true */
  readonly tracing?: boolean;
  /** The state machine's name. @default - generated by CloudFormation */
  readonly stateMachineName?: string;
  /** Retries of transient Lambda service errors (throttling, service exceptions) per task state. @default - 3 retries, 1 s, ×2 */
  readonly transientRetry?: TransientRetryOptions;
  /**
   * Task functions per stack. Flows with more tasks put their functions in nested stacks of this
   * many, so no stack nears CloudFormation's 500-resource limit.
   * @default 200
   */
  readonly functionsPerStack?: number;
  /**
   * Task results larger than this many bytes (serialized) are written to the flow's results bucket,
   * and the execution carries a reference that downstream tasks read back, so the execution JSON
   * stays far below Step Functions' 256 KiB. `0` stores every result.
   * @default 512
   */
  readonly resultThresholdBytes?: number;
  /**
   * The most characters of task states one state machine definition holds; a flow with more is
   * split by levels into child state machines the main one starts in order (Step Functions allows
   * 1,048,576 characters per definition).
   * @default 900000
   */
  readonly maxDefinitionChars?: number;
  /**
   * The Lambda concurrent executions quota of the account and Region you deploy to. Reserved
   * concurrency summed over the flow's tasks must leave 100 of it unreserved (Lambda refuses the
   * deployment otherwise); set this when your quota was raised.
   * @default 1000 (Lambda's default quota)
   */
  readonly accountConcurrency?: number;
  /** How long stored results are kept in the results bucket before its lifecycle rule deletes them. @default Duration.days(30) */
  readonly resultsRetention?: Duration;
  /**
   * Skip bundling and deploy placeholder code that cannot run: for fast unit tests of templates.
   * Also on when the environment variable FLOWHOOKS_STUB_BUNDLING is "1".
   * @default false
   */
  readonly stubBundling?: boolean;
  /**
   * The state machines that run the flows this flow calls with `flowRun(...)`, by flow name: each
   * other flow's own FlowStateMachine (`flowRuns: { etl: etlMachine }`). The flowRun task starts it
   * and waits (`states:startExecution.sync:2`); every flowRun needs one, refused at synth otherwise.
   * @default - none (a flow with a flowRun task is refused)
   */
  readonly flowRuns?: Record<string, FlowStateMachine>;
  /**
   * Starts the state machine on a schedule: an EventBridge Scheduler schedule with a role of its
   * own, the `parameters` as the execution's input (docs/deploying.md, "schedule").
   * @default - no schedule
   */
  readonly schedule?: FlowSchedule;
}

/** CloudFormation's per-stack resource limit. */
export const MAX_STACK_RESOURCES = 500;
/** Up to this many tasks, the state machine's role lists each function ARN; above, it uses the flow's name prefix. */
const MAX_LISTED_FUNCTIONS = 40;

const checkedStacks = new WeakSet<Stack>();

function isFlowLike(value: unknown): value is Flow {
  return typeof value === "object" && value !== null && typeof (value as Flow).graph === "function" && typeof (value as Flow).name === "string";
}

export class FlowStateMachine extends Construct {
  /** The name of the flow this construct deploys. */
  readonly flowName: string;
  /** The Standard workflow that runs the flow (the one to start). */
  readonly stateMachine: sfn.StateMachine;
  /** The EventBridge Scheduler schedule that starts the state machine; set when `schedule` is. */
  readonly schedule?: FlowScheduleResources;
  /** Child state machines running the levels of a flow too large for one definition, in order; empty for most flows. */
  readonly partStateMachines: sfn.StateMachine[];
  /** The task functions, by task name. */
  readonly taskFunctions: Record<string, lambda.IFunction>;
  /** The role task functions share (every task without `ownRole`). Grant to one task with `grantPrincipal(name)`. */
  readonly taskRole: iam.Role;
  /** Who each task runs as, by task name. */
  private readonly taskPrincipals: Record<string, iam.IRole> = {};
  /** The flows this flow runs with flowRun(...), and their state machines (`flowRuns`). */
  private readonly subFlows: string[];
  private readonly flowRuns: Readonly<Record<string, FlowStateMachine>>;
  /**
   * The compiled definition as deployed from its S3 asset: function ARNs hold `${Partition}`,
   * `${Region}` and `${AccountId}`, which CloudFormation fills from `DefinitionSubstitutions`.
   */
  readonly compiled: CompiledFlow;
  /** The handler Lambda (events → state handlers → alerts); set when `alerts` is. */
  readonly handlerFunction?: lambda.IFunction;
  /** The SNS topic alerts go to; set when `alerts.topic` is. */
  readonly alertTopic?: sns.ITopic;
  /** The handler Lambda's queue, dead-letter queue, alarm, table and reconciler; set when `alerts` is. */
  readonly alerts?: FlowAlerts;
  /** Every task function's name starts with this. */
  readonly functionNamePrefix: string;
  /** Where results above `resultThresholdBytes` go: encrypted, TLS only, no public access, expired by a lifecycle rule. */
  readonly resultsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: FlowStateMachineProps) {
    super(scope, id);
    const stub = props.stubBundling ?? process.env.FLOWHOOKS_STUB_BUNDLING === "1";
    validateProps(props, stub);
    this.flowName = props.flow.name;
    this.subFlows = subFlowNames(props.flow);
    this.flowRuns = props.flowRuns ?? {};
    if (!stub) this.assertEntryExportsFlow(props);
    this.checkReservedConcurrency(props);
    checkFlowNotifiers(this, `FlowStateMachine for flow \`${props.flow.name}\``, props.flow, props.alerts, props.secrets);
    const stack = Stack.of(this);
    this.functionNamePrefix = `fh-${shortHash(`${Token.isUnresolved(stack.stackName) ? "" : stack.stackName}/${this.node.path}`)}-`;
    const eventBus = props.alerts ? FlowEventBus.of(this) : undefined;
    this.compiled = this.compile(props, eventBus?.eventBusName);

    const tracing = props.tracing ?? true;
    this.taskRole = new iam.Role(this, "TaskRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs the task functions of flowhooks flow ${props.flow.name}`,
      // On the bus's role path: the bus admits task roles by path, so its policy does not grow per role.
      path: eventBus?.rolePath,
    });
    this.resultsBucket = this.createResultsBucket(props.resultsRetention);
    const grantBase = (role: iam.IRole) => this.grantTaskBase(role, { tracing, eventBus, secrets: props.secrets });
    grantBase(this.taskRole);
    const code = taskCode(props, stub);
    const scopes = this.functionScopes(props);
    this.taskFunctions = this.createTaskFunctions(props, scopes, code, { tracing, grantBase, eventBusName: eventBus?.eventBusName, rolePath: eventBus?.rolePath });

    const logOptions = this.logOptions(props.logging ?? true);
    this.partStateMachines = this.createPartStateMachines(props.flow.name, logOptions, tracing);
    this.stateMachine = this.createStateMachine(props.stateMachineName, logOptions, tracing);
    this.grantStateMachines(scopes);
    // Only these two roles may put events on the bus the alerts rule listens to.
    eventBus?.admit(this.stateMachine.role);

    if (props.alerts) {
      // The handler runs the same asset as the task functions, in this (parent) stack.
      this.alerts = new FlowAlerts(this, "Alerts", {
        flowName: props.flow.name,
        stateMachine: this.stateMachine,
        eventBus: eventBus!.eventBus,
        code: code(),
        alerts: props.alerts,
        tracing,
        secrets: props.secrets,
        sourceMaps: props.bundling?.sourceMap,
        resultsBucket: this.resultsBucket,
        grantApprovalStore: (fn) => this.grantApprovalStore(fn),
      });
      this.handlerFunction = this.alerts.handlerFunction;
      this.alertTopic = this.alerts.alertTopic;
    }
    if (props.schedule) this.schedule = new FlowScheduleResources(this, "Schedule", { stateMachine: this.stateMachine, flow: props.flow, schedule: props.schedule });
    this.addEmulatorMetadata(props, stub);
    const runtime = props.taskDefaults?.runtime ?? DEFAULT_RUNTIME;
    const prefixInvoke = this.compiled.tasks.size > MAX_LISTED_FUNCTIONS;
    this.acknowledgeFindings({ prefixInvoke, logging: Boolean(props.logging ?? true), tracing, runtime });
    this.checkStackLimits([stack, ...scopes.filter((c): c is NestedStack => c instanceof NestedStack)]);
  }

  /**
   * A rule routing this flow's alerts, as put on `alerts.eventBus`, to `target` (only `states`, if
   * given), like aws-cdk-lib's `onStateChange`. Refused without `alerts.eventBus`, and for a state
   * that is not one `alerts.on` alerts on.
   */
  onAlert(id: string, options: OnAlertOptions): events.Rule {
    if (!this.alerts) {
      throw new FlowDefinitionError(`onAlert("${id}") routes the alert events put on \`alerts.eventBus\`; add \`alerts: { eventBus: true }\` (or your events.IEventBus).`);
    }
    return this.alerts.alertRule(this, id, options);
  }

  /**
   * The Slack interactivity function answers Paused tasks through the tokens their approval
   * invocations keep in the results bucket (lib/aws/approval-store.ts): it may read them and record
   * the answer, under `approvals/` only.
   */
  private grantApprovalStore(fn: lambda.Function): void {
    fn.addEnvironment("FLOWHOOKS_RESULTS_BUCKET", this.resultsBucket.bucketName);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: [this.resultsBucket.arnForObjects("approvals/*")] }));
    // Without ListBucket a missing answer record reads as AccessDenied, not NoSuchKey: a click after the wait ended would fail instead of saying so.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.resultsBucket.bucketArn], conditions: { StringLike: { "s3:prefix": ["approvals/*"] } } }),
    );
    Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.resultsBucket.node.defaultChild as CfnResource)}.Arn>/approvals/*]`,
      reason: "A Paused task's token and answer are objects named by execution and task under approvals/, not known at deploy; the function reads and writes that prefix only.",
    });
  }

  /**
   * Lambda keeps 100 of the account's concurrency unreserved: a flow whose tasks reserve more than
   * the rest fails to deploy at its Nth function, so it is refused here; any reservation is a warning
   * with the sum (other functions of the account reserve from the same quota).
   */
  private checkReservedConcurrency(props: FlowStateMachineProps): void {
    const { total, tasks } = reservedConcurrency(props.flow, props.taskDefaults, props.tasks);
    if (total === 0) return;
    const quota = props.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY;
    const reservable = quota - UNRESERVED_CONCURRENCY_FLOOR;
    const owner = `FlowStateMachine for flow \`${props.flow.name}\``;
    if (total > reservable) {
      throw new FlowDefinitionError(
        `${owner}: its ${tasks} task functions reserve ${total} concurrent executions in total, but Lambda keeps ${UNRESERVED_CONCURRENCY_FLOOR} of the account's ` +
          `${quota} unreserved, so at most ${reservable} can be reserved; lower \`reservedConcurrentExecutions\` (taskDefaults or tasks), ` +
          "or, if your account's quota was raised, set `accountConcurrency` to it.",
      );
    }
    Annotations.of(this).addWarningV2(
      "flowhooks:reservedConcurrency",
      `${owner}: its ${tasks} task functions reserve ${total} of the account's ${quota} concurrent executions (at most ${reservable} can be reserved, ` +
        "counting every other function in the account and Region).",
    );
  }

  private functionName(task: string): string {
    return taskFunctionName(this.functionNamePrefix, task);
  }

  /**
   * Compiles with `${…}` placeholders that CloudFormation fills from DefinitionSubstitutions, then
   * validates and size-checks each definition with ARNs as long as real ones can be.
   */
  private compile(props: FlowStateMachineProps, eventBusName: string | undefined): CompiledFlow {
    const { flow } = props;
    const compileOptions: CompileOptions = {
      taskFunctionArn: (task) => `arn:\${${SUBSTITUTION.partition}}:lambda:\${${SUBSTITUTION.region}}:\${${SUBSTITUTION.account}}:function:${this.functionName(task)}`,
      transientRetry: props.transientRetry,
      reportFinalState: eventBusName ? (outcome) => finalReportState(flow.name, outcome, eventBusName) : undefined,
      mapMode: (task) => props.tasks?.[task]?.mapMode,
      // Distributed Maps read their items from and write their results to the results bucket, named by substitution.
      resultsBucket: `\${${SUBSTITUTION.resultsBucket}}`,
      childStateMachineArn: (k) => `\${${SUBSTITUTION.part(k)}}`,
      flowRunStateMachineArn: (name) => {
        const index = subFlowNames(flow).indexOf(name);
        return index < 0 || !props.flowRuns?.[name] ? undefined : `\${${flowRunSubstitution(index)}}`;
      },
      partDefinitionChars: props.maxDefinitionChars,
    };
    const compiled = compileFlow(flow, compileOptions);
    for (const definition of [compiled.definition, ...compiled.parts.map((p) => p.definition)]) {
      const sample = sampleDefinitionText(JSON.stringify(definition));
      assertDefinitionSize(flow.name, sample);
      validateDefinition(flow.name, JSON.parse(sample));
    }
    return compiled;
  }

  private createResultsBucket(retention: Duration | undefined): s3.Bucket {
    return new s3.Bucket(this, "Results", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(retention?.toDays() ?? 30), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
  }

  /** What every task role holds: the shared one, and each task's own (`tasks: { name: { ownRole: true } }`). */
  private grantTaskBase(role: iam.IRole, opts: { tracing: boolean; eventBus?: FlowEventBus; secrets?: Record<string, secretsmanager.ISecret> }): void {
    const logGroups = Stack.of(this).formatArn({
      service: "logs",
      resource: "log-group",
      resourceName: `/aws/lambda/${this.functionNamePrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroups, `${logGroups}:*`] }),
    );
    if (opts.tracing) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }));
    }
    // Only the task functions read and write results, and only objects (no deleting). Listing lets
    // S3 answer a missing key (a retry's carried Retrying state that was never written) with
    // NoSuchKey instead of AccessDenied, so a real permission problem is not mistaken for one.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:PutObject", "s3:GetObject"], resources: [this.resultsBucket.arnForObjects("*")] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.resultsBucket.bucketArn] }));
    opts.eventBus?.admitOnPath(role);
    for (const secret of Object.values(opts.secrets ?? {})) secret.grantRead(role);
  }

  /** This construct, or nested stacks of `functionsPerStack` functions each for a large flow. */
  private functionScopes(props: FlowStateMachineProps): Construct[] {
    const perStack = props.functionsPerStack ?? 200;
    const count = this.compiled.tasks.size;
    if (count <= perStack) return [this];
    const scopes: Construct[] = [];
    for (let i = 0; i * perStack < count; i++) {
      scopes.push(new NestedStack(this, `Tasks${i}`, { description: `flowhooks ${props.flow.name}: task functions, part ${i + 1}` }));
    }
    return scopes;
  }

  /** One function per task, `functionsPerStack` to a scope; records who each task runs as. */
  private createTaskFunctions(
    props: FlowStateMachineProps,
    scopes: readonly Construct[],
    code: () => lambda.Code,
    opts: { tracing: boolean; grantBase: (role: iam.IRole) => void; eventBusName?: string; rolePath?: string },
  ): Record<string, lambda.Function> {
    const { flow } = props;
    const nodes = flow.graph().nodes;
    const perStack = props.functionsPerStack ?? 200;
    const resultsEnv: Record<string, string> = {
      FLOWHOOKS_RESULTS_BUCKET: this.resultsBucket.bucketName,
      FLOWHOOKS_RESULT_THRESHOLD_BYTES: String(props.resultThresholdBytes ?? DEFAULT_RESULT_THRESHOLD_BYTES),
    };
    const secretEnv = secretsEnvironment(props.secrets);
    const busEnv: Record<string, string> = opts.eventBusName ? { FLOWHOOKS_EVENT_BUS: opts.eventBusName } : {};
    const functions: Record<string, lambda.Function> = {};
    scopes.forEach((fnScope, i) => {
      const fnCode = code();
      for (const node of nodes.slice(i * perStack, (i + 1) * perStack)) {
        const { fn, role } = createTaskFunction(fnScope, {
          taskName: node.name,
          task: node.task,
          functionName: this.functionName(node.name),
          description: `flowhooks ${flow.name}: task ${node.name}`,
          code: fnCode,
          flowhooksEnvironment: { FLOWHOOKS_TASK: node.name, ...busEnv, ...resultsEnv, ...secretEnv },
          tracing: opts.tracing,
          sharedRole: this.taskRole,
          grantBase: opts.grantBase,
          rolePath: opts.rolePath,
          taskDefaults: props.taskDefaults,
          tasks: props.tasks,
          bundling: props.bundling,
        });
        functions[node.name] = fn;
        this.taskPrincipals[node.name] = role;
      }
    });
    return functions;
  }

  private logOptions(logging: boolean | FlowStateMachineLoggingProps): sfn.LogOptions | undefined {
    if (!logging) return undefined;
    const loggingProps = typeof logging === "object" ? logging : {};
    return {
      destination: loggingProps.destination ?? new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_MONTH }),
      level: loggingProps.level ?? sfn.LogLevel.ALL,
      includeExecutionData: loggingProps.includeExecutionData ?? false,
    };
  }

  /** The sub-flows' state machine ARNs a definition names (`${FlowRun<i>}`). */
  private flowRunSubstitutions(definition: AslDefinition): Record<string, string> {
    return flowRunSubstitutions(this.subFlows, this.flowRuns, JSON.stringify(definition));
  }

  /** The ARN placeholders' values: partition, region and account. */
  private arnSubstitutions(): Record<string, string> {
    const stack = Stack.of(this);
    return { [SUBSTITUTION.partition]: stack.partition, [SUBSTITUTION.region]: stack.region, [SUBSTITUTION.account]: stack.account };
  }

  /** A flow too large for one definition runs its levels in child state machines, started in order. */
  private createPartStateMachines(flowName: string, logOptions: sfn.LogOptions | undefined, tracing: boolean): sfn.StateMachine[] {
    return this.compiled.parts.map(
      (part, k) =>
        new sfn.StateMachine(this, `Part${k}`, {
          stateMachineType: sfn.StateMachineType.STANDARD,
          comment: `flowhooks ${flowName}: levels ${part.fromLevel}-${part.toLevel}`,
          definitionBody: sfn.DefinitionBody.fromFile(writeDefinitionFile(part.definition)),
          definitionSubstitutions: { ...this.arnSubstitutions(), ...this.resultsBucketSubstitution(part.definition), ...this.flowRunSubstitutions(part.definition) },
          logs: logOptions,
          tracingEnabled: tracing,
        }),
    );
  }

  private createStateMachine(stateMachineName: string | undefined, logOptions: sfn.LogOptions | undefined, tracing: boolean): sfn.StateMachine {
    return new sfn.StateMachine(this, "StateMachine", {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // An S3 asset, not an inline DefinitionString: the definition (≈750 bytes a task) would otherwise
      // take most of the parent template's 1 MB, as a Fn::Join larger than the definition itself.
      definitionBody: sfn.DefinitionBody.fromFile(writeDefinitionFile(this.compiled.definition)),
      definitionSubstitutions: {
        ...this.arnSubstitutions(),
        ...this.resultsBucketSubstitution(this.compiled.definition),
        ...Object.fromEntries(this.partStateMachines.map((part, k) => [SUBSTITUTION.part(k), part.stateMachineArn])),
        ...this.flowRunSubstitutions(this.compiled.definition),
      },
      logs: logOptions,
      tracingEnabled: tracing,
    });
  }

  /**
   * The state machines' roles: invoke the task functions (each ARN, or the flow's prefix past
   * `MAX_LISTED_FUNCTIONS`), start the parts, run Distributed Maps; and the definitions name
   * functions by ARN, not by reference, so CloudFormation must create the functions first.
   */
  private grantStateMachines(scopes: readonly Construct[]): void {
    const stack = Stack.of(this);
    const names = [...this.compiled.tasks.keys()];
    const functionArn = (task: string) =>
      stack.formatArn({ service: "lambda", resource: "function", resourceName: this.functionName(task), arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const invokable =
      names.length <= MAX_LISTED_FUNCTIONS
        ? names.map(functionArn)
        : [stack.formatArn({ service: "lambda", resource: "function", resourceName: `${this.functionNamePrefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })];
    const dependOnFunctions = (machine: sfn.StateMachine) => {
      for (const s of scopes) machine.node.addDependency(...(s === this ? Object.values(this.taskFunctions) : [s]));
    };
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: invokable }));
    for (const part of this.partStateMachines) {
      part.addToRolePolicy(new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: invokable }));
      dependOnFunctions(part);
    }
    if (this.partStateMachines.length > 0) this.grantStartParts(stack);
    const machines: [sfn.StateMachine, AslDefinition][] = [
      [this.stateMachine, this.compiled.definition],
      ...this.partStateMachines.map((p, k) => [p, this.compiled.parts[k]!.definition] as [sfn.StateMachine, AslDefinition]),
    ];
    for (const [machine, definition] of machines) if (hasDistributedMap(definition)) this.grantDistributedMaps(machine);
    for (const [machine, definition] of machines) {
      const used = Object.keys(this.flowRunSubstitutions(definition)).map((key) => this.flowRuns[this.subFlows[Number(key.slice("FlowRun".length))]!]!);
      grantFlowRuns(machine, used);
    }
    dependOnFunctions(this.stateMachine);
  }

  /** For `flowhooks emulate` in the user's app: which flow this is and where its resources are. */
  private addEmulatorMetadata(props: FlowStateMachineProps, stub: boolean): void {
    const defaults = props.taskDefaults ?? {};
    const metadata: FlowStateMachineMetadata = {
      version: 1,
      flow: props.flow.name,
      entry: resolve(props.entry),
      ...(props.exportName !== undefined ? { exportName: props.exportName } : {}),
      stateMachineLogicalId: (this.stateMachine.node.defaultChild as CfnResource).logicalId,
      stubBundling: stub,
      secrets: Object.keys(props.secrets ?? {}),
      ...(props.alerts
        ? { alerts: { topic: Boolean(props.alerts.topic), slackWebhookSecret: Boolean(props.alerts.slackWebhookSecret), ...(props.alerts.on ? { on: props.alerts.on } : {}) } }
        : {}),
      ...(Object.keys(this.flowRuns).length > 0 ? { flowRuns: Object.fromEntries(Object.entries(this.flowRuns).map(([name, m]) => [name, m.node.path])) } : {}),
      taskDefaults: {
        memorySize: defaults.memorySize,
        timeoutSeconds: defaults.timeout && !defaults.timeout.isUnresolved() ? defaults.timeout.toSeconds() : undefined,
        runtime: defaults.runtime?.name,
      },
    };
    this.node.addMetadata(FLOW_STATE_MACHINE_METADATA, metadata);
  }

  /** CloudFormation's resource and template size limits, checked once per stack when it synthesizes. */
  private checkStackLimits(stacks: readonly Stack[]): void {
    for (const s of stacks) {
      if (checkedStacks.has(s)) continue;
      checkedStacks.add(s);
      s.node.addValidation({ validate: () => [...stackResourceLimitErrors(s), ...templateSizeErrors(s)] });
    }
  }

  /** What `states:startExecution.sync:2` needs: start the parts, follow and stop their executions, and its managed rule. */
  /** Refuses an `entry` that does not export the flow (every task would fail when deployed), naming the exports found. */
  private assertEntryExportsFlow(props: FlowStateMachineProps): void {
    assertEntryExportsFlow(`FlowStateMachine for flow \`${props.flow.name}\``, resolve(props.entry), props.flow.name, props.exportName);
  }

  private grantStartParts(stack: Stack): void {
    const executions = this.partStateMachines.map((part) =>
      stack.formatArn({ service: "states", resource: "execution", resourceName: `${part.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: this.partStateMachines.map((p) => p.stateMachineArn) }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:DescribeExecution", "states:StopExecution"], resources: executions }));
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources: [stack.formatArn({ service: "events", resource: "rule", resourceName: "StepFunctionsGetEventsForStepFunctionsExecutionRule" })],
      }),
    );
  }

  /**
   * The results bucket's name for a definition that names it (`${ResultsBucket}`: Distributed Maps,
   * and approval states, where `flowhooks resume` reads where the task token is kept); nothing for any other.
   */
  private resultsBucketSubstitution(definition: AslDefinition): Record<string, string> {
    const named = hasDistributedMap(definition) || JSON.stringify(definition).includes(`\${${SUBSTITUTION.resultsBucket}}`);
    return named ? { [SUBSTITUTION.resultsBucket]: this.resultsBucket.bucketName } : {};
  }

  /**
   * What a Distributed Map needs of its state machine's role: start its child executions (of this
   * same state machine), follow, stop and redrive them, read the items and write the map run's
   * results in the results bucket. In a policy of its own, as aws-cdk-lib's DistributedMap does:
   * it names the state machine, so it cannot be the role's default policy, which the state machine
   * depends on. The child executions invoke the task function the role may already invoke.
   */
  private grantDistributedMaps(machine: sfn.StateMachine): void {
    const policy = new iam.Policy(machine, "DistributedMapPolicy");
    machine.role.attachInlinePolicy(policy);
    const stack = Stack.of(this);
    const executions = (pattern: string) =>
      stack.formatArn({ service: "states", resource: "execution", resourceName: `${machine.stateMachineName}${pattern}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // A map run's child executions are named `<state machine>/<map run>:<id>`.
    const mapRunExecutions = executions("/*");
    policy.addStatements(
      new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: [machine.stateMachineArn] }),
      new iam.PolicyStatement({ actions: ["states:DescribeExecution", "states:StopExecution"], resources: [executions(":*"), mapRunExecutions] }),
      new iam.PolicyStatement({ actions: ["states:RedriveExecution"], resources: [mapRunExecutions] }),
      // The items (ItemReader): a stored result's key, named at run time.
      new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [this.resultsBucket.arnForObjects("*")] }),
      // The map run's results (ResultWriter, multipart for large ones) under its own prefix.
      new iam.PolicyStatement({
        actions: ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        resources: [this.resultsBucket.arnForObjects(`${MAP_RESULTS_PREFIX}/*`)],
      }),
    );
    const bucketLogicalId = stack.getLogicalId(this.resultsBucket.node.defaultChild as CfnResource);
    const machineLogicalId = stack.getLogicalId(machine.node.defaultChild as CfnResource);
    Validations.of(policy).acknowledge(
      {
        id: "AwsSolutions::AwsSolutions-IAM5[Resource::<" + bucketLogicalId + ".Arn>/*]",
        reason: "A Distributed Map reads its items from a stored result of this flow's results bucket, whose key names the execution (known at run time only); get only.",
      },
      {
        id: "AwsSolutions::AwsSolutions-IAM5[Resource::<" + bucketLogicalId + `.Arn>/${MAP_RESULTS_PREFIX}/*]`,
        reason: "A Distributed Map's ResultWriter writes its map run's results under this prefix, in objects Step Functions names at run time.",
      },
      {
        id: "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<" + machineLogicalId + ".Name>:*]",
        reason: "A Distributed Map follows and may stop the child executions it starts, whose names Step Functions generates; only executions of this state machine.",
      },
      {
        id: "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<" + machineLogicalId + ".Name>/*]",
        reason: "Redriving an execution redrives its Distributed Map's child executions, named `<state machine>/<map run>:<id>` at run time; only executions of this state machine.",
      },
    );
  }

  /**
   * What to grant to so that one task may use a resource: `bucket.grantRead(fsm.grantPrincipal("load"))`.
   * The task's own role when it has `ownRole: true`; otherwise the role the tasks share, so the
   * grant reaches every task without a role of its own.
   */
  grantPrincipal(taskName: string): iam.IGrantable {
    const role = this.taskPrincipals[taskName];
    if (!role) {
      throw new FlowDefinitionError(
        `FlowStateMachine ${this.node.path}: grantPrincipal("${taskName}") names no task of the flow; use one of: ${Object.keys(this.taskPrincipals).join(", ")}.`,
      );
    }
    return role;
  }

  /** cdk-nag (AwsSolutions) findings that are deliberate, each acknowledged with its reason. */
  private acknowledgeFindings(opts: { prefixInvoke: boolean; logging: boolean; tracing: boolean; runtime: lambda.Runtime }): void {
    const nag = (id: string, finding?: string) => `AwsSolutions::AwsSolutions-${id}${finding ? `[${finding}]` : ""}`;
    const logGroups = `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/${this.functionNamePrefix}*`;
    const logsReason = "Task functions may write only to the log groups of this flow's functions (all named with its prefix); Lambda creates one per function.";
    const results = `Resource::<${Stack.of(this).getLogicalId(this.resultsBucket.node.defaultChild as CfnResource)}.Arn>/*`;
    // The shared role and each task's own role hold the same base permissions.
    for (const role of new Set([this.taskRole, ...Object.values(this.taskPrincipals)])) {
      Validations.of(role).acknowledge(
        { id: nag("IAM5", `Resource::${logGroups}`), reason: logsReason },
        { id: nag("IAM5", `Resource::${logGroups}:*`), reason: logsReason },
        {
          id: nag("IAM5", results),
          reason: "Result keys name the execution and the task, unknown at deploy time; the role may only put and get objects of this flow's results bucket.",
        },
      );
      if (opts.tracing) {
        Validations.of(role).acknowledge({
          id: nag("IAM5", "Resource::*"),
          reason: "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (tracing is on).",
        });
      }
    }
    const anyResource: string[] = [];
    if (opts.logging) anyResource.push("CloudWatch Logs delivery actions (logs:CreateLogDelivery and friends) support no resource-level permissions");
    if (opts.tracing) anyResource.push("X-Ray actions support no resource-level permissions");
    const machines = [this.stateMachine, ...this.partStateMachines];
    for (const machine of machines) {
      if (anyResource.length > 0) Validations.of(machine).acknowledge({ id: nag("IAM5", "Resource::*"), reason: `${anyResource.join("; ")}.` });
      if (opts.prefixInvoke) {
        Validations.of(machine).acknowledge({
          id: nag("IAM5", `Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${this.functionNamePrefix}*`),
          reason: `The flow has more than ${MAX_LISTED_FUNCTIONS} tasks, too many to list each function ARN within IAM's policy size limit; the role may invoke only functions named with this flow's prefix.`,
        });
      }
      if (!opts.logging) Validations.of(machine).acknowledge({ id: nag("SF1"), reason: "Logging was turned off with `logging: false`." });
      if (!opts.tracing) Validations.of(machine).acknowledge({ id: nag("SF2"), reason: "Tracing was turned off with `tracing: false`." });
    }
    for (const part of this.partStateMachines) {
      const logicalId = Stack.of(this).getLogicalId(part.node.defaultChild as CfnResource);
      Validations.of(this.stateMachine).acknowledge({
        id: nag("IAM5", `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalId}.Name>:*`),
        reason: "states:startExecution.sync:2 follows and may stop the child executions it starts, whose names are generated at run time; only executions of this flow's part state machines.",
      });
    }
    Validations.of(this.resultsBucket).acknowledge({
      id: nag("S1"),
      reason: "The results bucket holds transient task results that expire by lifecycle rule; only the task role reads and writes them (CloudTrail data events can audit access where needed).",
    });
    if (opts.runtime.name === lambda.Runtime.NODEJS_22_X.name) {
      for (const fn of Object.values(this.taskFunctions)) {
        Validations.of(fn).acknowledge({
          id: nag("L1"),
          reason: "taskDefaults.runtime chose Node.js 22, which flowhooks supports (the bundle then targets node22); the default is Node.js 24.",
        });
      }
    }
  }
}

/** The flow's code, one `lambda.Code` per call (CDK binds an asset to one stack); the same bundle directory means one asset. */
function taskCode(props: FlowStateMachineProps, stub: boolean): () => lambda.Code {
  if (stub) {
    return () => lambda.Code.fromInline('exports.task = exports.events = exports.reconcile = async () => { throw new Error("flowhooks: this function was synthesized with stubBundling"); };');
  }
  const dir = bundleFlow({ entry: props.entry, flowName: props.flow.name, exportName: props.exportName, bundling: props.bundling, target: bundleTarget(props.taskDefaults, props.tasks) });
  return () => lambda.Code.fromAsset(dir);
}

function validateProps(props: FlowStateMachineProps, stub: boolean): void {
  if (!props || !isFlowLike(props.flow)) {
    throw new FlowDefinitionError("FlowStateMachine needs `flow`: the Flow object to deploy (new FlowStateMachine(this, id, { flow, entry })).");
  }
  const owner = `FlowStateMachine for flow \`${props.flow.name}\``;
  if (props.flow.name.includes("${")) {
    throw new FlowDefinitionError(`${owner}: the flow's name contains "\${", which CloudFormation's DefinitionSubstitutions would read as a placeholder; rename the flow.`);
  }
  if (typeof props.entry !== "string" || props.entry === "") {
    throw new FlowDefinitionError(`${owner} needs \`entry\`: the path of the module that exports the flow (e.g. entry: "flows/orders.ts").`);
  }
  if (!stub && !existsSync(resolve(props.entry))) {
    throw new FlowDefinitionError(`${owner}: \`entry\` ${resolve(props.entry)} does not exist; set it to the module that exports the flow.`);
  }
  if (props.exportName !== undefined && (typeof props.exportName !== "string" || props.exportName === "")) {
    throw new FlowDefinitionError(`${owner}: \`exportName\` must be the name of the export that holds the flow.`);
  }
  if ((props as { stateMachineType?: unknown }).stateMachineType === sfn.StateMachineType.EXPRESS) {
    throw new FlowDefinitionError(
      `${owner}: flows deploy as Standard workflows only (Express workflows emit no status events and keep no history); remove \`stateMachineType\`.`,
    );
  }
  validateTaskFunctionOptions(owner, props.flow, props.taskDefaults, props.tasks);
  validateFlowRuns(owner, props.flow, props.flowRuns);
  if (props.schedule !== undefined) validateSchedule(owner, props.flow, props.schedule);
  validateBundlingOptions(owner, props.bundling);
  if (props.alerts !== undefined) validateAlertsProps(owner, props.alerts);
  const secretVariables = new Map<string, string>();
  for (const [name, secret] of Object.entries(props.secrets ?? {})) {
    // `db-password` and `db.password` would share one variable: the last would silently win.
    const variable = secretArnVariable(name);
    const other = secretVariables.get(variable);
    if (other !== undefined) {
      throw new FlowDefinitionError(`${owner}: secret names \`${other}\` and \`${name}\` both map to ${variable}; rename one of them.`);
    }
    secretVariables.set(variable, name);
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new FlowDefinitionError(`${owner}: secret name \`${name}\` must be the name the code passes to secrets.get(), using letters, digits, "_", "-" or ".".`);
    }
    if (!secret || typeof (secret as secretsmanager.ISecret).grantRead !== "function" || typeof (secret as secretsmanager.ISecret).secretArn !== "string") {
      throw new FlowDefinitionError(`${owner}: \`secrets.${name}\` must be a Secrets Manager secret (secretsmanager.Secret.fromSecretNameV2(this, "Id", "name")).`);
    }
  }
  const maxChars = props.maxDefinitionChars;
  if (maxChars !== undefined && (!Number.isInteger(maxChars) || maxChars < 1000 || maxChars > 1_000_000)) {
    throw new FlowDefinitionError(`${owner}: \`maxDefinitionChars\` is ${maxChars}; use a whole number from 1000 to 1000000 (Step Functions allows 1048576 characters, ARNs grow on substitution).`);
  }
  const threshold = props.resultThresholdBytes;
  if (threshold !== undefined && (!Number.isInteger(threshold) || threshold < 0 || threshold > 128 * 1024)) {
    throw new FlowDefinitionError(`${owner}: \`resultThresholdBytes\` is ${threshold}; use a whole number of bytes from 0 to 131072 (larger results must leave the 256 KiB execution JSON).`);
  }
  const retention = props.resultsRetention;
  if (retention !== undefined && !retention.isUnresolved() && (retention.toDays({ integral: false }) < 1 || !Number.isInteger(retention.toDays({ integral: false })))) {
    throw new FlowDefinitionError(`${owner}: \`resultsRetention\` must be a whole number of days, at least 1 (an S3 lifecycle expiration).`);
  }
  const quota = props.accountConcurrency;
  if (quota !== undefined && (!Number.isInteger(quota) || quota < UNRESERVED_CONCURRENCY_FLOOR)) {
    throw new FlowDefinitionError(`${owner}: \`accountConcurrency\` is ${quota}; use your account's Lambda concurrent executions quota in this Region (Service Quotas), a whole number of at least ${UNRESERVED_CONCURRENCY_FLOOR}.`);
  }
  const perStack = props.functionsPerStack;
  if (perStack !== undefined && (!Number.isInteger(perStack) || perStack < 1 || perStack > 450)) {
    throw new FlowDefinitionError(`${owner}: \`functionsPerStack\` is ${perStack}; use a whole number from 1 to 450 (CloudFormation allows 500 resources per stack).`);
  }
}

/**
 * The state machine's last step: reports its own ending (Step Functions' status event is best
 * effort) with a native `events:putEvents` task, so it costs no Lambda. A failed report must not
 * change the execution's result, so its errors are caught and the flow ends as decided.
 */
export function finalReportState(flowName: string, outcome: "Succeeded" | "Failed", eventBusName: string): AslState {
  const failed = outcome === "Failed";
  return {
    Type: "Task",
    Resource: PUT_EVENTS,
    Parameters: {
      Entries: [
        {
          EventBusName: eventBusName,
          Source: TASK_EVENT_SOURCE,
          DetailType: FLOW_STATE_CHANGE,
          Detail: {
            flow: flowName,
            "executionArn.$": "$$.Execution.Id",
            status: failed ? "FAILED" : "SUCCEEDED",
            ...(failed ? { error: FLOW_FAILED_ERROR, "cause.$": `${FLOW_OUTCOME_PATH}.cause` } : {}),
          },
        },
      ],
    },
    ResultPath: null,
    Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }],
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.flowhooksReportError", Next: failed ? STATE_NAMES.failed : STATE_NAMES.succeeded }],
  };
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/** `<prefix><task>`, shortened with a hash when it would pass Lambda's 64-character limit. */
export function taskFunctionName(prefix: string, task: string): string {
  const room = 64 - prefix.length;
  return task.length <= room ? `${prefix}${task}` : `${prefix}${task.slice(0, room - 9)}-${shortHash(task)}`;
}

/** Resources of `stack` itself (nested stacks count as one resource of their parent). */
export function countStackResources(stack: Stack): number {
  let count = 0;
  const visit = (c: IConstruct) => {
    for (const child of c.node.children) {
      if (child instanceof Stack) continue;
      if (CfnResource.isCfnResource(child)) count++;
      visit(child);
    }
  };
  visit(stack);
  return count;
}

/** CloudFormation's limit on a template's size in bytes (templates deploy from S3; cfn-lint E1002 checks the same figure). */
export const MAX_TEMPLATE_BYTES = 1_000_000;

/** The placeholders the definition file uses, filled by CloudFormation's DefinitionSubstitutions. */
export const SUBSTITUTION = { partition: "Partition", region: "Region", account: "AccountId", resultsBucket: "ResultsBucket", part: (k: number) => `Part${k}` } as const;

/** True when a definition (or a branch of it) holds a Distributed Map: its state machine's role then needs `grantDistributedMaps`. */
function hasDistributedMap(definition: AslDefinition): boolean {
  return JSON.stringify(definition).includes('"Mode":"DISTRIBUTED"');
}

/** `text` with the substitutions CloudFormation makes, each as long as a real value can be (for size checks and validation). */
function sampleDefinitionText(text: string): string {
  return text
    .replaceAll(`\${${SUBSTITUTION.partition}}`, "aws-us-gov")
    .replaceAll(`\${${SUBSTITUTION.region}}`, "ap-southeast-5")
    .replaceAll(`\${${SUBSTITUTION.account}}`, "123456789012")
    // S3 allows bucket names of 63 characters.
    .replaceAll(`\${${SUBSTITUTION.resultsBucket}}`, "x".repeat(63))
    .replace(/\$\{Part(\d+)\}/g, (_m, k: string) => `arn:aws-us-gov:states:ap-southeast-5:123456789012:stateMachine:${"x".repeat(70)}-Part${k}`)
    // State machine names take up to 80 characters.
    .replace(/\$\{FlowRun(\d+)\}/g, (_m, k: string) => `arn:aws-us-gov:states:ap-southeast-5:123456789012:stateMachine:${"x".repeat(72)}-Run${k.padStart(3, "0")}`);
}

/** Writes the definition to a file named by its content hash, for `DefinitionBody.fromFile` (an S3 asset). */
function writeDefinitionFile(definition: unknown): string {
  const text = JSON.stringify(definition);
  const dir = join(tmpdir(), "flowhooks-definitions");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash("sha256").update(text).digest("hex")}.json`);
  if (!existsSync(file)) writeFileSync(file, text);
  return file;
}

/** The bytes of `stack`'s template as `cdk synth` writes it (one-space indent). */
export function templateBytes(stack: Stack): number {
  // _toCloudFormation is what the synthesizer itself writes; validations run before the file exists.
  const template = stack.resolve((stack as unknown as { _toCloudFormation(): unknown })._toCloudFormation());
  return Buffer.byteLength(JSON.stringify(template, undefined, 1));
}

function templateSizeErrors(stack: Stack): string[] {
  const bytes = templateBytes(stack);
  return bytes > MAX_TEMPLATE_BYTES
    ? [
        `Stack ${stack.node.path} synthesizes to a ${bytes}-byte template; CloudFormation accepts ${MAX_TEMPLATE_BYTES}. Lower FlowStateMachine's ` +
          "`functionsPerStack` so fewer task functions share a template, or move other resources (or flows) to separate stacks.",
      ]
    : [];
}

function stackResourceLimitErrors(stack: Stack): string[] {
  const count = countStackResources(stack);
  return count > MAX_STACK_RESOURCES
    ? [
        `Stack ${stack.node.path} has ${count} resources; CloudFormation allows ${MAX_STACK_RESOURCES}. Lower FlowStateMachine's ` +
          "`functionsPerStack` so task functions move to nested stacks, or put flows in separate stacks.",
      ]
    : [];
}


/** `FLOWHOOKS_SECRET_ARN_<NAME>` for each secret: where `secrets.get(name)` finds it in Lambda. */
export function secretsEnvironment(secrets: Record<string, secretsmanager.ISecret> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets ?? {}).map(([name, secret]) => [secretArnVariable(name), secret.secretArn]));
}
