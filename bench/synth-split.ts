/**
 * Where a small flow's synthesis time goes (BENCHMARKS.md, section 4): CPU of one FlowStateMachine
 * synth of a 10-task chain, of the same with aws-cdk-lib's template validation off, of the
 * hand-written CDK equivalent, and of one asl-validator call on its definition. Each figure is the
 * median (min–max) of 7 rounds after 2 warm-ups, in the process this runs in; run it once per
 * configuration (`CDK_VALIDATION=false node --import tsx bench/synth-split.ts`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import aslValidator from "asl-validator";
import { App, Stack } from "aws-cdk-lib";
import { FlowStateMachine } from "../lib/cdk/index";
import { compileFlow } from "../lib/compile/index";
import { localArn } from "./sections/cost";
import { spread } from "./sections/runner";
import { shapedFlow } from "./shapes";

const entry = join(import.meta.dirname, "fixtures/synth-flow.ts");
const flow = shapedFlow("chain", 10, "split-10");

function cpu(fn: () => void): number {
  const c = process.cpuUsage();
  fn();
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000;
}

function synth(): void {
  const outdir = mkdtempSync(join(tmpdir(), "fh-split-"));
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, "Bench", { env: { account: "123456789012", region: "us-east-1" } });
    new FlowStateMachine(stack, "Flow", { flow, entry, stubBundling: true } as never);
    app.synth();
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const definition = compileFlow(flow, { taskFunctionArn: localArn }).definition;
const validate = () => void aslValidator(structuredClone(definition) as never, { checkPaths: true, checkArn: true });
const first = { synth: cpu(synth), asl: cpu(validate) };
const rounds = (fn: () => void) => {
  for (let i = 0; i < 2; i++) fn();
  return spread(Array.from({ length: 7 }, () => cpu(fn)));
};
console.log(JSON.stringify({ cdkValidation: process.env.CDK_VALIDATION !== "false", first, synth: rounds(synth), aslValidator: rounds(validate) }));
