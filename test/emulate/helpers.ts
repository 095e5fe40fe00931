/**
 * Shared by the emulator tests: one synthesized, bundled target per fixture, shared across test
 * files (each file runs in its own worker), and a Slack webhook on 127.0.0.1.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { compileFlow } from "../../lib/compile/index";
import { prepareDefinition, prepareEmulation, type EmulationResult, type EmulationTarget, type PrepareOptions } from "../../lib/emulate/index";
import type { MapMode } from "../../lambdas/task/payload";
import type { SynthesizedFunction } from "../../lib/emulate/synth";

const repoRoot = join(import.meta.dirname, "..", "..");
const targets = new Map<string, Promise<EmulationTarget>>();
const CACHE_ROOT = join(tmpdir(), "flowhooks-emulate-tests");

/** Assemblies of sources that changed since stay behind; a day later they go. */
const MAX_AGE_MS = 24 * 3600 * 1000;
let pruned = false;
function prune(): void {
  if (pruned || !existsSync(CACHE_ROOT)) return;
  pruned = true;
  for (const name of readdirSync(CACHE_ROOT)) {
    const path = join(CACHE_ROOT, name);
    if (Date.now() - statSync(path).mtimeMs > MAX_AGE_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** Every input of a synthesis (flowhooks' code, the examples and fixtures, the lockfile): a change to any of them synthesizes again. */
let sourcesDigest: string | undefined;
function sources(): string {
  if (sourcesDigest) return sourcesDigest;
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(repoRoot, path)).update("\0").update(readFileSync(path)).update("\0");
    }
  };
  for (const dir of ["lib", "lambdas", "examples", "test/emulate/fixtures"]) walk(join(repoRoot, dir));
  hash.update(readFileSync(join(repoRoot, "package-lock.json")));
  sourcesDigest = hash.digest("hex");
  return sourcesDigest;
}

/**
 * The cloud assembly of `entry` with `stackProps`, synthesized by whichever test file asks first;
 * later files (and runs with unchanged sources) read it instead of synthesizing again.
 */
export async function sharedTarget(entry: string, options: Partial<PrepareOptions> = {}): Promise<EmulationTarget> {
  const key = createHash("sha256").update(sources()).update(relative(repoRoot, entry)).update(JSON.stringify(options.stackProps ?? {})).digest("hex").slice(0, 24);
  let target = targets.get(key);
  if (target) return target;
  const dir = join(CACHE_ROOT, key);
  prune();
  target = (async () => {
    if (existsSync(join(dir, "READY"))) return prepareEmulation({ entry, ...options, assembly: join(dir, "cdk.out") });
    mkdirSync(CACHE_ROOT, { recursive: true });
    // Synthesized aside, then renamed into place: a file that asks meanwhile synthesizes its own copy, never reads half of one.
    const building = join(CACHE_ROOT, `${key}.${randomUUID()}`);
    const prepared = await prepareEmulation({ entry, ...options, outdir: building });
    writeFileSync(join(building, "READY"), "");
    try {
      renameSync(building, dir);
      return prepareEmulation({ entry, ...options, assembly: join(dir, "cdk.out") });
    } catch {
      return prepared; // another file published first; this copy stays where it was built
    }
  })();
  targets.set(key, target);
  return target;
}

/** The fixture's flow, synthesized and bundled once for all test files. */
export function fixtureTarget(name: string, options: Partial<PrepareOptions> = {}): Promise<EmulationTarget> {
  return sharedTarget(join(import.meta.dirname, "fixtures", `${name}.ts`), options);
}

/** The cloud assembly folder of a target (for `FLOWHOOKS_EMULATE_ASSEMBLY`). */
export function assemblyOf(target: EmulationTarget): string {
  return target.synthesized.outdir;
}

/** `task NAME` / `flow NAME` → its transitions as `Old -> New`. */
export function transitionsOf(result: EmulationResult, kind: "task" | "flow", name: string): string[] {
  return result.transitions.filter((t) => t.kind === kind && t.name === name).map((t) => `${t.oldState.name} -> ${t.newState.name}`);
}

/**
 * `target` with its mapped tasks compiled in `mapMode` (and with a results bucket, so Distributed
 * Maps compile): the definition lib/compile makes for FlowStateMachine's `tasks: { t: { mapMode } }`,
 * run against the target's own bundled functions.
 */
export function withMapMode(target: EmulationTarget, mapMode: MapMode): EmulationTarget {
  const functions = [...target.synthesized.functions.values()];
  const compiled = compileFlow(target.flow, {
    taskFunctionArn: (task) => functions.find((f) => f.environment.FLOWHOOKS_TASK === task)!.arn,
    mapMode: () => mapMode,
    resultsBucket: "flowhooks-results",
  });
  const definitionString = JSON.stringify(compiled.definition);
  return { ...target, synthesized: { ...target.synthesized, definitionString }, prepared: prepareDefinition(definitionString) };
}

/** A function of an assembly as the emulator reads it, its code the `index.mjs` in `assetDir` (for LocalLambda tests). */
export function localFunction(assetDir: string, name: string, environment: Record<string, string> = {}): SynthesizedFunction {
  return {
    logicalId: name,
    functionName: name,
    arn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    handler: "index.handler",
    timeoutSeconds: 5,
    memorySize: 128,
    environment,
    assetDir,
  };
}
