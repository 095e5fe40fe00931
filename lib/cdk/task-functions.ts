/**
 * How a task function is configured: `taskDefaults` → `tasks[name]` → the task's own
 * `memorySize`/`timeoutSeconds`, later ones winning; validated at synth, turned into the props of
 * one `lambda.Function`, and the role it runs with (the flow's shared role, or its own).
 */
import { Duration, Token, Validations, type Size } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { Flow } from "../core/flow";
import { FlowDefinitionError } from "../core/errors";
import { sourceMapEnvironment, type FlowBundlingOptions } from "./bundling-options";

/**
 * The runtime of task and handler functions unless `taskDefaults.runtime` or a task's `runtime` says
 * otherwise: Node.js 24 (GA in Lambda since November 2025), named explicitly rather than through
 * `NODEJS_LATEST`, whose meaning moves with aws-cdk-lib's version while the bundle's target must not.
 */
export const DEFAULT_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Lambda settings for task functions, as `lambda.Function` takes them. */
export interface TaskFunctionOptions {
  /** Memory in MB (a task's own `memorySize` wins). @default 256 */
  readonly memorySize?: number;
  /** Lambda timeout for tasks without `timeoutSeconds` (a task's own `timeoutSeconds` wins). @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /**
   * The runtime: Node.js 22 or newer. The flow's one bundle is built for the oldest Node.js runtime
   * among the task functions (esbuild target `node22` when one runs `nodejs22.x`).
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;
  /**
   * The instruction set. The bundle is pure JavaScript, so it runs on either; Graviton (arm64)
   * costs about 20% less per GB-second than x86_64. Choose X86_64 for layers or `nodeModules`
   * built for x86 only.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * Environment variables, merged key by key over `taskDefaults.environment`. Names starting with
   * `FLOWHOOKS_` are flowhooks' own and cannot be set; nor can those Lambda reserves (`AWS_REGION`, …).
   * @default - flowhooks' own variables only
   */
  readonly environment?: Record<string, string>;
  /** The VPC to run in (the function gets ENIs in `vpcSubnets`). @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** Subnets of `vpc` to place the function in. @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups for the function in `vpc`. @default - a new security group per function, all outbound allowed */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Lambda layers (at most 5), built for the function's `architecture`. Replaces, not appends to, `taskDefaults.layers`. @default - none */
  readonly layers?: lambda.ILayerVersion[];
  /** `/tmp` size, from 512 MiB to 10240 MiB. @default Size.mebibytes(512) */
  readonly ephemeralStorageSize?: Size;
  /** Concurrent executions reserved for (and capping) the function; 0 stops it from running. @default - the account's unreserved pool */
  readonly reservedConcurrentExecutions?: number;
  /**
   * How long the function's log group `/aws/lambda/<function name>` keeps logs: flowhooks creates
   * that log group. A function deployed before without it already has one; delete it first, or pass
   * it as `logGroup`.
   * @default - Lambda's log group, kept forever
   */
  readonly logRetention?: logs.RetentionDays;
  /** A log group the function writes to instead of its own (the role gets write access). Not with `logRetention`. @default - `/aws/lambda/<function name>` */
  readonly logGroup?: logs.ILogGroup;
  /** X-Ray tracing of the function. @default - Tracing.ACTIVE when the construct's `tracing` is on, else DISABLED */
  readonly tracing?: lambda.Tracing;
}

/** Settings for one task's function: `TaskFunctionOptions`, plus whether it gets a role of its own. */
export interface TaskOptions extends TaskFunctionOptions {
  /**
   * Run this task with its own IAM role (with the same base permissions as the shared role), so
   * `grant*(fsm.grantPrincipal(name))` reaches this task alone. Each is one IAM role of the
   * account's 1,000 (a quota AWS can raise), so give own roles to the tasks that need them.
   * @default false - the flow's shared task role
   */
  readonly ownRole?: boolean;
  /**
   * A mapped task only (`t.map(...)`): how its children run. `"inline"`: a `Map` state inside the
   * execution (items and the children's outputs must fit its 256 KiB JSON and 25,000 history
   * events). `"distributed"`: a Distributed Map, one child execution per item, items and results
   * through the flow's results bucket. `"auto"`: the task's prepare step picks distributed when the
   * items could not fit inline (docs/mapping.md).
   * @default "auto"
   */
  readonly mapMode?: "auto" | "inline" | "distributed";
}

const MAP_MODES: readonly string[] = ["auto", "inline", "distributed"];

/** `TaskFunctionOptions` under its earlier name. */
export type TaskFunctionDefaults = TaskFunctionOptions;

