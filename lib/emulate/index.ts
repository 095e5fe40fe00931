/** `flowhooks emulate`: the synthesized state machine, the bundled Lambdas and the handler, run locally. */
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
