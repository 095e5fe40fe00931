/** `flowhooks run`: load a flow module, run the flow locally with live progress, report the outcome. */
import { createInterface } from "node:readline/promises";
import { checkParameters, checkPreflight, type AlertEvent, type ApproveFunction, type Clock } from "../core/runner";
import { EXIT, UsageError } from "./errors";
import { loadFlow } from "./load";
import { parseParams } from "./params";
import { createProgress, type Output, type ProgressMode } from "./progress";
import { checkReportPath, writeRunReport } from "../run-report/index";
import type { TimelineTransition } from "./timeline";

export interface RunCommandOptions {
  /** The module that exports the flow. */
  file: string;
  /** Which exported flow to run (flow name or export name). @default - the only exported flow */
  flow?: string;
  /** `k=v` strings from `--param`. @default [] */
  params?: string[];
  /** One JSON object per transition instead of text. @default false */
  json?: boolean;
  /** Where progress goes. @default process.stdout */
  out?: Output;
  /** The clock the run uses (tests inject one to skip retry delays). @default systemClock */
  clock?: Clock;
  /** Resolve FILE against this directory. @default process.cwd() */
  cwd?: string;
  /** Also write the run as one HTML page here (lib/run-report). @default - no report */
  report?: string;
  /**
   * `--approve all|none`: approve every task that waits for approval (`triggers.manualOnly`), or
   * reject each. @default - ask on the terminal when stdin is one; otherwise such a task fails the run with an error naming this option
   */
  approve?: string;
  /** Where the approval question is read from. @default process.stdin */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The `approve` answer of `flow.run()` for `--approve` (or a question on the terminal). */
export function approver(mode: string | undefined, input: NodeJS.ReadableStream & { isTTY?: boolean }, out: NodeJS.WritableStream): ApproveFunction | undefined {
  if (mode === "all") return () => true;
  if (mode === "none") return () => "--approve none";
  if (mode !== undefined) throw new UsageError(`--approve takes all or none, got ${JSON.stringify(mode)}.`);
  if (!input.isTTY) return undefined;
  return async (task) => {
    const rl = createInterface({ input, output: out });
    try {
      const answer = (await rl.question(`${task.name} is waiting for approval; approve? [y = yes, anything else = the reason to reject] `)).trim();
      return /^y(es)?$/i.test(answer) ? true : answer || "rejected on the terminal";
    } finally {
      rl.close();
    }
  };
}

/** Runs the flow and resolves to the exit code: 0 when it did not fail, 1 when its final state is failed. */
export async function runCommand(options: RunCommandOptions): Promise<number> {
  const parameters = parseParams(options.params);
  // Before the flow runs, so a path that cannot be written does not cost a run.
  const reportPath = options.report === undefined ? undefined : checkReportPath(options.report, options.cwd);
  const approve = approver(options.approve, options.input ?? process.stdin, process.stderr);
  const flow = await loadFlow(options.file, options.flow, options.cwd);
  // Before any progress is drawn, so a wrong --param is one error line and nothing else.
  checkParameters(flow, parameters);
  // What the state handlers need (a webhook secret that is missing or invalid) is input the user fixes: exit 2.
  await checkPreflight(flow).catch((error: unknown) => {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  });
  const out = options.out ?? process.stdout;
  const mode: ProgressMode = options.json ? "json" : out.isTTY ? "tty" : "plain";
  const progress = createProgress(flow, { mode, out, now: options.clock ? () => options.clock!.now() : undefined });
  const transitions: TimelineTransition[] = [];
  const alerts: AlertEvent[] = [];
  const finalState = await flow.run({
    parameters,
    clock: options.clock,
    approve,
    onAlert: (alert) => alerts.push(alert),
    onTransition: (event) => {
      progress.onTransition(event);
      if (reportPath) transitions.push({ kind: event.kind, name: event.name, attempt: event.attempt, mapIndex: event.mapIndex, oldState: event.oldState, newState: event.newState, at: event.at });
    },
  });
  progress.finish(finalState, alerts);
  if (reportPath) {
    await writeRunReport({
      path: reportPath,
      source: "run",
      flow: flow.name,
      flowObject: flow,
      transitions,
      alerts,
    });
  }
  return finalState.isFailed() ? EXIT.flowFailed : EXIT.ok;
}
