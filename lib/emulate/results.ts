/**
 * The emulator's stand-in for the results bucket: task functions write results above the threshold
 * to a local folder (lib/aws/results.ts `folderResultStore`), through the same code they run in AWS.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SynthesizedFunction } from "./synth";

let processFolder: string | undefined;

/**
 * The folder standing in for the results bucket: one per process, as one bucket serves every
 * execution. Task containers stay warm across emulations and keep the store they opened first, so
 * a folder per run would split one execution's results across two folders; keys name the
 * execution, so runs never read each other's results.
 */
export function newResultsFolder(): string {
  processFolder ??= mkdtempSync(join(tmpdir(), "flowhooks-results-"));
  return processFolder;
}

/** `fn` with its results bucket replaced by `dir`: the bundled store reads `FLOWHOOKS_RESULTS_DIR` when no bucket is set. */
export function withResultsFolder(fn: SynthesizedFunction, dir: string): SynthesizedFunction {
  if (fn.environment.FLOWHOOKS_RESULTS_BUCKET === undefined) return fn;
  const { FLOWHOOKS_RESULTS_BUCKET: _bucket, ...environment } = fn.environment;
  return { ...fn, environment: { ...environment, FLOWHOOKS_RESULTS_DIR: dir } };
}
