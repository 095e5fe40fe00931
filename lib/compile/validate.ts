/** Checks a definition with asl-validator, the same checks Step Functions' schema makes, at synth time. */
import aslValidator from "asl-validator";
import type { AslDefinition } from "./compile";
import { CompileError } from "./errors";

export interface ValidateOptions {
  /** Check that task `Resource`s are ARNs. @default true */
  readonly checkArn?: boolean;
}

/** Throws a `CompileError` listing asl-validator's findings when `definition` is not valid ASL. */
export function validateDefinition(flowName: string, definition: AslDefinition, options: ValidateOptions = {}): void {
  // asl-validator writes defaults (QueryLanguage) into what it checks, so it gets a copy.
  const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: options.checkArn ?? true });
  if (!result.isValid) {
    throw new CompileError(
      `The state machine compiled from flow \`${flowName}\` is not valid ASL (a flowhooks bug; please report it ` +
        `with the flow's shape): ${result.errorsText("; ")}`,
    );
  }
}
