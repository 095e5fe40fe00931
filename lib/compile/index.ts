/** Flow → Step Functions definition (pure data, used by lib/cdk and the emulator). */
export {
  compileFlow,
  stateKeys,
  assertDefinitionSize,
  successPathTransitions,
  topologicalLevels,
  taskRetrier,
  STATE_NAMES,
  mapStateNames,
  MAP_PATH,
  MAP_RESULTS_PREFIX,
  FLOW_OUTCOME_PATH,
  MAX_DEFINITION_CHARS,
  DEFAULT_DISTRIBUTED_MAP_CONCURRENCY,
  PRUNE_AFTER_DEAD_OUTPUTS,
  PRUNED_FLAG,
  LOOP_PATH,
  MAX_HISTORY_EVENTS,
  historyEventsOutsideLoops,
  type AslDefinition,
  type AslState,
  type CompileOptions,
  type CompiledFlow,
  type CompiledPart,
  PART_DEFINITION_CHARS,
  type CompiledTask,
  type TransientRetryOptions,
} from "./compile";
export { validateDefinition, type ValidateOptions } from "./validate";
export { CompileError } from "./errors";
export * from "../../lambdas/task/payload";
