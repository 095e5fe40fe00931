/**
 * `npm run bench`: every figure next to a baseline measured in the same run, printed as a table,
 * written to bench/results.json and into BENCHMARKS.md between its table markers.
 * `npm run bench -- --quick` uses tiny sizes (a smoke run, numbers meaningless).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { machine } from "./machine";
import { Pending, SECTIONS, type SectionOutput, type Sizes } from "./sections/index";
import { fmt, markdownTable, textTable, type Row } from "./table";

const RESULTS = fileURLToPath(new URL("./results.json", import.meta.url));
const DOC = fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url));
const START = "<!-- bench:table:start -->";
const END = "<!-- bench:table:end -->";

const FULL: Sizes = { runnerTasks: 10_000, runnerRounds: 7, runnerReps: 20, scaleSizes: [1_000, 10_000, 100_000], chainTransitions: 200_000, initRuns: 20, synthSizes: [10, 100, 1_000], costSizes: [10, 100, 1_000, 5_000], emulateSizes: [25, 100, 500], emulateRounds: 10, alertTasks: 1_000, alertConcurrencies: [5, 20, 50, 100] };
const QUICK: Sizes = { runnerTasks: 200, runnerRounds: 3, runnerReps: 2, scaleSizes: [100, 1_000], chainTransitions: 2_000, initRuns: 2, synthSizes: [10], costSizes: [10], emulateSizes: [10], emulateRounds: 1, alertTasks: 60, alertConcurrencies: [5] };

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
  const sizes = quick ? QUICK : FULL;
  const started = Date.now();
  const host = machine();
  console.log(`flowhooks bench on ${host.cpuModel} × ${host.nproc}, ${host.memory}, node ${host.node}, load ${host.loadAverage1m}${quick ? " (quick: tiny sizes)" : ""}\n`);

  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  for (const section of SECTIONS) {
    if (only && !only.includes(section.id)) continue;
    const t = Date.now();
    process.stdout.write(`${section.id}: ${section.title} … `);
    let out: SectionOutput;
    try {
      out = await section.run(sizes);
    } catch (error) {
      const why = error instanceof Pending ? `pending: ${error.message}` : `error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
      out = { rows: [{ section: section.id, figure: section.title, value: "", baseline: "", ratio: "", goal: "", verdict: why.split("\n")[0]! }], data: { status: why } };
    }
    console.log(`${((Date.now() - t) / 1000).toFixed(1)} s`);
    rows.push(...out.rows);
    data[section.id] = out.data;
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`\n${textTable(rows)}\n\ntotal ${seconds.toFixed(0)} s`);

  if (quick || only) return; // a partial run must not replace the committed figures
  const results = { generatedAt: new Date().toISOString(), machine: host, totalSeconds: Math.round(seconds), rows, sections: data };
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  if (existsSync(DOC)) {
    const doc = readFileSync(DOC, "utf8");
    const a = doc.indexOf(START);
    const b = doc.indexOf(END);
    if (a >= 0 && b > a) {
      const block = [
        START,
        `Measured ${results.generatedAt.slice(0, 16).replace("T", " ")} UTC on ${host.cpuModel} × ${host.nproc} (${host.memory}), node ${host.node}, ${host.platform}; load average ${host.loadAverage1m} at start; ${fmt.n(Math.round(seconds))} s in all.`,
        "",
        markdownTable(rows),
        END,
      ].join("\n");
      writeFileSync(DOC, doc.slice(0, a) + block + doc.slice(b + END.length));
    }
  }
  console.log(`wrote ${RESULTS}${existsSync(DOC) ? " and the table in BENCHMARKS.md" : ""}`);
}

await main();
