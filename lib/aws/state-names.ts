/**
 * The names a compiled state machine and its readers agree on: the states lib/compile adds, a
 * mapped task's states, and the flag set in the execution JSON once outputs were pruned. The
 * history reader (history.ts) and the handler Lambda read executions by these names, so they live
 * below both, and lib/compile builds the definition with them.
 */

/** Names of the states the compiler adds; task names cannot contain ".", so these never collide. */
export const STATE_NAMES = {
  start: "flowhooks.Start",
  level: (i: number) => `flowhooks.Level${i}`,
  part: (i: number) => `flowhooks.Part${i}`,
  partDone: "flowhooks.PartDone",
  partFailed: "flowhooks.PartFailed",
  prune: (i: number) => `flowhooks.Prune${i}`,
  infra: (task: string) => `${task}.Infra`,
  /** The `Pass` a task state's `flowhooks.Looped` Catch goes to, back to the task state (`loopHop`); any Task state's name. */
  loop: (taskState: string) => `${taskState}.Loop`,
  decide: "flowhooks.Decide",
  failureCause: "flowhooks.FailureCause",
  reportSucceeded: "flowhooks.ReportSucceeded",
  reportFailed: "flowhooks.ReportFailed",
  succeeded: "flowhooks.FlowSucceeded",
  failed: "flowhooks.FlowFailed",
} as const;

/**
 * The states of a mapped task `t` (always in a `Parallel` branch): `t` (prepare), `t.Route`,
 * `t.Done` (the parent ended without children), `t.Map` (inline) and `t.MapDistributed` (only with
 * a results bucket), the child task and its crash record inside each Map's `ItemProcessor`
 * (`t.Child`/`t.ChildInfra` inline; `t.DistChild`/`t.DistChildInfra` in the
 * distributed processor, since state names are unique in a whole state machine), `t.Collect`, `t.Infra`.
 */
export function mapStateNames(task: string) {
  return {
    prepare: task,
    route: `${task}.Route`,
    done: `${task}.Done`,
    map: `${task}.Map`,
    mapDistributed: `${task}.MapDistributed`,
    child: `${task}.Child`,
    childInfra: `${task}.ChildInfra`,
    distributedChild: `${task}.DistChild`,
    distributedChildInfra: `${task}.DistChildInfra`,
    collect: `${task}.Collect`,
    infra: STATE_NAMES.infra(task),
  } as const;
}

/**
 * Set in the execution JSON once outputs were dropped (their Catch records are in the history only),
 * or when a large flow keeps compact records (`{ failed }`) instead of task states: readers go to the history.
 */
export const PRUNED_FLAG = "flowhooksPruned";

/** The states of flowRun task `t`; the branch starts at `first`. */
export function flowRunStateNames(task: string) {
  return {
    first: `${task}.Attempt1`,
    start: task,
    route: `${task}.Route`,
    run: `${task}.Run`,
    collect: `${task}.Collect`,
    ended: `${task}.Ended`,
    wait: `${task}.Wait`,
    next: `${task}.NextAttempt`,
    done: `${task}.Done`,
    infra: `${task}.Infra`,
  } as const;
}
