/**
 * Imports point down (CONVENTIONS 17): no import cycles among lib/, lambdas/ and bin/ (type-only
 * imports count: a cycle is a cycle to a reader), lib/core imports only lib/core, and lambdas/
 * never imports the compiler or the constructs above it.
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

describe("imports point down", () => {
  const graph = importGraph();

  it("lib/, lambdas/ and bin/ have no import cycles", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("lib/core imports nothing outside lib/core", () => {
    const outward = [...graph].flatMap(([file, deps]) => (file.startsWith("lib/core/") ? deps.filter((d) => !d.startsWith("lib/core/")).map((d) => `${file} -> ${d}`) : []));
    expect(outward).toEqual([]);
  });

  it("lambdas/ imports neither the compiler nor the constructs", () => {
    const upward = [...graph].flatMap(([file, deps]) =>
      file.startsWith("lambdas/") ? deps.filter((d) => d.startsWith("lib/compile/") || d.startsWith("lib/cdk/")).map((d) => `${file} -> ${d}`) : [],
    );
    expect(upward).toEqual([]);
  });
});
