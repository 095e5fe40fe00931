/**
 * Synthesizes a flow's stack in-process (real bundling: the code that `cdk deploy` ships) and reads
 * back what the emulator needs from the cloud assembly: the state machine's definition with its
 * CloudFormation references resolved to local placeholders, and each Lambda function's name,
 * timeout, environment and asset folder. Nested stack templates are read too.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Flow } from "../core/flow";
import type { FlowRunTask } from "../core/control";
import type { RunnableFlow } from "../core/graph";
import type { FlowStateMachineProps } from "../cdk/flow-state-machine";
import { notifierInfo } from "../notify/notifier";
import { localSecretVariable } from "../aws/secrets";
import { slackSecretVariables } from "./stack-channels";
import { AssemblyError } from "./errors";

/** The account, region and partition placeholder ARNs use. */
export const LOCAL_ACCOUNT = "123456789012";
export const LOCAL_REGION = "us-east-1";
const PSEUDO: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": LOCAL_REGION,
  "AWS::AccountId": LOCAL_ACCOUNT,
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::NoValue": "",
};

/** A Lambda function of the synthesized stack, as the emulator runs it. */
export interface SynthesizedFunction {
  logicalId: string;
  functionName: string;
  /** The placeholder ARN the definition names it by. */
  arn: string;
  /** `index.<export>`. */
  handler: string;
  timeoutSeconds: number;
  memorySize: number;
  /** Its environment variables, references resolved to placeholders. */
  environment: Record<string, string>;
  /** The folder holding its bundled code (`index.mjs`). */
  assetDir: string;
  /** Whether it is deployed into a VPC (`VpcConfig`), which the emulator does not reproduce. */
  vpc?: boolean;
  /** How many layers it is deployed with; their contents are not loaded here. */
  layers?: number;
  /** `arm64` or `x86_64` as deployed; the emulator runs on this machine's. */
  architecture?: string;
}

/**
 * One line naming what of the deployed functions this emulation does not reproduce (VPC
 * placement, layers' contents, architecture), or undefined when none of them is set.
 */
export function notEmulatedLine(functions: readonly SynthesizedFunction[], hostArch: string = process.arch): string | undefined {
  const tasks = (pick: (f: SynthesizedFunction) => boolean) =>
    functions.filter(pick).map((f) => f.environment.FLOWHOOKS_TASK ?? f.functionName);
  const inVpc = tasks((f) => Boolean(f.vpc));
  const withLayers = tasks((f) => (f.layers ?? 0) > 0);
  if (inVpc.length === 0 && withLayers.length === 0) return undefined;
  const parts = [
    ...(inVpc.length ? [`VPC placement (${inVpc.join(", ")}: they reach the network from this machine)`] : []),
    ...(withLayers.length ? [`layers' contents (${withLayers.join(", ")}: imports resolve from the bundle and this machine's node_modules)`] : []),
  ];
  const host = hostArch === "arm64" ? "arm64" : hostArch === "x64" ? "x86_64" : hostArch;
  const archs = [...new Set(functions.map((f) => f.architecture).filter((a): a is string => Boolean(a) && a !== host))];
  if (archs.length) parts.push(`the ${archs.join("/")} architecture (runs on this machine's ${host})`);
  return `Not emulated: ${parts.join("; ")}.`;
}

export interface SynthesizedFlow {
  /** The cloud assembly's folder. */
  outdir: string;
  stackName: string;
  /** The state machine's placeholder ARN. */
  stateMachineArn: string;
  /** The definition as deployed (JSON text), references resolved. */
  definitionString: string;
  /** A split flow's child state machines' definitions, by placeholder ARN (as the main definition names them). @default - none */
  parts?: Map<string, string>;
  /** The definitions of the flows the flow runs with flowRun (FlowStateMachines of their own in the stack), by placeholder ARN. @default - none */
  subFlows?: Map<string, string>;
  /** Every Lambda function of the stack and its nested stacks, by function name. */
  functions: Map<string, SynthesizedFunction>;
  /** The SNS topic alerts go to, when the stack has one (placeholder ARN). */
  alertTopicArn?: string;
}

export interface SynthesizeOptions {
  flow: Flow;
  /** The module that exports the flow (bundled). */
  entry: string;
  /** @default - the export that is the flow */
  exportName?: string;
  /** Extra FlowStateMachine props (taskDefaults, alerts…). @default {} */
  props?: Partial<Omit<FlowStateMachineProps, "flow" | "entry" | "exportName">>;
  /** Where the cloud assembly goes. @default - a new folder under the OS temp dir */
  outdir?: string;
  /** The webhook `--slack-webhook-url` gives: a local value for every Slack secret. @default - none */
  slackWebhookUrl?: string;
}

