/**
 * lib/compile: a flow → a Step Functions definition, pure data (no CDK, no AWS SDK), used by lib/cdk
 * and the emulator. Reading order for a newcomer:
 *  1. compile.ts: `compileFlow`, a `FlowCompiler` whose `compile()` reads as its steps (place the
 *     tasks, split if too large, chain the levels, the final states). The states it adds are named in
 *     lib/aws/state-names.ts (the history reader shares them); what each task state sends its
 *     Lambda is lambdas/task/payload.ts.
 *  2. validate.ts: the definition checked with asl-validator at synth.
 *  3. errors.ts: `CompileError`, whose message names the fix.
 */
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
  COMPACT_AFTER_DECISION_OUTPUTS,
  MAX_COMPACT_RECORDS_BYTES,
  MAX_READ_OUTPUTS_BYTES,
  TASK_STATES_NOTE_KEY,
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
