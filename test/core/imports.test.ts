/**
 * Imports point down (CONVENTIONS 17, DESIGN.md "Layers"): no import cycles among lib/, lambdas/ and
 * bin/ (type-only imports count: a cycle is a cycle to a reader), no file imports a layer above its
 * own, lib/core imports only lib/core, and the two Lambdas (lambdas/task, lambdas/handler) share
 * code only through a layer below them.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith(".d.ts") && !e.parentPath.includes("node_modules"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Each file's relative imports and re-exports (static and dynamic), resolved to files. */
function importGraph(): Map<string, string[]> {
  const files = new Set(["lib", "lambdas", "bin"].flatMap(sources));
  const resolve = (from: string, spec: string) => {
    const base = join(dirname(from), spec.replace(/\.(js|mjs|cjs)$/, ""));
    return [`${base}.ts`, `${base}.mts`, `${base}.cts`, join(base, "index.ts")].find((c) => files.has(c));
  };
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), "utf8");
    const deps = new Set<string>();
    for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g)) {
      const target = resolve(file, (m[1] ?? m[2])!);
      if (target) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * DESIGN.md's layers, with the folders it does not name placed, top first (docs/design-notes.md
 * "Map of the code" has the same table), each a list of path prefixes: a file may import its own
 * layer and the layers below it. The emulator runs what lib/cdk synthesizes with the CLI's timeline; the run
 * report is the CLI's page (the two import each other's files, never in a cycle).
 */
const LAYERS: readonly { name: string; paths: readonly string[] }[] = [
  { name: "entry points", paths: ["bin/", "lib/index.ts"] },
  { name: "emulator", paths: ["lib/emulate/"] },
  { name: "CLI and run report", paths: ["lib/cli/", "lib/run-report/"] },
  { name: "constructs", paths: ["lib/cdk/"] },
  { name: "compiler", paths: ["lib/compile/"] },
  { name: "Lambda entry points", paths: ["lambdas/"] },
  { name: "AWS adapters", paths: ["lib/aws/"] },
  { name: "notifiers", paths: ["lib/notify/"] },
  { name: "engine", paths: ["lib/core/"] },
  { name: "package location", paths: ["lib/package.ts"] },
];

/** The index in LAYERS of the layer holding `file`, or -1. */
function layerOf(file: string, layers = LAYERS): number {
  return layers.findIndex((l) => l.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
}

/** `a -> b (X imports Y, a layer above it)` for every import of a higher layer, and every file in no layer. */
function upwardImports(graph: Map<string, string[]>, layers = LAYERS): string[] {
  const found: string[] = [];
  for (const [file, deps] of graph) {
    const own = layerOf(file, layers);
    if (own < 0) {
      found.push(`${file} is in no layer: add its folder to LAYERS here and to docs/design-notes.md "Map of the code"`);
      continue;
    }
    for (const dep of deps) {
      const theirs = layerOf(dep, layers);
      if (theirs >= 0 && theirs < own) found.push(`${file} -> ${dep} (${layers[own]!.name} imports ${layers[theirs]!.name}, a layer above it)`);
    }
  }
  return found;
}

/** Imports between the two Lambdas: what both need belongs in a layer below them (lib/aws, lib/notify, lib/core). */
function crossLambdaImports(graph: Map<string, string[]>): string[] {
  const lambda = (f: string) => /^lambdas\/([^/]+)\//.exec(f)?.[1];
  return [...graph].flatMap(([file, deps]) =>
    deps.filter((d) => lambda(file) && lambda(d) && lambda(file) !== lambda(d)).map((d) => `${file} -> ${d}`),
  );
}

describe("the checks themselves", () => {
  it("an import of a higher layer, and a file in no layer, are reported", () => {
    const graph = new Map([
      ["lib/notify/sns.ts", ["lib/aws/sns.ts", "lib/core/states.ts"]],
      ["lib/aws/sns.ts", ["lib/notify/ports.ts"]],
      ["lib/stray/x.ts", []],
    ]);
    expect(upwardImports(graph)).toEqual([
      "lib/notify/sns.ts -> lib/aws/sns.ts (notifiers imports AWS adapters, a layer above it)",
      'lib/stray/x.ts is in no layer: add its folder to LAYERS here and to docs/design-notes.md "Map of the code"',
    ]);
  });

  it("a cycle through type-only imports is reported, and one Lambda importing the other", () => {
    const graph = new Map([
      ["lambdas/handler/index.ts", ["lambdas/task/results.ts"]],
      ["lambdas/task/results.ts", ["lambdas/task/run.ts"]],
      ["lambdas/task/run.ts", ["lambdas/task/results.ts"]],
    ]);
    expect(cycles(graph)).toEqual([["lambdas/task/results.ts", "lambdas/task/run.ts"]]);
    expect(crossLambdaImports(graph)).toEqual(["lambdas/handler/index.ts -> lambdas/task/results.ts"]);
  });
});

describe("imports point down", () => {
  const graph = importGraph();

  it("lib/, lambdas/ and bin/ have no import cycles", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("no file imports a layer above its own (bin → emulator → CLI → cdk → compile → lambdas → aws → notify → core)", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("lib/core imports nothing outside lib/core", () => {
    const outward = [...graph].flatMap(([file, deps]) => (file.startsWith("lib/core/") ? deps.filter((d) => !d.startsWith("lib/core/")).map((d) => `${file} -> ${d}`) : []));
    expect(outward).toEqual([]);
  });

  it("the task Lambda and the handler Lambda import nothing of each other", () => {
    expect(crossLambdaImports(graph)).toEqual([]);
  });
});
