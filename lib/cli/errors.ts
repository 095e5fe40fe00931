/**
 * CLI errors. Each carries the process exit code it maps to, so `bin/cli.ts` prints one line and
 * exits without knowing which command failed.
 */
import { FlowhooksError } from "../core/errors";

/** Exit codes: 0 success, 1 the flow failed, 2 the command was used wrongly. */
export const EXIT = { ok: 0, flowFailed: 1, usage: 2 } as const;

/** A mistake in how the CLI was called (bad arguments, missing file, no flow exported…); exits 2. */
export class UsageError extends FlowhooksError {
  readonly exitCode: number = EXIT.usage;
}
