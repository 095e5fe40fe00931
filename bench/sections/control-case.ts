/**
 * Section 5b: what a case block costs deployed. A case block adds no state (each task of a block is
 * its ordinary Task state; its Lambda decides Skipped), so we run the compiled definition in
 * aws-local-stepfunctions with the real task Lambda code and count the states entered, against the
 * same tasks and edges with no caseOf (`.after` instead of the block, a plain task for the merge).
 */
import { StateMachine } from "aws-local-stepfunctions";
import { compileFlow } from "../../lib/compile/index";
import { virtualClock } from "../../lib/core/clock";
import { caseOf, ifElse } from "../../lib/core/control";
import { Flow } from "../../lib/core/flow";
import { parameter, task, type TaskRef } from "../../lib/core/task";
import { prepareDefinition } from "../../lib/emulate/definition";
import { createTaskHandler } from "../../lambdas/task/index";
import { fmt, type Row } from "../table";
import { localArn } from "./cost";
import type { SectionOutput } from "./index";

export interface CaseCostFigure {
  shape: string;
  /** Case blocks in the flow. */
  blocks: number;
  /** `StateEntered` events with caseOf, per value of the condition. */
  transitions: Record<string, number>;
  /** The same without caseOf. */
  baseline: number;
  /** Task Lambda invocations with caseOf (a task in a branch not taken is invoked once, to report Skipped). */
  invocations: Record<string, number>;
  /** (transitions − baseline) / blocks, the worse of the condition's values. */
  addedPerBlock: number;
}

const noop = (name: string) => task({ name }, (..._inputs: unknown[]) => name);

/** `cond → ifElse(cond, a, b) → report`, or with `cases: false` the same tasks joined by a plain `merge` task. */
function ifElseFlow(cases: boolean): Flow {
  const cond = task({ name: "cond" }, (flag: boolean) => flag);
  const [a, b, merge, report] = ["a", "b", "merge", "report"].map(noop);
  return new Flow({ name: cases ? "bench-ifelse" : "bench-ifelse-baseline" }, () => {
    const c = cond(parameter("flag", true));
    report!(cases ? ifElse(c, () => a!(), () => b!()) : merge!(a!().after(c), b!().after(c)));
  });
}

/** `cond` guarding a chain of `n` tasks (`caseOf(cond, true, …)`), or the same chain with each task `.after(cond)`. */
function blockChainFlow(n: number, cases: boolean): Flow {
  const cond = task({ name: "cond" }, (flag: boolean) => flag);
  const steps = Array.from({ length: n }, (_, i) => noop(`s${i}`));
  return new Flow({ name: cases ? `bench-block-${n}` : `bench-block-${n}-baseline` }, () => {
    const c = cond(parameter("flag", true));
    const chain = () => {
      let prev: TaskRef<unknown> | undefined;
      for (const t of steps) {
        const ref: TaskRef<unknown> = prev === undefined ? t() : t(prev);
        prev = cases ? ref : ref.after(c);
      }
    };
    if (cases) caseOf(c, true, chain);
    else chain();
  });
}

/** One execution of `flow`'s definition with its real task Lambda code: states entered and task invocations. */
async function run(flow: Flow, parameters: Record<string, unknown>): Promise<{ transitions: number; invocations: number }> {
  const compiled = compileFlow(flow, { taskFunctionArn: localArn });
  let invocations = 0;
  const handlers: Record<string, (input: any) => Promise<unknown>> = {};
  for (const name of compiled.tasks.keys()) {
    const handler = createTaskHandler(flow, { clock: virtualClock(), env: { FLOWHOOKS_TASK: name }, emit: async () => undefined });
    handlers[name] = async (input) => {
      invocations++;
      return { Payload: await handler({ ...input.Payload, context: { ...input.Payload.context, State: { RetryCount: 0 } } }) };
    };
  }
  const { definition } = prepareDefinition(JSON.stringify(compiled.definition));
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = machine.run(parameters as never, {
    overrides: { taskResourceLocalHandlers: handlers as never },
    context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:case" } } as never,
  });
  let transitions = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs) if (event.type === "StateEntered") transitions++;
  })();
  await execution.result;
  await counting;
  return { transitions, invocations };
}

async function measure(shape: string, blocks: number, make: (cases: boolean) => Flow): Promise<CaseCostFigure> {
  const transitions: Record<string, number> = {};
  const invocations: Record<string, number> = {};
  for (const flag of [true, false]) {
    const r = await run(make(true), { flag });
    transitions[`${flag}`] = r.transitions;
    invocations[`${flag}`] = r.invocations;
  }
  const baseline = (await run(make(false), { flag: true })).transitions;
  const addedPerBlock = Math.max(...Object.values(transitions).map((t) => (t - baseline) / blocks));
  return { shape, blocks, transitions, baseline, invocations, addedPerBlock };
}

export async function caseCostSection(blockSizes: readonly number[]): Promise<SectionOutput> {
  const figures = [await measure("ifElse (a task per branch, merge, report)", 2, ifElseFlow)];
  for (const n of blockSizes) figures.push(await measure(`caseOf block of a ${n}-task chain`, 1, (cases) => blockChainFlow(n, cases)));
  const rows: Row[] = figures.map((f) => ({
    section: "5b-case",
    figure: `${f.shape}: transitions taken / not taken (task invocations)`,
    value: `${fmt.n(f.transitions.true!)} / ${fmt.n(f.transitions.false!)} (${f.invocations.true} / ${f.invocations.false})`,
    baseline: `${fmt.n(f.baseline)} same tasks without caseOf`,
    ratio: `${f.addedPerBlock >= 0 ? "+" : ""}${f.addedPerBlock.toFixed(1)} per block`,
    goal: "+0 per block",
    verdict: f.addedPerBlock <= 0 ? "ok" : "MISSED",
  }));
  return { rows, data: figures };
}
