// Control flow (Prefect 1.x case/merge/ifelse, LOOP, manual_only, StartFlowRun): a nightly release
// that pages through an export (LOOP), runs a sub-flow to check it (flowRun), picks a bulk or a
// row-by-row load (ifElse), and waits for approval before publishing (triggers.manualOnly). Every
// transition reaches the state handler below, locally and deployed: each construct compiles to Step
// Functions' own (docs/control-flow.md); bin/app.ts deploys it, `npm start` emulates it with
// `--approve all`, and `flowhooks resume EXECUTION_ARN publish` answers the deployed approval.
import { Flow, flowRun, getRunContext, ifElse, parameter, signals, task, triggers, type RunOptions, type State, type Task } from "flowhooks";

function show(t: Task, oldState: State, newState: State) {
  console.log(`${t.name}: ${oldState} -> ${newState}`);
}

/** Reads one page of the export per iteration; the LOOP's result carries the rows so far. */
export const fetchPages = task({ name: "fetchPages", stateHandlers: [show] }, () => {
  const loop = getRunContext()!.loop!;
  const rows = [...((loop.result as number[] | undefined) ?? []), loop.count * 10];
  if (loop.count < 3) throw new signals.LOOP(`page ${loop.count} read`, { result: rows });
  return rows;
});

const countRows = task({ name: "countRows" }, (rows: number[]) => rows.length);
/** The sub-flow: a check of its own, run by the parent through flowRun. */
export const checkFlow = new Flow({ name: "check-export" }, () => {
  countRows(parameter("rows", [] as number[]));
});
const check = flowRun(checkFlow, { parameters: { rows: [10, 20, 30] }, stateHandlers: [show] });

const isLarge = task({ name: "isLarge" }, (rows: number[]) => rows.length > 2);
const bulkLoad = task({ name: "bulkLoad", stateHandlers: [show] }, (rows: number[]) => `bulk-loaded ${rows.length} rows`);
const rowLoad = task({ name: "rowLoad", stateHandlers: [show] }, (rows: number[]) => `loaded ${rows.length} rows one by one`);

/** Waits for a person: `flowhooks run --approve all`, or `approve` in flow.run(). */
export const publish = task({ name: "publish", trigger: triggers.manualOnly, approvalTimeoutSeconds: 3600, stateHandlers: [show] }, (loaded: string) => `published (${loaded})`);

export const flow = new Flow({ name: "control-flow-demo" }, () => {
  const rows = fetchPages();
  check().after(rows);
  const loaded = ifElse(isLarge(rows), () => bulkLoad(rows), () => rowLoad(rows));
  publish(loaded);
});

export async function main(options: RunOptions = {}) {
  const state = await flow.run({ approve: () => true, ...options });
  console.log(`${state}: ${(state.result as Map<unknown, State>).get(publish)?.result}`);
}
