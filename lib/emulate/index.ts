/**
 * lib/emulate (`flowhooks emulate`): the synthesized state machine, the bundled Lambdas and the
 * handler, run locally. Reading order for a newcomer (docs/design-notes.md has a table of the parts):
 *  1. command.ts, app.ts: the command; synthesizing the user's CDK app.
 *  2. emulate.ts: `emulate()` wires the parts below and asks an engine to run the execution.
 *  3. synth.ts, definition.ts, limits.ts, state-sizes.ts: the stack synthesized with real bundling;
 *     the definition adapted (on a copy) for the interpreter; AWS's limits, enforced (each state's
 *     size worked out from its input's where the ASL says how the output was made).
 *  4. engine.ts, local-engine.ts, moto/: the engine seam; aws-local-stepfunctions in-process; moto.
 *  5. lambda-host.ts, lambda.ts, bundle-code.ts, container-env.ts: the bundled task Lambdas
 *     in-process, each container with its own module state of the flow's code (compiled once, run
 *     once per container; the flowhooks runtime chunk one module shared by all) and only the
 *     environment Lambda would give it.
 *  6. eventbridge.ts, secrets-manager.ts, local-service.ts, results.ts, distributed-map.ts: stand-ins
 *     on 127.0.0.1 or disk for PutEvents, GetSecretValue, the results bucket, a Distributed Map's S3 side.
 *  7. handler-queue.ts, envelopes.ts, handler-lambda.ts, chain-recorder.ts: rule → queue → handler
 *     Lambda, in AWS's envelopes; the handler's chains recorded for the timeline.
 *  8. alert-channels.ts, stack-channels.ts, preflight.ts: the channels as the stack configures
 *     them; the notifiers' secrets checked inside a task container.
 */
export {
  emulate,
  prepareEmulation,
  prepareAppEmulation,
  type AppEmulationOptions,
  type AppEmulationTarget,
  type EmulateOptions,
  type EmulationResult,
  type EmulationTarget,
  type EmulatorEvent,
  type PrepareOptions,
  type TaskInvocation,
} from "./emulate";
export { emulateCommand, type EmulateCommandOptions } from "./command";
export type { EmulationEngine, ExecutionOutcome, ExecutionRequest } from "./engine";
export { MotoEngine, motoEngine, MotoUnsupportedError, type MotoEngineOptions } from "./moto/engine";
export { MotoUnavailableError, MOTO_INSTALL } from "./moto/server";
export { prepareDefinition, RETRY_COUNT_MARKER, type PreparedDefinition } from "./definition";
export { synthesizeApp, findFlowStateMachines, selectConstruct, type FoundFlowStateMachine, type SynthesizeAppOptions } from "./app";
export { synthesizeFlow, readAssembly, type SynthesizedFlow, type SynthesizedFunction } from "./synth";
export { UnsupportedDefinitionError, AssemblyError } from "./errors";
