/**
 * Which task function moto's interpreter asked for, and which attempt it is: moto names the function
 * (by ARN or name) and sends the payload the state built, whose `context.State.RetryCount` and
 * `item.index` say the attempt and a mapped child's index, as the task Lambda itself reads them.
 */
import type { ExecutionRequest } from "../engine";
import type { InvocationOutcome } from "../lambda";
import type { SynthesizedFunction } from "../synth";
import type { Invoker } from "./lambda-endpoint";

type Payload = { mode?: string; item?: { index?: unknown }; context?: { State?: { RetryCount?: unknown } } } | undefined;

/** Told when a task's approval invocation paused it (its function returned): the wait began. */
export type OnPaused = (task: string) => void;

/** The Task state a payload came from: a mapped task's prepare, child or collect step (lib/compile's state names), else the task's state. */
function stateNameOf(fn: SynthesizedFunction, task: string, payload: Payload): string {
  if (payload?.mode === "child") return `${task}.Child`;
  if (payload?.mode === "collect") return `${task}.Collect`;
  if (payload?.mode === "approval") return `${task}.Approval`;
  return fn.environment.FLOWHOOKS_TASK ?? task;
}

/** Invocations of one execution, run by its Lambda host. */
export function motoInvoker(request: ExecutionRequest, onPaused?: OnPaused): Invoker {
  return async (name: string, payload: unknown): Promise<InvocationOutcome | undefined> => {
    const fn = request.host.find(name);
    if (!fn) return undefined;
    const p = payload as Payload;
    const task = request.host.taskOf(fn, name);
    const retryCount = typeof p?.context?.State?.RetryCount === "number" ? p.context.State.RetryCount : 0;
    const mapIndex = p?.mode === "child" && typeof p.item?.index === "number" ? p.item.index : undefined;
    const outcome = await request.host.invoke(fn, payload, { stateName: stateNameOf(fn, task, p), invocation: retryCount + 1, mapIndex });
    if (p?.mode === "approval" && outcome.ok) onPaused?.(task);
    return outcome;
  };
}
