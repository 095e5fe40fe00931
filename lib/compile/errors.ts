import { FlowhooksError } from "../core/errors";

/** A flow cannot be compiled to a state machine that AWS would accept; the message names the fix. */
export class CompileError extends FlowhooksError {}
