/** How the CLI reports an error: one line naming the fix, the stack only with `--verbose`. */
import { FlowDefinitionError, SecretNotFoundError } from "../core/errors";
import { EXIT, UsageError } from "./errors";

/** Writes the error to `err` and returns the exit code it maps to. */
export function reportError(error: unknown, options: { verbose?: boolean; err?: { write(text: string): unknown } } = {}): number {
  const err = options.err ?? process.stderr;
  // A missing secret is found before anything runs (flow.run()'s preflight, emulate's check): set it and run again.
  const usage = error instanceof UsageError || error instanceof FlowDefinitionError || error instanceof SecretNotFoundError;
  const message = error instanceof Error ? error.message : String(error);
  // One line: compilers and loaders put the useful part of their message on later lines.
  const oneLine = message.replace(/\s*\n\s*/g, " ").trim();
  const hint = options.verbose || usage ? "" : " (run with --verbose for the stack trace)";
  err.write(`flowhooks: ${oneLine}${hint}\n`);
  if (options.verbose && error instanceof Error) {
    err.write(`${error.stack ?? ""}\n`);
    if (error.cause instanceof Error) err.write(`Caused by: ${error.cause.stack ?? error.cause.message}\n`);
  }
  return error instanceof UsageError ? error.exitCode : usage ? EXIT.usage : EXIT.flowFailed;
}
