import { describe, expect, it } from "vitest";
import {
  Cached,
  Cancelled,
  Failed,
  Finished,
  Flow,
  Pending,
  Retrying,
  Running,
  Scheduled,
  Skipped,
  Success,
  TimedOut,
  TriggerFailed,
  consoleNotifier,
  signals,
  stateFilter,
  task,
  type State,
} from "../../lib/index";

class QuotaExceeded extends Failed {}

const all: State[] = [
  new Pending(),
  new Scheduled(),
  new Retrying(),
  new Running(),
  new Success(),
  new Cached(),
  new Skipped(),
  new Failed(),
  new TimedOut(),
  new TriggerFailed(),
  new Cancelled(),
  new QuotaExceeded(),
];
const names = (keep: (s: State) => boolean) => all.filter(keep).map((s) => s.constructor.name);

describe("which states a notifier reports", () => {
  it("by default: every finished state and Retrying, never Pending, Scheduled or Running", () => {
    expect(names(stateFilter({}, "test"))).toEqual([
      "Retrying",
      "Success",
      "Cached",
      "Skipped",
      "Failed",
      "TimedOut",
      "TriggerFailed",
      "Cancelled",
      "QuotaExceeded",
    ]);
  });

  it("onlyStates includes subclasses", () => {
    expect(names(stateFilter({ onlyStates: [Failed] }, "test"))).toEqual(["Failed", "TimedOut", "TriggerFailed", "QuotaExceeded"]);
    expect(names(stateFilter({ onlyStates: [Scheduled] }, "test"))).toEqual(["Scheduled", "Retrying"]);
  });

  it("ignoreStates removes subclasses too, also from onlyStates", () => {
    expect(names(stateFilter({ ignoreStates: [Success] }, "test"))).toEqual([
      "Retrying",
      "Failed",
      "TimedOut",
      "TriggerFailed",
      "Cancelled",
      "QuotaExceeded",
    ]);
    expect(names(stateFilter({ onlyStates: [Failed], ignoreStates: [TriggerFailed] }, "test"))).toEqual([
      "Failed",
      "TimedOut",
      "QuotaExceeded",
    ]);
    expect(names(stateFilter({ ignoreStates: [Finished] }, "test"))).toEqual(["Retrying"]);
  });

  it("a user's own state subclass is accepted", () => {
    expect(names(stateFilter({ onlyStates: [QuotaExceeded] }, "test"))).toEqual(["QuotaExceeded"]);
  });

  it("a non-array filter is refused with an example", () => {
    expect(() => stateFilter({ onlyStates: Failed as any }, "slackNotifier")).toThrow(
      /slackNotifier: `onlyStates` must be an array of state classes, e.g. onlyStates: \[Failed, Retrying\]/,
    );
  });
});

describe("consoleNotifier in a flow run", () => {
  it("prints one alert per reported transition (ignoring Success also ignores Skipped) and leaves states unchanged", async () => {
    const lines: string[] = [];
    const notifier = consoleNotifier({ write: (t) => lines.push(t), ignoreStates: [Success] });
    const ok = task({ name: "ok" }, () => 1);
    const skip = task({ name: "skip" }, () => {
      throw new signals.SKIP("nothing to do");
    });
    const bad = task({ name: "bad" }, () => {
      throw new Error("boom");
    });
    const flow = new Flow({ name: "orders", tasks: [ok, skip, bad], alerts: [notifier] });
    const final = await flow.run();

    expect(final.isFailed()).toBe(true);
    expect([...final.result].map(([t, s]) => `${t.name}: ${s}`)).toEqual([
      'ok: Success("Task run succeeded.")',
      'skip: Skipped("nothing to do")',
      'bad: Failed("Error during execution of task: Error: boom")',
    ]);
    expect(lines).toEqual([
      "✖ Task bad failed in flow orders\n  Error during execution of task: Error: boom",
      "✖ Flow orders failed\n  Some reference tasks failed. (bad)",
    ]);
  });
});