type Json = Record<string, any>;

/**
 * The bundle keeps `@aws-sdk/*` external (the Lambda runtime ships it); a `node_modules` link next to
 * the assembly lets the in-process import resolve it from flowhooks' own dependencies.
 */
export function linkSdk(root: string): void {
  const link = join(root, "node_modules");
  // existsSync follows the link: one left dangling (the checkout it pointed into was deleted) is replaced below.
  if (existsSync(link)) return;
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@aws-sdk/client-eventbridge/package.json");
  try {
    // An assembly inside the user's app already resolves it from the app's node_modules.
    if (createRequire(join(root, "index.mjs")).resolve("@aws-sdk/client-eventbridge/package.json") === pkg) return;
  } catch {
    // not resolvable from there: link it
  }
  // Made aside and renamed into place: atomic, so processes linking the same assembly at once never fail on each other.
  const aside = `${link}.${process.pid}.${randomUUID()}`;
  symlinkSync(resolve(dirname(pkg), "..", ".."), aside, "dir");
  renameSync(aside, link);
}

/** The id of the emulated stack's artifact in the cloud assembly. */
export const EMULATED_STACK_ID = "Emulate";

/** The emulated stack's name for a flow. */
export function emulatedStackName(flow: Flow): string {
  return `flowhooks-emulate-${flow.name.replace(/[^A-Za-z0-9-]/g, "-")}`.slice(0, 128);
}

/**
 * The secret names the notifiers of the flow and its tasks read, as the emulated stack gives them.
 * A secret whose notifiers all have a `whenMissing` fallback is given only when it has a local value
 * (`hasValue`), so without one the emulation takes the fallback, as a deployment without it would.
 */
export function notifierSecrets(flow: Flow, hasValue: (name: string) => boolean = () => true): string[] {
  const handlers = [...flow.stateHandlers, ...flow.graph().nodes.flatMap((n) => n.stateHandlers)];
  const infos = handlers.flatMap((h) => notifierInfo(h) ?? []).filter((i) => i.secret !== undefined);
  const needed = (name: string) => infos.some((i) => i.secret === name && i.fallback === undefined) || hasValue(name);
  return [...new Set(infos.map((i) => i.secret!))].filter(needed).sort();
}

/** Synthesizes the flow's stack with real bundling and reads the assembly. */
export async function synthesizeFlow(options: SynthesizeOptions): Promise<SynthesizedFlow> {
  // Loaded here, not at the top: emulating an assembly synthesized earlier needs no CDK.
  const [{ App, Stack }, { Secret }, { FlowStateMachine }] = await Promise.all([
    import("aws-cdk-lib"),
    import("aws-cdk-lib/aws-secretsmanager"),
    import("../cdk/flow-state-machine"),
  ]);
  const root = options.outdir ? resolve(options.outdir) : mkdtempSync(join(tmpdir(), "flowhooks-emulate-"));
  mkdirSync(root, { recursive: true });
  linkSdk(root);
  const outdir = join(root, "cdk.out");
  // aws-cdk-lib's CloudFormation linter (a WebAssembly engine, ~4 s to start in a fresh process)
  // guards templates that deploy; this one never does, and its definition is checked before it runs.
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stackName = emulatedStackName(options.flow);
  const stack = new Stack(app, EMULATED_STACK_ID, { stackName });
  // The secrets the flow's notifiers read, as a deployment must give them (served locally from FLOWHOOKS_SECRET_<NAME>).
  const hasValue = (name: string) =>
    Boolean(process.env[localSecretVariable(name)] || (options.slackWebhookUrl && slackSecretVariables(options.flow).includes(localSecretVariable(name))));
  const stackSecrets = new Map<string, ReturnType<typeof Secret.fromSecretNameV2>>();
  const secretsOf = (flow: Flow) =>
    Object.fromEntries(
      notifierSecrets(flow, hasValue).map((name) => {
        if (!stackSecrets.has(name)) stackSecrets.set(name, Secret.fromSecretNameV2(stack, `Secret-${name}`, `flowhooks-emulate/${name}`));
        return [name, stackSecrets.get(name)!];
      }),
    );
  const secrets = options.props?.secrets ?? secretsOf(options.flow);
  // Each flow the flow runs with flowRun gets its own FlowStateMachine, as deployed (the entry must export it too), with the secrets its notifiers read.
  const flowRuns = subFlowMachines(options.flow, (sub, inner: Record<string, InstanceType<typeof FlowStateMachine>>) =>
    new FlowStateMachine(stack, `SubFlow-${sub.name.replace(/[^A-Za-z0-9]/g, "")}`, { flow: sub as Flow, entry: options.entry, stubBundling: false, flowRuns: inner, secrets: secretsOf(sub as Flow) }),
  );
  const main = new FlowStateMachine(stack, "Flow", {
    ...options.props,
    secrets,
    flow: options.flow,
    entry: options.entry,
    exportName: options.exportName,
    stubBundling: false,
    ...(Object.keys(flowRuns).length > 0 ? { flowRuns } : {}),
  });
  const assembly = app.synth();
  return readAssembly(assembly.directory, stack.artifactId, stackName, undefined, { logicalId: stack.getLogicalId(main.stateMachine.node.defaultChild as never) });
}

