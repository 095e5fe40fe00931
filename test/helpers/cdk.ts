/** Shared factories for CDK tests: flows, stacks with a FlowStateMachine, templates. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { FlowStateMachine, type FlowStateMachineProps } from "../../lib/cdk/index";
import { Flow, parameter, task, triggers, type Task } from "../../lib/index";

/** load → (enrich ‖ price) → save, with retries on `price` and an always-run `notify`. */
export function ordersFlow(): Flow {
  const load = task({ name: "load" }, (id: string) => ({ id }));
  const enrich = task({ name: "enrich", memorySize: 512 }, (o: { id: string }) => o);
  const price = task({ name: "price", maxRetries: 3, retryDelaySeconds: 2, backoffRate: 3, maxDelaySeconds: 60, jitter: "FULL", timeoutSeconds: 30 }, (o: { id: string }) => 10);
  const save = task({ name: "save" }, (o: { id: string }, p: number) => ({ ...o, p }));
  const notify = task({ name: "notify", trigger: triggers.alwaysRun }, (_s: unknown) => undefined);
  return new Flow({ name: "orders" }, () => {
    const o = load(parameter("orderId", "o-1"));
    notify(save(enrich(o), price(o)));
  });
}

/** `width` independent tasks per level, each depending on the task in its column one level up. */
export function layeredFlow(tasks: number, width: number): Flow {
  return new Flow({ name: `layered-${tasks}` }, () => {
    const refs: ReturnType<Task<[number?], number>>[] = [];
    for (let i = 0; i < tasks; i++) {
      const t = task({ name: `t${i}` }, (x?: number) => (x ?? 0) + 1);
      refs.push(i >= width ? t(refs[i - width]!) : t());
    }
  });
}

/** A chain of `n` tasks, each adding one to its upstream's result. */
export function chainFlow(n: number): Flow {
  return new Flow({ name: `chain-${n}` }, () => {
    let previous: ReturnType<Task<[number?], number>> | undefined;
    for (let i = 0; i < n; i++) {
      const t = task({ name: `step-${i}` }, (x?: number) => (x ?? 0) + 1);
      previous = previous === undefined ? t() : t(previous);
    }
  });
}

/** A stack holding one FlowStateMachine with bundling stubbed (set `stubBundling: false` to bundle). */
export function flowStack(flow: Flow, props: Partial<FlowStateMachineProps> = {}, app = new App()) {
  const stack = new Stack(app, "FlowStack");
  const construct = new FlowStateMachine(stack, "Flow", { flow, entry: "unused.ts", stubBundling: true, ...props });
  const template = () => Template.fromStack(stack);
  return { app, stack, construct, template, definition: () => deployedDefinition(template(), app.outdir) };
}

/** CloudFormation pseudo-parameters and references as concrete strings, so ARNs in a template read as real ones. */
function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if ("Fn::Join" in v) {
      const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if ("Ref" in v) {
      const ref = v.Ref as string;
      return { "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012" }[ref] ?? `REF-${ref}`;
    }
  }
  throw new Error(`Cannot flatten ${JSON.stringify(value)}`);
}

/**
 * The state machine definition as deployed: its S3 asset file in `outdir` (the app's cloud assembly),
 * with `DefinitionSubstitutions` filled with a sample account and region.
 */
export function deployedDefinition(template: Template, outdir: string): { StartAt: string; States: Record<string, Record<string, unknown>> } {
  const machines = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  if (machines.length !== 1) throw new Error(`Expected one state machine, found ${machines.length}`);
  const props = machines[0]!.Properties;
  const text = props.DefinitionString !== undefined ? flatten(props.DefinitionString) : readFileSync(join(outdir, `asset.${props.DefinitionS3Location.Key}`), "utf8");
  const substitutions = Object.fromEntries(Object.entries((props.DefinitionSubstitutions ?? {}) as Record<string, unknown>).map(([k, v]) => [k, flatten(v)]));
  return JSON.parse(text.replace(/\$\{([^}]+)\}/g, (whole: string, name: string) => substitutions[name] ?? whole));
}

/** Resolves a policy `Resource` entry (string or Fn::Join) to a sample ARN. */
export function sampleArn(resource: unknown): string {
  return flatten(resource);
}
