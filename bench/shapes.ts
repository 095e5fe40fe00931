/** Flows of a given shape and size with no-op tasks, for the compile, synth, cost and emulation sections. */
import { Flow } from "../lib/core/flow";
import { task, type Task, type TaskRef } from "../lib/core/task";

export type FlowShape = "chain" | "fan-out" | "diamond";

/**
 * `n` tasks: a chain; one root feeding n-1 tasks; or a diamond (a root, n-2 tasks in parallel, one
 * task joining them).
 */
export function shapedFlow(shape: FlowShape, n: number, name = `bench-${shape}-${n}`): Flow {
  const make = (i: number) => task({ name: `t${i}` }, (..._inputs: unknown[]) => i) as Task<unknown[], number>;
  return new Flow({ name }, () => {
    const root = make(0)();
    if (shape === "chain") {
      let prev: TaskRef<number> = root;
      for (let i = 1; i < n; i++) prev = make(i)(prev);
      return;
    }
    const middle: TaskRef<number>[] = [];
    const last = shape === "diamond" ? n - 1 : n;
    for (let i = 1; i < last; i++) middle.push(make(i)(root));
    if (shape === "diamond") make(n - 1)(...middle);
  });
}