/** Which of several flow state machines in a stack is the one to emulate (the others are the flows its flowRun tasks run). */
export interface MainFlow {
  /** Its state machine's logical id. */
  logicalId?: string;
  /** Its flow's name (its definition's `Comment`). */
  flowName?: string;
}

/** Which FlowStateMachine of a stack to read, when the stack may hold more than one (a user's app). */
export interface AssemblySelection {
  /** The construct's path (`Stack/Orders`): only resources under it are read. */
  constructPath: string;
  /** The state machine's logical id in the stack's template. */
  stateMachineLogicalId: string;
  /** The stack's template file in `outdir`. @default `<artifactId>.template.json` */
  templateFile?: string;
  /** The paths of the FlowStateMachines its flowRun tasks run (in the same stack): their resources are read too. @default - none */
  subFlowPaths?: readonly string[];
}

/** Reads a synthesized FlowStateMachine stack (and its nested stacks) from `outdir`. */
export function readAssembly(outdir: string, artifactId: string, stackName = artifactId, selection?: AssemblySelection, main?: MainFlow): SynthesizedFlow {
  const templateFile = join(outdir, selection?.templateFile ?? `${artifactId}.template.json`);
  if (!existsSync(templateFile)) throw new AssemblyError(`No template ${templateFile}; synthesize the stack first.`);
  const templates = [templateFile, ...readdirSync(outdir).filter((f) => f.endsWith(".nested.template.json")).map((f) => join(outdir, f))];
  // In a user's app, the stack (and the assembly's nested templates) may hold other constructs' resources.
  const prefixes = selection ? [selection.constructPath, ...(selection.subFlowPaths ?? [])].map((p) => `${p}/`) : undefined;
  const ours = (resource: Json) => !prefixes || prefixes.some((prefix) => String(resource.Metadata?.["aws:cdk:path"] ?? "").startsWith(prefix));
  const functions = new Map<string, SynthesizedFunction>();
  const machines: { logicalId: string; resource: Json; resolve: (v: unknown) => unknown }[] = [];
  let alertTopicArn: string | undefined;
  for (const file of templates) {
    const template = JSON.parse(readFileSync(file, "utf8")) as Json;
    const resources = (template.Resources ?? {}) as Record<string, Json>;
    const resolveValue = (value: unknown) => resolveIntrinsics(value, resources, stackName);
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (selection && file === templateFile && resource.Type === "AWS::StepFunctions::StateMachine" && logicalId === selection.stateMachineLogicalId) {
        machines.push({ logicalId, resource, resolve: resolveValue });
        continue;
      }
      if (!ours(resource)) continue;
      if (resource.Type === "AWS::Lambda::Function") {
        const fn = readFunction(outdir, logicalId, resource, resolveValue);
        functions.set(fn.functionName, fn);
        // The handler's topic may be the user's own, outside the construct.
        if (fn.environment.FLOWHOOKS_ALERT_TOPIC_ARN) alertTopicArn = fn.environment.FLOWHOOKS_ALERT_TOPIC_ARN;
      } else if (resource.Type === "AWS::StepFunctions::StateMachine" && !machines.some((m) => m.logicalId === logicalId && m.resource === resource)) {
        machines.push({ logicalId, resource, resolve: resolveValue });
      } else if (resource.Type === "AWS::SNS::Topic") {
        alertTopicArn ??= placeholderArn(logicalId, resource, stackName);
      }
    }
  }
  if (selection && machines.length === 0) {
    throw new AssemblyError(`No state machine ${selection.stateMachineLogicalId} in ${templateFile}; synthesize the app again (the assembly is older than its FlowStateMachine).`);
  }
  if (selection && functions.size === 0) {
    throw new AssemblyError(`No Lambda function under ${selection.constructPath} in ${outdir}; synthesize with path metadata on (the CDK CLI's default, "pathMetadata" in cdk.json).`);
  }
  // The flow's main state machine, and the child state machines of a flow split into parts.
  const { machine, definition, parts, subFlows } = mainAndParts(outdir, templateFile, stackName, machines, main ?? { logicalId: selection?.stateMachineLogicalId });
  return {
    outdir,
    stackName,
    stateMachineArn: placeholderArn(machine.logicalId, machine.resource, stackName),
    definitionString: definition,
    parts,
    ...(subFlows.size > 0 ? { subFlows } : {}),
    functions,
    alertTopicArn,
  };
}

