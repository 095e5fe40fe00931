/**
 * `signals.LOOP` compiled: each task state (and each mapped child) catches `flowhooks.Looped` first
 * and re-enters itself, no `Retry` can swallow it, and the history budget a loop may use is set once
 * for the flow, from what the rest of the definition can take.
 */
import { describe, expect, it } from "vitest";
import { Flow, task, unmapped } from "../../lib/index";
import { compileFlow, successPathTransitions, historyEventsOutsideLoops, LOOP_PATH, mapStateNames, MAX_HISTORY_EVENTS, STATE_NAMES, validateDefinition, type AslState } from "../../lib/compile/index";
import { layeredFlow } from "../helpers/cdk";

const arn = (n: string) => `arn:aws:lambda:us-east-1:123456789012:function:fh-${n}`;

function flowWithRetries(): Flow {
  return new Flow({ name: "loops" }, () => {
    const a = task({ name: "a", maxRetries: 3 }, () => 1)();
    const b = task({ name: "b" }, (x: number) => x)(a);
    const c = task({ name: "c", maxRetries: 1 }, (x: number) => x)(a);
    const items = task({ name: "items" }, () => [1, 2])();
    task({ name: "each", maxRetries: 2 }, (x: number, y: number, z: number) => x + y + z).map(items, unmapped(b), unmapped(c));
  });
}

/** Every Task state of a definition, Parallel branches and Map item processors included. */
function allTaskStates(states: Record<string, AslState>): [string, AslState][] {
  return Object.entries(states).flatMap(([name, state]): [string, AslState][] => {
    if (state.Type === "Task") return [[name, state]];
    if (state.Type === "Parallel") return (state.Branches as { States: Record<string, AslState> }[]).flatMap((b) => allTaskStates(b.States));
    if (state.Type === "Map") return allTaskStates((state.ItemProcessor as { States: Record<string, AslState> }).States);
    return [];
  });
}

describe("compiling signals.LOOP", () => {
  it("gives every task state and mapped child a first Catch for flowhooks.Looped that re-enters the state, keeping its input", () => {
    const { definition } = compileFlow(flowWithRetries(), { taskFunctionArn: arn });
    const names = mapStateNames("each");
    const loopable = allTaskStates(definition.States).filter(([, s]) => !(s.Parameters as { Payload?: { mode?: string } }).Payload?.mode || (s.Parameters as { Payload: { mode: string } }).Payload.mode === "child");
    expect(loopable.map(([n]) => n).sort()).toEqual(["a", "b", "c", names.child, "items"].sort());
    for (const [name, state] of loopable) {
      expect((state.Catch as AslState[])[0]).toEqual({ ErrorEquals: ["flowhooks.Looped"], ResultPath: `${LOOP_PATH}.caught`, Next: `${name}.Loop` });
      // Back through a Pass: LocalStack's interpreter cannot take a Catch to the state it is in.
      const hops = JSON.stringify(definition).match(new RegExp(`"${name.replace(".", "\\.")}\\.Loop":\\{"Type":"Pass","Next":"${name.replace(".", "\\.")}"\\}`, "g"));
      expect(hops).toHaveLength(1);
      expect((state.Parameters as { Payload: Record<string, unknown> }).Payload["loop.$"]).toBe(LOOP_PATH);
    }
    expect(() => validateDefinition("loops", definition)).not.toThrow();
  });

  it("never retries flowhooks.Looped: no Retry of any state names it or States.ALL", () => {
    const { definition } = compileFlow(flowWithRetries(), { taskFunctionArn: arn });
    for (const [, state] of allTaskStates(definition.States)) {
      for (const retrier of (state.Retry ?? []) as AslState[]) {
        expect(retrier.ErrorEquals).not.toContain("flowhooks.Looped");
        expect(retrier.ErrorEquals).not.toContain("States.ALL");
      }
    }
  });

  it("sets the loop's history budget once, in the start state and each Map's items: 25,000 less what the rest of the flow can take", () => {
    const { definition } = compileFlow(flowWithRetries(), { taskFunctionArn: arn });
    const start = (definition.States[STATE_NAMES.start]!.Parameters as { flowhooksLoop: { budget: number } }).flowhooksLoop;
    const attempts = (s: AslState) => 1 + Number(((s.Retry ?? []) as AslState[]).find((r) => (r.ErrorEquals as string[]).includes("flowhooks.Retrying"))?.MaxAttempts ?? 0);
    const outside = historyEventsOutsideLoops(definition, attempts);
    expect(start).toEqual({ budget: MAX_HISTORY_EVENTS - outside });
    // Two events per state, three per Lambda attempt with every retry a task allows (a: 4 attempts, c: 2, each's prepare and collect: 1).
    expect(outside).toBeGreaterThan(50);
    expect(outside).toBeLessThan(200);
    const slots = JSON.stringify(definition).match(/"flowhooksLoop":\{"budget":(\d+)\}/g)!;
    // The start state and the Map's ItemSelector (the flow is too small to prune).
    expect(slots).toHaveLength(2);
    expect(new Set(slots)).toEqual(new Set([`"flowhooksLoop":{"budget":${MAX_HISTORY_EVENTS - outside}}`]));
  });

  it("costs no state transition on the success path and about 150 characters per task state", () => {
    const { definition } = compileFlow(layeredFlow(100, 1), { taskFunctionArn: arn });
    const text = JSON.stringify(definition);
    const loopParts = text.match(/\{"ErrorEquals":\["flowhooks\.Looped"\],"ResultPath":"\$\.flowhooksLoop\.caught","Next":"[^"]*"\},|,"loop\.\$":"\$\.flowhooksLoop"|,"[^"]*\.Loop":\{"Type":"Pass","Next":"[^"]*"\}/g)!;
    expect(loopParts).toHaveLength(300);
    const perTask = loopParts.join("").length / 100;
    expect(perTask).toBeGreaterThan(130);
    expect(perTask).toBeLessThan(170);
    // The success path never enters a hop: the same transitions as the definition without them.
    const withoutHops = { ...definition, States: Object.fromEntries(Object.entries(definition.States).filter(([n]) => !n.endsWith(".Loop"))) };
    expect(successPathTransitions(definition)).toBe(successPathTransitions(withoutHops));
    expect(successPathTransitions(definition)).toBeLessThanOrEqual(110);
  });
});