const DEFAULT_MEMORY_MB = 256;
const DEFAULT_TIMEOUT = Duration.minutes(5);
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** Seconds a function outlives its task's `timeoutSeconds`, so flowhooks reports TimedOut before Lambda kills it. */
export const TIMEOUT_HEADROOM_SECONDS = 5;
const MAX_LAYERS = 5;
const RESERVED_PREFIX = "FLOWHOOKS_";
/** Variables the Lambda runtime sets, which a function's configuration may not. */
const LAMBDA_RESERVED = new Set([
  "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
]);

/**
 * Checks `taskDefaults` and `tasks` against the flow before anything is created: unknown task
 * names, values Lambda refuses, variables flowhooks owns.
 */
export function validateTaskFunctionOptions(owner: string, flow: Flow, taskDefaults: TaskFunctionOptions | undefined, tasks: Record<string, TaskOptions> | undefined): void {
  if (taskDefaults !== undefined) {
    validateOptions(owner, "taskDefaults", taskDefaults);
    if ((taskDefaults as TaskOptions).ownRole !== undefined) {
      throw new FlowDefinitionError(`${owner}: \`taskDefaults.ownRole\` is not an option; give a role of its own to one task at a time with \`tasks: { name: { ownRole: true } }\`.`);
    }
    if ((taskDefaults as TaskOptions).mapMode !== undefined) {
      throw new FlowDefinitionError(`${owner}: \`taskDefaults.mapMode\` is not an option; set it per mapped task with \`tasks: { name: { mapMode: "inline" } }\`.`);
    }
  }
  const nodes = flow.graph().nodes;
  const known = nodes.map((n) => n.name);
  for (const [name, options] of Object.entries(tasks ?? {})) {
    if (!known.includes(name)) {
      throw new FlowDefinitionError(`${owner}: \`tasks\` names \`${name}\`, which is not a task of the flow; use one of: ${known.join(", ")}.`);
    }
    validateOptions(owner, `tasks.${name}`, options ?? {});
    const mapMode = options?.mapMode;
    if (mapMode !== undefined) {
      if (!MAP_MODES.includes(mapMode)) {
        throw new FlowDefinitionError(`${owner}: \`tasks.${name}.mapMode\` is ${JSON.stringify(mapMode)}; use "auto", "inline" or "distributed".`);
      }
      const mapped = nodes.filter((n) => n.mapped).map((n) => n.name);
      if (!mapped.includes(name)) {
        throw new FlowDefinitionError(
          `${owner}: \`tasks.${name}.mapMode\` is set, but task \`${name}\` is not mapped (it runs once, not with ${name}.map(...)); ` +
            (mapped.length > 0 ? `remove it, or set it on a mapped task: ${mapped.join(", ")}.` : "remove it: the flow maps no task."),
        );
      }
    }
  }
  for (const node of nodes) {
    const seconds = node.task.timeoutSeconds;
    if (seconds !== undefined && Math.ceil(seconds) + TIMEOUT_HEADROOM_SECONDS > LAMBDA_MAX_TIMEOUT_SECONDS) {
      throw new FlowDefinitionError(
        `Task \`${node.name}\` has timeoutSeconds ${seconds}; a task function runs at most ${LAMBDA_MAX_TIMEOUT_SECONDS - TIMEOUT_HEADROOM_SECONDS} s ` +
          `(Lambda's 15 minutes less flowhooks' headroom); lower it or split the work into several tasks.`,
      );
    }
    const merged = mergeOptions(taskDefaults, tasks?.[node.name]);
    if (merged.logRetention !== undefined && merged.logGroup !== undefined) {
      throw new FlowDefinitionError(`${owner}: task \`${node.name}\` gets both \`logRetention\` and \`logGroup\`; set the retention on the log group you pass, and drop \`logRetention\`.`);
    }
    if ((merged.vpcSubnets !== undefined || merged.securityGroups !== undefined) && merged.vpc === undefined) {
      throw new FlowDefinitionError(`${owner}: task \`${node.name}\` gets \`vpcSubnets\` or \`securityGroups\` without \`vpc\`; set \`vpc\` too.`);
    }
  }
}

