/**
 * Section 8: what `signals.LOOP` costs deployed. A loop's iteration ends in a caught
 * `flowhooks.Looped` error that re-enters the task state (lib/compile `loopCatcher`), so we run the
 * compiled definition in aws-local-stepfunctions with a task that loops `n` times and count the
 * states entered per iteration, and check that a flow whose tasks never loop enters no more states
 * than its success path. Also: what the Catch adds to the definition per task, and how many
 * iterations one loop gets before the 25,000-event history bound stops it.
 */
import { StateMachine } from "aws-local-stepfunctions";
import { compileFlow, LOOP_PATH, STATE_NAMES, successPathTransitions, type AslDefinition } from "../../lib/compile/index";
import { prepareDefinition } from "../../lib/emulate/definition";
import { HISTORY_EVENTS_PER_LAMBDA_ATTEMPT, HISTORY_EVENTS_PER_LOOP_HOP, HISTORY_EVENTS_PER_STATE_ENTRY, LOOPED_ERROR, toTaskOutput } from "../../lambdas/task/payload";
import { TaskLoopedError } from "../../lambdas/task/attempt";
import { Flow, task } from "../../lib/index";
import { Looped, Success } from "../../lib/core/states";
import { fmt, type Row } from "../table";
import { localArn } from "./cost";
import type { SectionOutput } from "./index";

export interface LoopCostFigure {
  iterations: number;
  /** `StateEntered` events of the execution. */
  transitions: number;
  /** Extra transitions each iteration after the first costs. */
  transitionsPerIteration: number;
}

/** `fetch` (loops) → `after`. */
function loopingFlow(): Flow {
  return new Flow({ name: "bench-loop" }, () => {
    const fetched = task({ name: "fetch" }, () => 0)();
    task({ name: "after" }, (x: number) => x)(fetched);
  });
}

/** States entered when `fetch` ends `iterations - 1` iterations Looped and then succeeds. */
async function transitionsFor(definition: AslDefinition, iterations: number): Promise<number> {
  const { definition: prepared } = prepareDefinition(JSON.stringify(definition));
  const machine = new StateMachine(prepared as never, { validationOptions: { checkArn: false, checkPaths: false } });
  let calls = 0;
  const success = { Payload: toTaskOutput("x", new Success("Task run succeeded.", { result: 1 })) };
  const fetch = () => {
    calls++;
    if (calls >= iterations) return success;
    // What the task Lambda throws, with the Cause Step Functions makes of it.
    const error = new TaskLoopedError({ task: "fetch", state: new Looped(undefined, { loopCount: calls, result: calls }).toJSON(), events: 5 * calls });
    throw Object.assign(new Error(JSON.stringify({ errorType: LOOPED_ERROR, errorMessage: error.message, trace: [] })), { name: LOOPED_ERROR });
  };
  const execution = machine.run({}, {
    overrides: { taskResourceLocalHandlers: { fetch, after: () => success } as never },
    context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:loop" } } as never,
  });
  let transitions = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs) if (event.type === "StateEntered") transitions++;
  })();
  await execution.result;
  await counting;
  return transitions;
}

export async function loopCost(iterationCounts: readonly number[]): Promise<{ figures: LoopCostFigure[]; successPath: number; noLoop: number; charsPerTask: number; maxIterations: number }> {
  const { definition } = compileFlow(loopingFlow(), { taskFunctionArn: localArn });
  const noLoop = await transitionsFor(definition, 1);
  const figures: LoopCostFigure[] = [];
  for (const iterations of iterationCounts) {
    const transitions = await transitionsFor(definition, iterations);
    figures.push({ iterations, transitions, transitionsPerIteration: (transitions - noLoop) / (iterations - 1) });
  }
  const text = JSON.stringify(definition);
  const loopChars = (text.match(/\{"ErrorEquals":\["flowhooks\.Looped"\],"ResultPath":"[^"]*","Next":"[^"]*"\},|,"loop\.\$":"[^"]*"|,"[^"]*\.Loop":\{"Type":"Pass","Next":"[^"]*"\}/g) ?? []).join("").length;
  const budget = (definition.States[STATE_NAMES.start]!.Parameters as Record<string, { budget: number }>)[LOOP_PATH.slice(2)]!.budget;
  const perIteration = HISTORY_EVENTS_PER_STATE_ENTRY + HISTORY_EVENTS_PER_LAMBDA_ATTEMPT + HISTORY_EVENTS_PER_LOOP_HOP;
  return { figures, successPath: successPathTransitions(definition), noLoop, charsPerTask: loopChars / 2, maxIterations: Math.floor(budget / perIteration) };
}

export async function loopSection(iterationCounts: readonly number[]): Promise<SectionOutput> {
  const r = await loopCost(iterationCounts);
  const row = (figure: string, value: string, baseline: string, goal: string, ok?: boolean): Row => ({
    section: "8-loop",
    figure,
    value,
    baseline,
    ratio: "",
    goal,
    verdict: ok === undefined ? "" : ok ? "ok" : "MISSED",
  });
  return {
    rows: [
      row("2-task flow, no task loops: states entered", fmt.n(r.noLoop), `${fmt.n(r.successPath)} on the success path`, "= success path (no cost)", r.noLoop === r.successPath),
      ...r.figures.map((f) =>
        row(`${fmt.n(f.iterations)}-iteration loop: transitions per extra iteration`, f.transitionsPerIteration.toFixed(2), `${fmt.n(f.transitions)} states entered`, "2 (the hop and the re-entry)", f.transitionsPerIteration === 2),
      ),
      row("definition characters the loop Catch adds per task state", r.charsPerTask.toFixed(0), "", ""),
      row("most iterations of one loop in a 2-task flow (history bound)", fmt.n(r.maxIterations), "25,000 events, 7 per iteration", ""),
    ],
    data: r,
  };
}
