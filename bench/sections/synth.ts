/**
 * Section 4: how long `FlowStateMachine` takes to synthesize flows of growing size, and how many
 * resources it makes, against hand-written CDK making the same functions and state machine.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, CfnResource, NestedStack, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct, IConstruct } from "constructs";
import { compileFlow } from "../../lib/compile/index";
import type { Flow } from "../../lib/core/flow";
import { median } from "../measure";
import { Pending } from "../pending";
import { shapedFlow } from "../shapes";
import { fmt, type Row } from "../table";
import { localArn } from "./cost";
import type { SectionOutput } from "./index";

const CDK_INDEX = fileURLToPath(new URL("../../lib/cdk/index.ts", import.meta.url));
const SYNTH_ENTRY = fileURLToPath(new URL("../fixtures/synth-flow.ts", import.meta.url));
const PER_STACK = 200;

type FlowStateMachineCtor = new (scope: Construct, id: string, props: Record<string, unknown>) => Construct;

/** Every CloudFormation resource in the app, nested stacks included. */
function countResources(root: IConstruct): number {
  let count = 0;
  const visit = (c: IConstruct) => {
    if (CfnResource.isCfnResource(c)) count++;
    for (const child of c.node.children) visit(child);
  };
  visit(root);
  return count;
}

/** Builds a stack with `build`, synthesizes it into a temporary folder, and times both. */
function synthTimed(build: (stack: Stack) => void): { ms: number; resources: number } {
  const outdir = mkdtempSync(join(tmpdir(), "flowhooks-bench-synth-"));
  try {
    const start = process.hrtime.bigint();
    const app = new App({ outdir });
    const stack = new Stack(app, "Bench", { env: { account: "123456789012", region: "us-east-1" } });
    build(stack);
    app.synth();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    return { ms, resources: countResources(app) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The same functions and state machine in plain CDK: what any tool deploying this flow must synthesize. */
function handWritten(stack: Stack, flow: Flow): void {
  const names = flow.graph().nodes.map((n) => n.name);
  const role = new iam.Role(stack, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
  const code = lambda.Code.fromInline("exports.task = async () => ({});");
  const scopes: Construct[] = [];
  if (names.length <= PER_STACK) scopes.push(stack);
  else for (let i = 0; i * PER_STACK < names.length; i++) scopes.push(new NestedStack(stack, `Tasks${i}`));
  scopes.forEach((scope, i) => {
    for (const name of names.slice(i * PER_STACK, (i + 1) * PER_STACK)) {
      new lambda.Function(scope, `Task-${name}`, { runtime: lambda.Runtime.NODEJS_24_X, handler: "index.task", code, role, environment: { FLOWHOOKS_TASK: name } });
    }
  });
  const definition = compileFlow(flow, { taskFunctionArn: localArn }).definition;
  new sfn.StateMachine(stack, "StateMachine", { definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)) });
}

export interface SynthFigure {
  tasks: number;
  ms: number;
  resources: number;
  handWrittenMs: number;
  handWrittenResources: number;
}

export async function synthSection(sizes: number[]): Promise<SectionOutput> {
  if (!existsSync(CDK_INDEX)) throw new Pending("lib/cdk/index.ts (FlowStateMachine) does not exist yet");
  const cdk = (await import(CDK_INDEX)) as { FlowStateMachine?: FlowStateMachineCtor };
  const FlowStateMachine = cdk.FlowStateMachine;
  if (typeof FlowStateMachine !== "function") throw new Pending("lib/cdk does not export FlowStateMachine yet");

  // Warm module loading and the JIT on both sides, so the first size does not pay for them.
  const warm = shapedFlow("chain", 2, "warm");
  for (let i = 0; i < 2; i++) {
    synthTimed((stack) => handWritten(stack, warm));
    synthTimed((stack) => new FlowStateMachine(stack, "Flow", { flow: warm, entry: SYNTH_ENTRY, stubBundling: true }));
  }

  const figures: SynthFigure[] = [];
  for (const n of sizes) {
    const flow = shapedFlow("chain", n, `bench-synth-${n}`);
    const rounds = n >= 1000 ? 1 : 3;
    const ours: { ms: number; resources: number }[] = [];
    const base: { ms: number; resources: number }[] = [];
    for (let i = 0; i < rounds; i++) {
      ours.push(synthTimed((stack) => new FlowStateMachine(stack, "Flow", { flow, entry: SYNTH_ENTRY, stubBundling: true })));
      base.push(synthTimed((stack) => handWritten(stack, flow)));
    }
    figures.push({
      tasks: n,
      ms: median(ours.map((o) => o.ms)),
      resources: ours[0]!.resources,
      handWrittenMs: median(base.map((b) => b.ms)),
      handWrittenResources: base[0]!.resources,
    });
  }
  // aws-cdk-lib validates every synthesized template (a WebAssembly CloudFormation linter) unless CDK_VALIDATION=false.
  const largest = sizes[sizes.length - 1]!;
  const largestFlow = shapedFlow("chain", largest, `bench-synth-${largest}`);
  const savedValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = "false";
  let unvalidated: { ms: number; resources: number };
  try {
    unvalidated = synthTimed((stack) => new FlowStateMachine(stack, "Flow", { flow: largestFlow, entry: SYNTH_ENTRY, stubBundling: true }));
  } finally {
    if (savedValidation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = savedValidation;
  }
  const validated = figures[figures.length - 1]!;

  const { synthFlow } = (await import(SYNTH_ENTRY)) as { synthFlow: Flow };
  const real = synthTimed((stack) => new FlowStateMachine(stack, "Flow", { flow: synthFlow, entry: SYNTH_ENTRY }));
  const stubbed = synthTimed((stack) => new FlowStateMachine(stack, "Flow", { flow: synthFlow, entry: SYNTH_ENTRY, stubBundling: true }));

  const rows: Row[] = figures.map((f) => ({
    section: "4-synth",
    figure: `${fmt.n(f.tasks)}-task chain: synth (stub bundling), ${fmt.n(f.resources)} resources${f.tasks >= 1000 ? "" : ", median of 3"}`,
    value: fmt.ms(f.ms),
    baseline: `${fmt.ms(f.handWrittenMs)} plain CDK, ${fmt.n(f.handWrittenResources)} resources`,
    ratio: fmt.x(f.ms / f.handWrittenMs),
    goal: f.tasks === 1000 ? "< 15 s" : "",
    verdict: f.tasks === 1000 ? (f.ms < 15_000 ? "ok" : "MISSED") : "",
  }));
  rows.push({
    section: "4-synth",
    figure: `${fmt.n(largest)}-task chain: synth with CDK_VALIDATION=false`,
    value: fmt.ms(unvalidated.ms),
    baseline: `${fmt.ms(validated.ms)} with aws-cdk-lib's template validation`,
    ratio: fmt.x(unvalidated.ms / validated.ms),
    goal: "",
    verdict: "",
  });
  rows.push({
    section: "4-synth",
    figure: "10-task chain: synth time with real esbuild bundling",
    value: fmt.ms(real.ms),
    baseline: `${fmt.ms(stubbed.ms)} stub bundling`,
    ratio: fmt.x(real.ms / stubbed.ms),
    goal: "",
    verdict: "",
  });
  return { rows, data: { figures, withoutCdkValidationMs: unvalidated.ms, realBundling: { ms: real.ms, stubMs: stubbed.ms, resources: real.resources } } };
}