function validateOptions(owner: string, at: string, o: TaskOptions): void {
  const fail = (message: string) => {
    throw new FlowDefinitionError(`${owner}: \`${at}.${message}`);
  };
  if (o.memorySize !== undefined && (!Number.isInteger(o.memorySize) || o.memorySize < 128 || o.memorySize > 10240)) {
    fail(`memorySize\` is ${o.memorySize}; Lambda takes a whole number of MB from 128 to 10240.`);
  }
  if (o.timeout !== undefined && !o.timeout.isUnresolved() && (o.timeout.toSeconds() < 1 || o.timeout.toSeconds() > LAMBDA_MAX_TIMEOUT_SECONDS)) {
    fail(`timeout\` is ${o.timeout.toHumanString()}; it must be between 1 second and 15 minutes (Lambda's limit).`);
  }
  if (o.runtime !== undefined && (o.runtime.family !== lambda.RuntimeFamily.NODEJS || /^nodejs(1\d|20)\./.test(o.runtime.name))) {
    fail(`runtime\` is ${o.runtime.name}; flowhooks needs Node.js 22 or newer: use lambda.Runtime.NODEJS_24_X (the default) or NODEJS_22_X.`);
  }
  if (o.architecture !== undefined && !(o.architecture instanceof lambda.Architecture)) {
    fail(`architecture\` must be lambda.Architecture.ARM_64 or lambda.Architecture.X86_64.`);
  }
  if (o.layers !== undefined && o.layers.length > MAX_LAYERS) {
    fail(`layers\` lists ${o.layers.length} layers; Lambda allows ${MAX_LAYERS} per function; merge some of them.`);
  }
  const storage = o.ephemeralStorageSize;
  const mib = storage?.toMebibytes();
  if (mib !== undefined && !Token.isUnresolved(mib)) {
    if (mib < 512 || mib > 10240) fail(`ephemeralStorageSize\` is ${mib} MiB; Lambda takes Size.mebibytes(512) to Size.mebibytes(10240).`);
  }
  const reserved = o.reservedConcurrentExecutions;
  if (reserved !== undefined && !Token.isUnresolved(reserved) && (!Number.isInteger(reserved) || reserved < 0)) {
    fail(`reservedConcurrentExecutions\` is ${reserved}; use a whole number from 0 (the function never runs) up to the account's concurrency.`);
  }
  if (o.tracing !== undefined && !Object.values(lambda.Tracing).includes(o.tracing)) {
    fail(`tracing\` is ${String(o.tracing)}; use lambda.Tracing.ACTIVE, PASS_THROUGH or DISABLED.`);
  }
  if (o.ownRole !== undefined && typeof o.ownRole !== "boolean") fail(`ownRole\` must be true or false.`);
  for (const [name, value] of Object.entries(o.environment ?? {})) {
    if (name.startsWith(RESERVED_PREFIX)) {
      fail(`environment\` sets ${name}; variables starting with ${RESERVED_PREFIX} are flowhooks' own and cannot be overridden; rename it.`);
    }
    if (LAMBDA_RESERVED.has(name)) fail(`environment\` sets ${name}, which Lambda reserves for the runtime; rename it.`);
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) fail(`environment\` sets \`${name}\`; Lambda variable names are letters, digits and "_", starting with a letter.`);
    if (typeof value !== "string") fail(`environment.${name}\` is ${typeof value}; variable values are strings (String(value), or a token).`);
  }
}

/** A task setting the key drops these of the defaults: they are one choice, or belong to another VPC. */
const REPLACES: Record<string, readonly (keyof TaskFunctionOptions)[]> = {
  logGroup: ["logRetention"],
  logRetention: ["logGroup"],
  vpc: ["vpcSubnets", "securityGroups"],
};

/**
 * `taskDefaults` then `tasks[name]`, the later winning; `environment` merges key by key. A task that
 * sets `logGroup` drops the defaults' `logRetention` (and the reverse), and one that sets `vpc` drops
 * the defaults' subnets and security groups, which belong to another VPC.
 */
/** Lambda's default concurrent executions quota per account and Region (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1_000;
/** Concurrency Lambda keeps unreserved for functions without reserved concurrency (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). */
export const UNRESERVED_CONCURRENCY_FLOOR = 100;

/** The concurrent executions the flow's task functions reserve in total (`reservedConcurrentExecutions`, tokens left out), and how many tasks reserve any. */
export function reservedConcurrency(flow: Flow, taskDefaults: TaskFunctionOptions | undefined, tasks: Record<string, TaskOptions> | undefined): { total: number; tasks: number } {
  let total = 0;
  let reserving = 0;
  for (const node of flow.graph().nodes) {
    const reserved = mergeOptions(taskDefaults, tasks?.[node.name]).reservedConcurrentExecutions;
    if (reserved === undefined || Token.isUnresolved(reserved) || reserved === 0) continue;
    total += reserved;
    reserving++;
  }
  return { total, tasks: reserving };
}

function mergeOptions(defaults: TaskFunctionOptions | undefined, forTask: TaskOptions | undefined): TaskOptions {
  const merged: Record<string, unknown> = { ...defaults };
  const sets = (key: string) => (forTask as Record<string, unknown> | undefined)?.[key] !== undefined;
  for (const [key, replaced] of Object.entries(REPLACES)) if (sets(key)) for (const r of replaced) delete merged[r];
  for (const [key, value] of Object.entries(forTask ?? {})) if (value !== undefined) merged[key] = value;
  return { ...(merged as TaskOptions), environment: { ...defaults?.environment, ...forTask?.environment } };
}