/**
 * The flow's main state machine (the one whose definition begins with flowhooks' Start state) and,
 * for a flow split into child state machines, the children's definitions by placeholder ARN.
 */
function mainAndParts(
  outdir: string,
  templateFile: string,
  stackName: string,
  machines: { logicalId: string; resource: Json; resolve: (v: unknown) => unknown }[],
  wanted: MainFlow = {},
): { machine: (typeof machines)[number]; definition: string; parts: Map<string, string>; subFlows: Map<string, string> } {
  const read = machines.map((m) => ({ m, text: deployedDefinitionText(outdir, m.logicalId, m.resource, m.resolve) }));
  const isMain = (text: string) => {
    try {
      return (JSON.parse(text) as Json).StartAt === "flowhooks.Start";
    } catch {
      return false;
    }
  };
  const flows = read.filter((r) => isMain(r.text));
  // Several flows in one stack: the selected one, and the others the flows its flowRun tasks run.
  const isWanted = (r: (typeof read)[number]) =>
    wanted.logicalId !== undefined ? r.m.logicalId === wanted.logicalId : wanted.flowName !== undefined && (JSON.parse(r.text) as Json).Comment === `flowhooks flow ${wanted.flowName}`;
  const chosen = flows.length > 1 ? flows.filter(isWanted) : [];
  const mains = chosen.length === 1 ? chosen : flows;
  if (mains.length !== 1) {
    throw new AssemblyError(`Expected one flow state machine in ${templateFile} and its nested stacks, found ${mains.length}; emulate one FlowStateMachine at a time.`);
  }
  const main = mains[0]!;
  const byArn = (rs: typeof read) => new Map(rs.map((r) => [placeholderArn(r.m.logicalId, r.m.resource, stackName), r.text]));
  const parts = byArn(read.filter((r) => !isMain(r.text)));
  const subFlows = byArn(flows.filter((r) => r !== main));
  return { machine: main.m, definition: main.text, parts, subFlows };
}

/**
 * The definition text CloudFormation would deploy: `DefinitionString`, or the `DefinitionS3Location`
 * asset file in the assembly, with `DefinitionSubstitutions` applied (references resolved locally).
 */
export function deployedDefinitionText(outdir: string, logicalId: string, resource: Json, resolveValue: (v: unknown) => unknown): string {
  const props = (resource.Properties ?? {}) as Json;
  let text: unknown = resolveValue(props.DefinitionString);
  if (text === undefined && props.DefinitionS3Location) {
    const key = String(resolveValue(props.DefinitionS3Location.Key));
    const file = join(outdir, `asset.${key}`);
    if (!existsSync(file)) throw new AssemblyError(`The definition of state machine ${logicalId} is asset ${file}, which is missing; resynthesize the stack.`);
    text = readFileSync(file, "utf8");
  }
  if (typeof text !== "string") {
    throw new AssemblyError(`The state machine ${logicalId} has neither DefinitionString nor DefinitionS3Location; FlowStateMachine always sets one.`);
  }
  const substitutions = (resolveValue(props.DefinitionSubstitutions ?? {}) ?? {}) as Record<string, unknown>;
  return text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole));
}

