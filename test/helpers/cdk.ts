/** Shared factories for CDK tests: flows, stacks with a FlowStateMachine, templates. */
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

/** A stack holding one FlowStateMachine with bundling stubbed (set `stubBundling: false` to bundle). */
export function flowStack(flow: Flow, props: Partial<FlowStateMachineProps> = {}, app = new App()) {
  const stack = new Stack(app, "FlowStack");
  const construct = new FlowStateMachine(stack, "Flow", { flow, entry: "unused.ts", stubBundling: true, ...props });
  return { app, stack, construct, template: () => Template.fromStack(stack) };
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

/** The state machine definition as deployed, with `Fn::Join`s resolved to a sample account and region. */
export function deployedDefinition(template: Template): { StartAt: string; States: Record<string, Record<string, unknown>> } {
  const machines = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  if (machines.length !== 1) throw new Error(`Expected one state machine, found ${machines.length}`);
  return JSON.parse(flatten(machines[0]!.Properties.DefinitionString));
}

/** Resolves a policy `Resource` entry (string or Fn::Join) to a sample ARN. */
export function sampleArn(resource: unknown): string {
  return flatten(resource);
}
