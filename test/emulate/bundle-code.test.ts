import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { instantiateBundle } from "../../lib/emulate/bundle-code";
import { LocalLambda } from "../../lib/emulate/lambda";
import type { SynthesizedFunction } from "../../lib/emulate/synth";
import { localFunction } from "./helpers";

/** A bundle folder holding `index.mjs` (and, when given, a package in its own node_modules, as `nodeModules` installs one). */
function asset(lines: string[], pkg?: { name: string; main: string }): string {
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-bundle-code-"));
  writeFileSync(join(dir, "index.mjs"), lines.join("\n"));
  if (pkg) {
    const at = join(dir, "node_modules", pkg.name);
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, "package.json"), JSON.stringify({ name: pkg.name, type: "module", exports: { import: "./index.js" } }));
    writeFileSync(join(at, "index.js"), pkg.main);
  }
  return dir;
}

let made = 0;
function fn(assetDir: string): SynthesizedFunction {
  const name = `bundle-code-${process.pid}-${++made}`;
  return localFunction(assetDir, name, { WHO: name });
}

async function payload(lambda: LocalLambda, event: unknown = {}): Promise<any> {
  const outcome = await lambda.invoke(event);
  if (!outcome.ok) throw new Error(`${outcome.errorType}: ${outcome.errorMessage}`);
  return outcome.payload;
}

/** Module state, as an esbuild bundle has it: a counter and the environment read at init. */
const COUNTER = ["let calls = 0;", "const atInit = process.env.WHO;", "export const handler = async () => ({ calls: ++calls, atInit });"];

describe("functions sharing one bundle (the flow's one code asset)", () => {
  it("each container has its own module state, made by its own init, as separate Lambda functions do", async () => {
    const dir = asset(COUNTER);
    const a = new LocalLambda(fn(dir));
    const b = new LocalLambda(fn(dir));
    expect(await payload(a)).toEqual({ calls: 1, atInit: a.fn.functionName });
    expect(await payload(a)).toEqual({ calls: 2, atInit: a.fn.functionName });
    expect(await payload(b)).toEqual({ calls: 1, atInit: b.fn.functionName });
    // A second LocalLambda for the same function is the same warm container (kept across emulations in a process).
    expect(await payload(new LocalLambda(a.fn))).toEqual({ calls: 3, atInit: a.fn.functionName });
  });

  it("shares the bundle's runtime chunk (runtime-<hash>.mjs) across containers, one module per process, while each container's own module state stays its own", async () => {
    const dir = asset([
      'import { Shape, loads } from "./runtime-test1234.mjs";',
      "let calls = 0;",
      "const mine = new Shape();",
      "export const handler = async () => ({ calls: ++calls, loads: loads(), shapeId: Shape.id, sameClass: Object.getPrototypeOf(mine) === Shape.prototype });",
    ]);
    writeFileSync(join(dir, "runtime-test1234.mjs"), ["let n = 0; n++;", "export class Shape { static id = Math.random(); }", "export const loads = () => n;"].join("\n"));
    const a = new LocalLambda(fn(dir));
    const b = new LocalLambda(fn(dir));
    const fromA = await payload(a);
    const fromB = await payload(b);
    expect(fromA).toMatchObject({ calls: 1, loads: 1, sameClass: true });
    expect(fromB).toMatchObject({ calls: 1, loads: 1, sameClass: true });
    // One runtime module: the same class (the shared code sees one shape) in both containers.
    expect(fromB.shapeId).toBe(fromA.shapeId);
    expect(await payload(a)).toMatchObject({ calls: 2 });
    // Compiled once and run per container, its chunk import no reason to import it per container instead
    // (under vitest an `index.mjs?fn=…` import would pass the checks above too: vitest drops the query).
    expect(await instantiateBundle(join(dir, "index.mjs"))).toBeDefined();
  });

  it("runs the module's code as a module: strict mode, no top-level `this`, no CommonJS names, `import.meta` naming the bundle file", async () => {
    const dir = asset([
      "const topThis = this;",
      "const commonJs = [typeof module, typeof exports, typeof __dirname, typeof __filename].join();",
      "export const handler = async () => {",
      "  let strict = false;",
      "  try { undeclaredVariable = 1; } catch (e) { strict = e instanceof ReferenceError; }",
      "  return { strict, commonJs, topThis: topThis === undefined ? 'undefined' : typeof topThis, url: import.meta.url, dirname: import.meta.dirname };",
      "};",
    ]);
    const out = await payload(new LocalLambda(fn(dir)));
    expect(out).toEqual({ strict: true, commonJs: "undefined,undefined,undefined,undefined", topThis: "undefined", url: pathToFileURL(join(dir, "index.mjs")).href, dirname: dir });
  });

  it("resolves `import()` from the bundle's folder, as the Lambda runtime resolves the SDK clients", async () => {
    const dir = asset(['export const handler = async () => { const m = await import("flowhooks-test-pkg"); return { from: m.where }; };'], {
      name: "flowhooks-test-pkg",
      main: 'export const where = "the bundle\'s node_modules";',
    });
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on("warning", listen);
    try {
      expect(await payload(new LocalLambda(fn(dir)))).toEqual({ from: "the bundle's node_modules" });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", listen);
    }
    // Node's notice that its loader for compiled code is experimental is not the user's to see.
    expect(warnings.filter((w) => w.includes("USE_MAIN_CONTEXT_DEFAULT_LOADER"))).toEqual([]);
  });

  it("imports as a module, one instance per container, a bundle with top-level await or a static import of a package", async () => {
    const awaiting = asset(["await Promise.resolve();", ...COUNTER]);
    const a = new LocalLambda(fn(awaiting));
    const b = new LocalLambda(fn(awaiting));
    expect(await payload(a)).toEqual({ calls: 1, atInit: a.fn.functionName });
    expect(await payload(a)).toEqual({ calls: 2, atInit: a.fn.functionName });
    expect(await payload(b)).toEqual({ calls: 1, atInit: b.fn.functionName });
    // ESM resolves it with the "import" condition (its only export here): a require() would not find it.
    const importing = asset(['import { where } from "flowhooks-test-pkg";', "export const handler = async () => ({ from: where });"], {
      name: "flowhooks-test-pkg",
      main: 'export const where = "imported";',
    });
    expect(await payload(new LocalLambda(fn(importing)))).toEqual({ from: "imported" });
  });

  it("reports an error thrown by the module's init as the invocation's error", async () => {
    const dir = asset(['throw new TypeError("the init failed");', "export const handler = async () => 1;"]);
    await expect(new LocalLambda(fn(dir)).invoke({})).rejects.toThrow("the init failed");
  });
});
