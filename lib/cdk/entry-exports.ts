/**
 * Synth-time check that `entry` exports the flow `FlowStateMachine` deploys. Without it, an entry
 * that exists but holds no such export (the stack's file, a module that forgot `export`) synthesizes,
 * deploys, and then every task fails when its bundle loads.
 *
 * Two sources, neither of which runs the user's code again:
 * - the entry's module as the app already loaded it (CommonJS apps, `cdk init`'s kind, keep it in
 *   `require.cache`): its real exports, matched as the task runtime's `selectFlow` matches them;
 * - otherwise the entry's export names as esbuild reads them from the source (ESM apps): an entry
 *   exporting nothing, or not the `exportName` asked for, is refused.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { buildSync } from "esbuild";
import { FlowDefinitionError } from "../core/errors";

/** The export names of `entry` and of the local modules it re-exports, or undefined when its source does not say (CommonJS, or it does not build). */
export function staticExportNames(entry: string): string[] | undefined {
  try {
    const result = buildSync({
      entryPoints: [entry],
      bundle: true,
      packages: "external",
      write: false,
      metafile: true,
      format: "esm",
      platform: "node",
      outdir: dirname(entry),
      absWorkingDir: dirname(entry),
      logLevel: "silent",
    });
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
    // A CommonJS entry shows only `default`; its real names are known at run time only.
    if (!output || Object.values(result.metafile.inputs).some((i) => i.format === "cjs") ) return undefined;
    return output.exports;
  } catch {
    return undefined; // bundling reports the entry's own errors, with their locations
  }
}

/** The exports of `entry` as the running app loaded it through `require`, if it did. */
function loadedExports(entry: string): Record<string, unknown> | undefined {
  const loaded = createRequire(entry).cache[entry];
  return loaded?.loaded && typeof loaded.exports === "object" && loaded.exports !== null ? (loaded.exports as Record<string, unknown>) : undefined;
}

function isFlowLike(value: unknown): value is { name: string } {
  return typeof value === "object" && value !== null && typeof (value as { graph?: unknown }).graph === "function" && typeof (value as { name?: unknown }).name === "string";
}

const list = (names: readonly string[]) => (names.length === 0 ? "nothing" : names.map((n) => `\`${n}\``).join(", "));

/**
 * Throws a FlowDefinitionError naming the exports found when `entry` (an absolute path that
 * exists) does not export the flow named `flowName` (or has no export `exportName`).
 */
export function assertEntryExportsFlow(owner: string, entry: string, flowName: string, exportName?: string): void {
  const fix = exportName === undefined
    ? `export the flow from it (export const flow = new Flow({ name: "${flowName}" }, …)), point \`entry\` at the module that does, or set \`exportName\``
    : "set `exportName` to the export that holds the flow, or export it under that name";
  const exports = loadedExports(entry);
  if (exports) {
    const names = Object.keys(exports);
    const found = exportName !== undefined ? isFlowLike(exports[exportName]) : names.some((n) => isFlowLike(exports[n]) && exports[n].name === flowName);
    if (found) return;
    const what = exportName !== undefined ? `no flow in export \`${exportName}\`` : `no flow named \`${flowName}\``;
    throw new FlowDefinitionError(`${owner}: \`entry\` ${entry} exports ${list(names)} but ${what}; ${fix}.`);
  }
  const names = staticExportNames(entry);
  if (names === undefined) return;
  if (names.length === 0) throw new FlowDefinitionError(`${owner}: \`entry\` ${entry} exports nothing, so the task functions would find no flow; ${fix}.`);
  if (exportName !== undefined && !names.includes(exportName)) {
    throw new FlowDefinitionError(`${owner}: \`entry\` ${entry} has no export \`${exportName}\` (it exports ${list(names)}); ${fix}.`);
  }
}
