/**
 * One code asset per flow: a generated entry imports the user's module and exports one Lambda
 * handler per entry of `BUNDLE_HANDLERS`, bundled once with esbuild's JS API (never Docker), as
 * `index.mjs` (the flow's own code) importing `runtime-<hash>.mjs` (the flowhooks runtime, a chunk
 * of its own; `runtime.mjs` is the second entry that makes it one). Deployed, a container loads
 * both once, as one file before; the emulator shares the runtime chunk across its containers
 * (lib/emulate/bundle-code.ts) while each container keeps its own module of the flow's code.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";
import { FlowhooksError } from "../core/errors";
import { LAMBDA_RUNTIME, PACKAGE_ROOT } from "../package";
import { esbuildOptions, installNodeModules, type FlowBundlingOptions } from "./bundling-options";

/** Where esbuild or the entry module failed; the message says what to fix. */
export class BundlingError extends FlowhooksError {}

/** One export of the bundle: `export const <exportName> = <factory>(flow)` from `module`. */
export interface BundleHandler {
  /** The export's name; a function's handler is `index.<exportName>`. */
  readonly exportName: string;
  /** Absolute path of the module that provides `factory`. */
  readonly module: string;
  /** The factory, called once per container with the flow. */
  readonly factory: string;
}

/** The handlers every flow bundle exports. Adding a Lambda entry point is one more line here. */
export const BUNDLE_HANDLERS: BundleHandler[] = [
  { exportName: "task", module: LAMBDA_RUNTIME, factory: "createTaskHandler" },
  { exportName: "events", module: LAMBDA_RUNTIME, factory: "createEventsHandler" },
  { exportName: "reconcile", module: LAMBDA_RUNTIME, factory: "createReconcileHandler" },
  { exportName: "interact", module: LAMBDA_RUNTIME, factory: "createInteractHandler" },
];

export interface BundleRequest {
  /** Path of the module that exports the flow. */
  readonly entry: string;
  /** The flow's name, to find its export. */
  readonly flowName: string;
  /** The export holding the flow. @default - the export that is a flow named `flowName` */
  readonly exportName?: string;
  /** @default BUNDLE_HANDLERS */
  readonly handlers?: readonly BundleHandler[];
  /** esbuild's target: the oldest Node.js that runs the bundle. @default "node24" */
  readonly target?: string;
  /** Where bundles go. @default - a folder under the OS temp dir */
  readonly outRoot?: string;
  /** The construct's `bundling` prop. @default - minified, `@aws-sdk/*` external, no source map */
  readonly bundling?: FlowBundlingOptions;
}

/** The bundle's entry source: imports the flow's module and exports one handler per `handlers` entry. */
export function bundleEntrySource(request: BundleRequest): string {
  const handlers = request.handlers ?? BUNDLE_HANDLERS;
  const lines = [
    `import * as flowModule from ${JSON.stringify(resolve(request.entry))};`,
    `import { selectFlow } from ${JSON.stringify(LAMBDA_RUNTIME)};`,
    ...handlers.map((h, i) => `import { ${h.factory} as factory${i} } from ${JSON.stringify(h.module)};`),
    `const flow = selectFlow(flowModule, ${JSON.stringify(request.flowName)}, ${request.exportName === undefined ? "undefined" : JSON.stringify(request.exportName)});`,
    ...handlers.map((h, i) => `export const ${h.exportName} = factory${i}(flow);`),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * The second entry of every bundle: the Lambda runtime alone. What it shares with the flow's entry
 * (the runtime and the flowhooks core the flow's module imports) becomes one chunk.
 */
function runtimeEntrySource(): string {
  return `export * from ${JSON.stringify(LAMBDA_RUNTIME)};\n`;
}

/** What a bundle folder holds, in the cache key: a folder of another layout is never reused. */
const BUNDLE_LAYOUT = "index.mjs + runtime chunk";

/** Node.js 24, the default runtime of task and handler functions (task-functions.ts, DEFAULT_RUNTIME). */
const DEFAULT_TARGET = "node24";

const cache = new Map<string, string>();

/**
 * Bundles the flow's code to `<dir>/index.mjs` and returns `<dir>`; repeated requests in one
 * process reuse the first bundle.
 */
export function bundleFlow(request: BundleRequest): string {
  const entry = resolve(request.entry);
  if (!existsSync(entry)) {
    throw new BundlingError(`The flow's entry module ${entry} does not exist; set \`entry\` to the file that exports the flow.`);
  }
  const source = bundleEntrySource(request);
  const key = createHash("sha256").update(BUNDLE_LAYOUT).update(source).update(JSON.stringify(request.bundling ?? {})).update(request.target ?? DEFAULT_TARGET).digest("hex").slice(0, 16);
  const root = request.outRoot ?? join(tmpdir(), "flowhooks-bundles");
  const cached = cache.get(`${root}\0${key}`);
  if (cached) return cached;

  const entryDir = join(root, `entry-${key}`);
  const outDir = join(root, `asset-${key}`);
  mkdirSync(entryDir, { recursive: true });
  const entryFile = join(entryDir, "entry.mjs");
  writeFileSync(entryFile, source);
  const runtimeFile = join(entryDir, "runtime.mjs");
  writeFileSync(runtimeFile, runtimeEntrySource());
  try {
    buildSync({
      // Two entries, so the flowhooks runtime they share is a chunk of its own (runtime-<hash>.mjs)
      // that index.mjs imports: one module per Lambda container, as before; in the emulator, one
      // per process, while the flow's own module (index.mjs) is still one per container.
      entryPoints: [
        { in: entryFile, out: "index" },
        { in: runtimeFile, out: "runtime" },
      ],
      outdir: outDir,
      outExtension: { ".js": ".mjs" },
      splitting: true,
      chunkNames: "runtime-[hash]",
      bundle: true,
      platform: "node",
      target: request.target ?? DEFAULT_TARGET,
      format: "esm",
      // State classes and tasks keep their names through minification (messages and JSON rely on them).
      keepNames: true,
      // Bundled CommonJS dependencies may call require(); ESM output has none without this shim.
      ...esbuildOptions(request.bundling, 'import { createRequire as __flowhooksRequire } from "node:module"; const require = __flowhooksRequire(import.meta.url);'),
      absWorkingDir: PACKAGE_ROOT,
      nodePaths: [join(PACKAGE_ROOT, "node_modules")],
      logLevel: "silent",
    });
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors ?? [];
    const detail = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join("; ");
    throw new BundlingError(`Bundling flow \`${request.flowName}\` from ${entry} failed: ${detail || String(error)}`, { cause: error });
  }
  try {
    installNodeModules(outDir, entry, request.bundling?.nodeModules ?? []);
  } catch (error) {
    throw new BundlingError((error as Error).message, { cause: error });
  }
  cache.set(`${root}\0${key}`, outDir);
  return outDir;
}

/** The bundle's size in bytes, its chunks included (for limits and benchmarks). */
export function bundleSize(outDir: string): number {
  return readdirSync(outDir)
    .filter((f) => f.endsWith(".mjs"))
    .reduce((bytes, f) => bytes + readFileSync(join(outDir, f)).byteLength, 0);
}
