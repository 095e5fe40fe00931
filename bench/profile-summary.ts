/**
 * Sums a V8 .cpuprofile's self time per part (a bundled Lambda, a package, a file of this repository), per
 * function (self and inclusive) and per file: `npx tsx bench/profile-summary.ts FILE [TOP]`.
 * Bundled Lambda code is named by its bundle (asset.<hash>/index.mjs).
 */
import { readFileSync } from "node:fs";

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }
const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP]");
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const top = Number(topArg ?? 40);
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const short = (url: string) => url.replace(/^file:\/\//, "").replace(/.*\/node_modules\//, "nm/").replace(/.*\/(asset\.[0-9a-f]{8})[0-9a-f]*\//, "$1/").replace(/.*\/(lib|lambdas|bench)\//, "$1/");
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || "(anonymous)"} ${short(url)}:${lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const f = short(url) || `(${functionName})`;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
};
// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
const keyOf = new Map(profile.nodes.map((n) => [n.id, `${n.callFrame.functionName || "(anonymous)"} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`]));
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(keyOf.get(at)!);
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
}
// Parts: each sample goes to the innermost frame that belongs to the bundled Lambdas (the flow's one
// bundle, asset.<hash>/index.mjs: its code compiled once, run by every container; a module copy per
// function, `?fn=` in its URL, where a bundle is imported per container), a package, or a file of
// this repository (section 6's table).
const partOf = (url: string, functionName: string): string | undefined => {
  if (url.includes("?fn=")) return url.includes("-events") ? "the handler Lambda's bundled code" : "the task Lambdas' bundled code";
  if (/\/asset\.[0-9a-f]+\/[\w.-]+\.mjs$/.test(url)) return "the Lambdas' bundled code (task and handler functions; the runtime chunk)";
  if (functionName === "(garbage collector)") return "GC";
  if (url === "node:inspector") return "the profiler";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg === "jsonpath-plus" ? "aws-local-stepfunctions" : pkg;
  const own = /.*\/((?:lib|lambdas|bench)\/[^?]*)$/.exec(url)?.[1];
  return own;
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const byPart = new Map<string, number>();
for (const [id, us] of selfUs) {
  let part: string | undefined;
  for (let at: number | undefined = id; at !== undefined && !part; at = parent.get(at)) {
    const { url, functionName } = byId.get(at)!.callFrame;
    part = partOf(url, functionName);
  }
  const key = part ?? "other (node internals, idle, the profiler)";
  byPart.set(key, (byPart.get(key) ?? 0) + us);
}
print("self time by part", byPart);
print("self time by function", byFn);
print("inclusive time by function", inclusive);
print("self time by file", byFile);
