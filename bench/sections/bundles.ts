/**
 * Section 3: a cold-start proxy. Bundles each Lambda's code the way a deployment does (esbuild,
 * minified, ESM, node24, AWS SDK external) and times a fresh `node` importing it, against a bundle
 * of the user's module alone and an empty handler.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildSync } from "esbuild";
import { median } from "../measure";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = join(REPO_ROOT, "bench/fixtures/one-task-flow.ts");
const TASK_RUNTIME = join(REPO_ROOT, "lambdas/task/index.ts");
const HANDLER_RUNTIME = join(REPO_ROOT, "lambdas/handler/index.ts");
// Inside node_modules so the bundles resolve the (external) AWS SDK as a Lambda would from its runtime.
const OUT = join(REPO_ROOT, "node_modules/.cache/flowhooks-bench");
const NODE = join(REPO_ROOT, "node_modules/.bin/node");

export interface BundleFigure {
  name: string;
  bytes: number;
  initMs: number;
}

/** Entry sources, as the generated entry of lib/cdk/bundle.ts writes them. */
function entries(): Record<string, string | undefined> {
  const fixture = JSON.stringify(FIXTURE);
  return {
    empty: `export const handler = async () => ({});\n`,
    userOnly: `import { benchFlow } from ${fixture};\nexport const handler = async () => benchFlow.name;\n`,
    task: existsSync(TASK_RUNTIME)
      ? `import { benchFlow } from ${fixture};\nimport { createTaskHandler } from ${JSON.stringify(TASK_RUNTIME)};\nexport const task = createTaskHandler(benchFlow);\n`
      : undefined,
    handler: existsSync(HANDLER_RUNTIME)
      ? `import { benchFlow } from ${fixture};\nimport { createEventsHandler } from ${JSON.stringify(HANDLER_RUNTIME)};\nexport const events = createEventsHandler(benchFlow);\n`
      : undefined,
  };
}

function bundle(name: string, source: string): string {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, "entry.mjs");
  writeFileSync(entry, source);
  const outfile = join(dir, "index.mjs");
  buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    minify: true,
    keepNames: true,
    external: ["@aws-sdk/*"],
    banner: { js: 'import { createRequire as __r } from "node:module"; const require = __r(import.meta.url);' },
    absWorkingDir: REPO_ROOT,
    logLevel: "silent",
  });
  return outfile;
}

/** Median wall time of a fresh node process that imports `file` and exits, minus nothing: the baseline is measured alike. */
function initTimes(files: Record<string, string>, runs: number): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((k) => [k, []]));
  // Interleaved, so load from other processes hits every bundle alike.
  for (let i = 0; i < runs; i++) {
    for (const [name, file] of Object.entries(files)) {
      const url = pathToFileURL(file).href;
      // The child reports its own import time, so process start-up is left out.
      const script = `const t=process.hrtime.bigint();await import(${JSON.stringify(url)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
      const out = spawnSync(NODE, ["--input-type=module", "-e", script], { encoding: "utf8" });
      if (out.status !== 0) throw new Error(`importing the ${name} bundle failed: ${out.stderr}`);
      times[name]!.push(Number(out.stdout));
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

export interface BundleResults {
  figures: BundleFigure[];
  /** Task bundle minus the user-only bundle: what the task runtime adds to user code. */
  taskRuntimeOverheadBytes?: number;
  /** Init time of the task bundle minus the empty handler's. */
  taskInitOverheadMs?: number;
  handlerInitOverheadMs?: number;
  pending: string[];
}

export function bundleSection(runs = 20): BundleResults {
  const files: Record<string, string> = {};
  const pending: string[] = [];
  for (const [name, source] of Object.entries(entries())) {
    if (source === undefined) pending.push(`${name}: ${name === "task" ? TASK_RUNTIME : HANDLER_RUNTIME} does not exist yet`);
    else {
      files[name] = bundle(name, source);
    }
  }
  const init = initTimes(files, runs);
  const figures = Object.entries(files).map(([name, file]) => ({ name, bytes: readFileSync(file).byteLength, initMs: init[name]! }));
  const by = (n: string) => figures.find((f) => f.name === n);
  return {
    figures,
    taskRuntimeOverheadBytes: by("task") && by("userOnly") ? by("task")!.bytes - by("userOnly")!.bytes : undefined,
    taskInitOverheadMs: by("task") ? by("task")!.initMs - by("empty")!.initMs : undefined,
    handlerInitOverheadMs: by("handler") ? by("handler")!.initMs - by("empty")!.initMs : undefined,
    pending,
  };
}
