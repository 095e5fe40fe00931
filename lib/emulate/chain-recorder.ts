/**
 * What the handler Lambda's state-handler chains decide, recorded for the timeline: a first handler
 * notes the old state, a last one the outcome; and the handler Lambda's logger, which reports lines as
 * emulator events and tells the recorder when a chain threw.
 */
import type { RunContext } from "../core/context";
import { isFlow, type Flow, type FlowGraph } from "../core/flow";
import type { StateHandler } from "../core/handlers";
import { Failed, type State } from "../core/states";
import type { Logger, LogFields } from "../aws/logger";
import type { TimelineTransition } from "../cli/timeline";

/** Records what the handler Lambda's chains decide: a first handler notes the old state, a last one the outcome. */
export class ChainRecorder {
  private readonly pending: { obj: unknown; oldState: State; attempt?: number; mapIndex?: number; observed: boolean }[] = [];
  /** The bundle's own run context reader (the bundled handler carries its own copy of lib/core). */
  private getRunContext: () => RunContext | undefined = () => undefined;
  constructor(private readonly onTransition: (t: TimelineTransition) => void) {}

  readonly before: StateHandler = (obj, oldState) => {
    const context = this.getRunContext();
    this.pending.push({ obj, oldState, attempt: context?.attempt, mapIndex: context?.mapIndex, observed: Boolean(context?.observedAfterTheFact) });
  };

  readonly after: StateHandler = (obj, _oldState, newState) => {
    this.resolve(obj, newState);
  };

  /** The chain ended early: a handler threw (the handler Lambda logs it with the error). */
  threw(obj: string, error: unknown): void {
    const pending = this.pending.find((p) => String(p.obj) === obj);
    if (pending) this.resolve(pending.obj, new Failed(`Unexpected error while calling state handlers: ${String(error)}`, { result: error }));
  }

  private resolve(obj: unknown, newState: State): void {
    const index = this.pending.findIndex((p) => p.obj === obj);
    if (index < 0) return;
    const [p] = this.pending.splice(index, 1) as [(typeof this.pending)[number]];
    // Duck-typed: the bundled handler's Flow is another copy of the class.
    const isTask = !(isFlow(obj) || typeof (obj as { graph?: unknown }).graph === "function");
    this.onTransition({
      kind: isTask ? "task" : "flow",
      name: (obj as { name: string }).name,
      attempt: isTask ? p.attempt : undefined,
      ...(isTask && p.mapIndex !== undefined ? { mapIndex: p.mapIndex } : {}),
      oldState: p.oldState,
      newState,
      at: new Date(),
    });
  }

  /** The flow as the handler sees it: the same object, with the recorders around every chain. */
  wrap(flow: Flow, runtime: { getRunContext: () => RunContext | undefined }): Flow {
    this.getRunContext = runtime.getRunContext;
    const wrapHandlers = <T>(handlers: readonly StateHandler<T>[]) => [this.before, ...handlers, this.after] as StateHandler<T>[];
    let graph: FlowGraph | undefined;
    return new Proxy(flow, {
      get: (target, prop, receiver) => {
        if (prop === "stateHandlers") return wrapHandlers(target.stateHandlers);
        if (prop === "graph") {
          return () => {
            if (graph) return graph;
            const real = target.graph();
            const nodes = real.nodes.map((n) => ({ ...n, stateHandlers: wrapHandlers(n.stateHandlers) }));
            graph = { ...real, nodes, byName: new Map(nodes.map((n) => [n.name, n])) } as FlowGraph;
            return graph;
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
  }
}

type LineLevel = "debug" | "info" | "warn" | "error";

/**
 * A Logger for the handler Lambda that reports lines as events and tells the recorder when a chain threw.
 * Methods, not closures: the handler makes a child logger or two per record. A child keeps its parent
 * and its own fields, and merges them when it first writes a line: most children (the per-record
 * ones) never write one, and merging every child eagerly was a fifth of the handler path's CPU.
 */
class HandlerLogger implements Logger {
  private merged: LogFields | undefined;

  constructor(
    private readonly onLine: (level: LineLevel, message: string, fields: LogFields) => void,
    private readonly own: LogFields,
    private readonly parent?: HandlerLogger,
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.onLine("debug", message, { ...this.base(), ...fields });
  }

  info(message: string, fields?: LogFields): void {
    this.onLine("info", message, { ...this.base(), ...fields });
  }

  warn(message: string, fields?: LogFields): void {
    this.onLine("warn", message, { ...this.base(), ...fields });
  }

  error(message: string, fields?: LogFields): void {
    this.onLine("error", message, { ...this.base(), ...fields });
  }

  child(fields: LogFields): Logger {
    // A copy: the fields are those given now, as when children merged at once.
    return new HandlerLogger(this.onLine, { ...fields }, this);
  }

  /** The fields on every line: the parent's, then this logger's own (a later key's value wins, in the first key's place). */
  private base(): LogFields {
    return (this.merged ??= this.parent ? { ...this.parent.base(), ...this.own } : this.own);
  }
}

/** A Logger for the handler Lambda that reports lines as events and tells the recorder when a chain threw. */
export function handlerLogger(onLine: (level: LineLevel, message: string, fields: LogFields) => void, base: LogFields = {}): Logger {
  return new HandlerLogger(onLine, { ...base });
}
