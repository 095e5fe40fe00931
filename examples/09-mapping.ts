// Mapping (Prefect's `task.map`): one child run per item. A listing comes back in pages; every file
// is downloaded by its own child (flatten, unmapped settings, retries, a state handler per child),
// each download is parsed by a child of its own (a map over a mapped result: child i feeds child i),
// and one reducer gets the parsed results in order.
import { Flow, Task, flatten, getRunContext, parameter, task, unmapped, type Retrying, type RunOptions, type State } from "flowhooks";

// Runs for the parent (`download`, Pending -> Mapped) and for every child (`download[i]`).
function reportRetries(task: Task, _oldState: State, newState: State) {
  const index = getRunContext()?.mapIndex;
  if (newState.isRetrying()) console.log(`${task.name}[${index}] failed and retries at ${(newState as Retrying).startTime.toISOString()}`);
  if (newState.isMapped()) console.log(`${task.name}: ${newState.message}`);
  return newState;
}

/** A storage listing, one page of keys at a time (a list of lists). */
export const listPages = task({ name: "listPages" }, (prefix: string) => [
  [`${prefix}/2026-11-01.csv`, `${prefix}/2026-11-02.csv`],
  [`${prefix}/2026-11-03.csv`],
]);

/** Downloads one file; the storage is busy on a file's first attempt when its name says so. */
export const download = task(
  { name: "download", maxRetries: 2, retryDelaySeconds: 1, mapConcurrency: 2, stateHandlers: [reportRetries] },
  (key: string, settings: { busy: string; rowsPerFile: number }) => {
    if (key.endsWith(settings.busy) && getRunContext()?.attempt === 1) throw new Error(`Storage busy for ${key}`);
    return { key, rows: Array.from({ length: settings.rowsPerFile }, (_, i) => `${key.slice(-6, -4)},${i + 1}`) };
  },
);

/** Parses one downloaded file: the sum of its values. */
export const parse = task({ name: "parse" }, (file: { key: string; rows: string[] }) => ({
  key: file.key,
  total: file.rows.reduce((sum, row) => sum + Number(row.split(",")[1]), 0),
}));

/** The reducer: receives every child's result of `parse`, in item order. */
export const summarize = task({ name: "summarize" }, (parsed: { key: string; total: number }[]) =>
  `${parsed.length} files, total ${parsed.reduce((sum, p) => sum + p.total, 0)}`,
);

export const flow = new Flow({ name: "mapping-demo" }, () => {
  const pages = listPages(parameter("prefix", "exports"));
  const files = download.map(flatten(pages), unmapped({ busy: "02.csv", rowsPerFile: 3 }));
  summarize(parse.map(files));
});

export async function main(options: RunOptions = {}) {
  const state = await flow.run(options);
  const summary = (state.result as Map<unknown, State>).get(summarize);
  console.log(`${state}: ${summary?.result}`);
}
