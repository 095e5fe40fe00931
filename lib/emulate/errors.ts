/** Errors of the emulator; each message names what to change. */
import { FlowhooksError } from "../core/errors";

/** The synthesized definition uses something aws-local-stepfunctions cannot run faithfully. */
export class UnsupportedDefinitionError extends FlowhooksError {}

/** The synthesized cloud assembly is not what FlowStateMachine produces (missing state machine, function or asset). */
export class AssemblyError extends FlowhooksError {}