/** What `createTaskFunction` needs from the construct. */
/**
 * The esbuild target of the flow's one bundle: the oldest Node.js among the functions that run it
 * (every task function, and the handler on DEFAULT_RUNTIME), so code built for Node 24 never lands
 * on a `nodejs22.x` function.
 */
export function bundleTarget(taskDefaults: TaskFunctionOptions | undefined, tasks: Record<string, TaskOptions> | undefined): string {
  const runtimes = [DEFAULT_RUNTIME, taskDefaults?.runtime ?? DEFAULT_RUNTIME, ...Object.values(tasks ?? {}).map((t) => t.runtime)];
  const majors = runtimes.flatMap((r) => {
    const major = r && /^nodejs(\d+)\./.exec(r.name)?.[1];
    return major ? [Number(major)] : [];
  });
  return `node${Math.min(...majors)}`;
}

export interface TaskFunctionRequest {
  /** The task's name. */
  readonly taskName: string;
  /** The task's own settings (they win over the construct's). */
  readonly task: { readonly memorySize?: number; readonly timeoutSeconds?: number };
  readonly functionName: string;
  readonly description: string;
  readonly code: lambda.Code;
  /** The variables flowhooks sets (`FLOWHOOKS_*`): nothing may override them. */
  readonly flowhooksEnvironment: Record<string, string>;
  /** The construct's `tracing`, the default of each function's. */
  readonly tracing: boolean;
  /** The flow's shared task role. */
  readonly sharedRole: iam.IRole;
  /** Gives a role flowhooks' base permissions (logs, X-Ray, events, secrets): applied to each own role. */
  readonly grantBase: (role: iam.IRole) => void;
  /** The IAM path of an own role (the event bus admits its flows' task roles by path). @default - no path */
  readonly rolePath?: string;
  readonly taskDefaults?: TaskFunctionOptions;
  readonly tasks?: Record<string, TaskOptions>;
  readonly bundling?: FlowBundlingOptions;
}

/** One task's function and the role it runs with, created in `scope`. */
export function createTaskFunction(scope: Construct, request: TaskFunctionRequest): { fn: lambda.Function; role: iam.IRole } {
  const { taskName: name } = request;
  const o = mergeOptions(request.taskDefaults, request.tasks?.[name]);
  let role = request.sharedRole;
  if (o.ownRole) {
    role = new iam.Role(scope, `TaskRole-${name}`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs task ${name} (${request.functionName}) of a flowhooks flow`,
      path: request.rolePath,
    });
    request.grantBase(role);
  }
  if (o.vpc) grantVpcAccess(role);
  if (o.logGroup) o.logGroup.grantWrite(role);
  const logGroup =
    o.logGroup ??
    (o.logRetention !== undefined
      ? new logs.LogGroup(scope, `TaskLogs-${name}`, { logGroupName: `/aws/lambda/${request.functionName}`, retention: o.logRetention })
      : undefined);
  const timeout =
    request.task.timeoutSeconds !== undefined ? Duration.seconds(Math.ceil(request.task.timeoutSeconds) + TIMEOUT_HEADROOM_SECONDS) : (o.timeout ?? DEFAULT_TIMEOUT);
  const fn = new lambda.Function(scope, `Task-${name}`, {
    functionName: request.functionName,
    description: request.description,
    runtime: o.runtime ?? DEFAULT_RUNTIME,
    architecture: o.architecture ?? lambda.Architecture.ARM_64,
    handler: "index.task",
    code: request.code,
    role,
    memorySize: request.task.memorySize ?? o.memorySize ?? DEFAULT_MEMORY_MB,
    timeout,
    environment: { ...o.environment, ...sourceMapEnvironment(request.bundling, o.environment), ...request.flowhooksEnvironment },
    tracing: o.tracing ?? (request.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED),
    vpc: o.vpc,
    vpcSubnets: o.vpcSubnets,
    securityGroups: o.securityGroups,
    layers: o.layers,
    ephemeralStorageSize: o.ephemeralStorageSize,
    reservedConcurrentExecutions: o.reservedConcurrentExecutions,
    logGroup,
  });
  return { fn, role };
}

const vpcRoles = new WeakSet<iam.IRole>();

/** A role given to `lambda.Function` does not get VPC access from it; a function it makes itself would. */
function grantVpcAccess(role: iam.IRole): void {
  if (vpcRoles.has(role)) return;
  vpcRoles.add(role);
  role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSLambdaVPCAccessExecutionRole"));
  Validations.of(role).acknowledge({
    id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
    reason: "A task in a VPC needs to create and delete its network interfaces; AWS's managed policy is what Lambda documents for it (and what lambda.Function attaches to roles it creates).",
  });
}
