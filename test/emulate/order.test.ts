import { describe, expect, it } from "vitest";
import { Failed, Pending, Retrying, Running, Success, type State } from "../../lib/index";
import { byTimeThenPhase } from "../../lib/emulate/emulate";
import type { TimelineTransition } from "../../lib/cli/timeline";

const at = new Date("2026-01-01T00:00:00.000Z");
const t = (name: string, oldState: State, newState: State, extra: Partial<TimelineTransition> = {}): TimelineTransition => ({
  kind: "task",
  name,
  attempt: 1,
  oldState,
  newState,
  at,
  ...extra,
});
const show = (list: TimelineTransition[]) => list.map((x) => `${x.name}${x.mapIndex === undefined ? "" : `[${x.mapIndex}]`}#${x.attempt} ${x.oldState.name}->${x.newState.name}`);

describe("the emulated timeline's order of transitions in one millisecond", () => {
  it("keeps two tasks' transitions in the order they were recorded (an upstream's end before the downstream's start)", () => {
    const recorded = [t("upstream", new Running(), new Success()), t("downstream", new Pending(), new Running())];
    expect(show([...recorded].sort(byTimeThenPhase))).toEqual(["upstream#1 Running->Success", "downstream#1 Pending->Running"]);
  });

  it("orders one task's (or one child's) transitions by attempt, then within the attempt, whatever order they arrived in", () => {
    const arrived = [
      t("t", new Retrying(), new Running(), { attempt: 2, mapIndex: 3 }),
      t("t", new Running(), new Failed(), { mapIndex: 3 }),
      t("t", new Pending(), new Running(), { mapIndex: 3 }),
      t("t", new Pending(), new Running(), { mapIndex: 1 }),
    ];
    expect(show([...arrived].sort(byTimeThenPhase))).toEqual(["t[3]#1 Pending->Running", "t[3]#1 Running->Failed", "t[3]#2 Retrying->Running", "t[1]#1 Pending->Running"]);
  });
});