function readFunction(outdir: string, logicalId: string, resource: Json, resolveValue: (v: unknown) => unknown): SynthesizedFunction {
  const props = (resource.Properties ?? {}) as Json;
  const functionName = typeof props.FunctionName === "string" ? props.FunctionName : logicalId;
  const assetPath = resource.Metadata?.["aws:asset:path"] as string | undefined;
  const s3Key = props.Code?.S3Key as string | undefined;
  const assetDir = assetPath
    ? resolve(outdir, assetPath)
    : s3Key
      ? join(outdir, `asset.${s3Key.replace(/\.zip$/, "")}`)
      : undefined;
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries((props.Environment?.Variables ?? {}) as Json)) environment[k] = String(resolveValue(v));
  return {
    logicalId,
    functionName,
    arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`,
    handler: String(props.Handler ?? "index.handler"),
    timeoutSeconds: Number(props.Timeout ?? 3),
    memorySize: Number(props.MemorySize ?? 128),
    environment,
    // Inline code (stubbed bundling) has no asset: an empty string makes invoking it fail with a clear error.
    assetDir: assetDir ?? "",
    vpc: props.VpcConfig !== undefined,
    layers: Array.isArray(props.Layers) ? props.Layers.length : 0,
    architecture: Array.isArray(props.Architectures) ? String(props.Architectures[0]) : "x86_64",
  };
}

/** A stand-in ARN for a resource of the stack, by its type. */
function placeholderArn(logicalId: string, resource: Json, stackName: string): string {
  const props = (resource.Properties ?? {}) as Json;
  switch (resource.Type) {
    case "AWS::Lambda::Function":
      return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${typeof props.FunctionName === "string" ? props.FunctionName : logicalId}`;
    case "AWS::StepFunctions::StateMachine":
      return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${typeof props.StateMachineName === "string" ? props.StateMachineName : `${stackName}-${logicalId}`}`;
    case "AWS::SNS::Topic":
      return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${typeof props.TopicName === "string" ? props.TopicName : `${stackName}-${logicalId}`}`;
    case "AWS::SQS::Queue":
      return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${stackName}-${logicalId}`;
    case "AWS::SecretsManager::Secret":
      return `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${stackName}-${logicalId}`;
    case "AWS::DynamoDB::Table":
      return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${typeof props.TableName === "string" ? props.TableName : `${stackName}-${logicalId}`}`;
    default:
      return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
  }
}

/** What `Ref` returns for a resource (a name for most types, an ARN for topics and state machines). */
function refValue(logicalId: string, resource: Json, stackName: string): string {
  const props = (resource.Properties ?? {}) as Json;
  switch (resource.Type) {
    case "AWS::Lambda::Function":
      return typeof props.FunctionName === "string" ? props.FunctionName : logicalId;
    case "AWS::DynamoDB::Table":
      return typeof props.TableName === "string" ? props.TableName : `${stackName}-${logicalId}`;
    case "AWS::SQS::Queue":
      return `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${stackName}-${logicalId}`;
    default:
      return placeholderArn(logicalId, resource, stackName);
  }
}

/** Resolves `Fn::Join`, `Fn::Sub`, `Ref` and `Fn::GetAtt` to local placeholder values. */
export function resolveIntrinsics(value: unknown, resources: Record<string, Json>, stackName: string): unknown {
  const recur = (v: unknown) => resolveIntrinsics(v, resources, stackName);
  if (Array.isArray(value)) return value.map(recur);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Json;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const arg = obj[key];
    if (key === "Ref") {
      if (arg in PSEUDO) return PSEUDO[arg];
      if (arg === "AWS::StackName") return stackName;
      const resource = resources[arg];
      return resource ? refValue(arg, resource, stackName) : `local-${arg}`;
    }
    if (key === "Fn::GetAtt") {
      const [logicalId, attribute] = (Array.isArray(arg) ? arg : String(arg).split(".")) as [string, string];
      const resource = resources[logicalId];
      if (!resource) return `local-${logicalId}.${attribute}`;
      if (attribute === "Arn") return placeholderArn(logicalId, resource, stackName);
      if (attribute === "Name" || attribute === "TopicName" || attribute === "QueueName") return refValue(logicalId, resource, stackName);
      return `local-${logicalId}.${attribute}`;
    }
    if (key === "Fn::Join") {
      const [sep, parts] = arg as [string, unknown[]];
      return (recur(parts) as unknown[]).map(String).join(sep);
    }
    if (key === "Fn::Sub") {
      const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Json];
      return text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
        if (name in vars) return String(recur(vars[name]));
        const [id, attr] = name.split(".");
        return String(recur(attr ? { "Fn::GetAtt": [id, attr] } : { Ref: id }));
      });
    }
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) out[k] = recur(v);
  return out;
}

/**
 * A FlowStateMachine per flow `flow` runs with flowRun (and per flow those run, each once), made by
 * `make`, innermost first, each given the machines of its own sub-flows: `flow`'s `flowRuns`.
 */
function subFlowMachines<M>(flow: Flow, make: (sub: RunnableFlow, flowRuns: Record<string, M>) => M, made = new Map<string, M>()): Record<string, M> {
  const direct: Record<string, M> = {};
  for (const node of flow.graph().nodes) {
    if (node.kind !== "flowRun") continue;
    const sub = (node.task as FlowRunTask).flow;
    let machine = made.get(sub.name);
    if (machine === undefined) {
      const inner = subFlowMachines(sub as Flow, make, made);
      machine = make(sub, inner);
      made.set(sub.name, machine);
    }
    direct[sub.name] = machine;
  }
  return direct;
}
