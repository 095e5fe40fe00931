import { describe, expect, it } from "vitest";
import {
  Cached,
  Cancelled,
  Failed,
  Finished,
  Flow,
  Looped,
  Pending,
  Retrying,
  Running,
  Scheduled,
  Skipped,
  State,
  Success,
  Task,
  TimedOut,
  TriggerFailed,
  signals,
  task,
} from "../../lib/index";

const truth: [State, string[]][] = [
  [new State(), []],
  [new Pending(), ["isPending"]],
  [new Scheduled(), ["isPending", "isScheduled"]],
  [new Retrying(), ["isPending", "isScheduled", "isRetrying"]],
  [new Running(), ["isRunning"]],
  [new Finished(), ["isFinished"]],
  [new Success(), ["isFinished", "isSuccessful"]],
  [new Skipped(), ["isFinished", "isSuccessful", "isSkipped"]],
  [new Cached(), ["isFinished", "isSuccessful"]],
  [new Failed(), ["isFinished", "isFailed"]],
  [new TriggerFailed(), ["isFinished", "isFailed"]],
  [new TimedOut(), ["isFinished", "isFailed"]],
  [new Cancelled(), ["isFinished", "isCancelled"]],
];
const predicates = [
  "isPending",
  "isScheduled",
  "isRetrying",
  "isRunning",
  "isFinished",
  "isSuccessful",
  "isFailed",
  "isSkipped",
  "isCancelled",
] as const;

describe("states", () => {
  it.each(truth)("%s answers exactly its predicates (Prefect's truth table)", (state, expected) => {
    for (const p of predicates) expect([p, state[p]()]).toEqual([p, expected.includes(p)]);
  });

  it("instanceof follows the hierarchy", () => {
    const r = new Retrying("again", { runCount: 2 });
    expect(r).toBeInstanceOf(Scheduled);
    expect(r).toBeInstanceOf(Pending);
    expect(new TimedOut()).toBeInstanceOf(Failed);
    expect(new Skipped()).toBeInstanceOf(Success);
    expect(new Cancelled()).not.toBeInstanceOf(Failed);
  });

  it("every state has its fields as own properties, in declaration order, even those left undefined", () => {
    const at = new Date("2026-01-01T00:00:00.000Z");
    expect(Reflect.ownKeys(new Pending())).toEqual(["message", "result"]);
    expect(Object.hasOwn(new Success("done"), "result")).toBe(true);
    expect(Reflect.ownKeys(new Retrying("again", { startTime: at, result: 1 }))).toEqual(["message", "result", "startTime", "runCount"]);
    expect(Reflect.ownKeys(new Looped(undefined, { loopCount: 2 }))).toEqual(["message", "result", "loopCount"]);
    expect({ ...new Retrying(undefined, { startTime: at }) }).toStrictEqual({ message: undefined, result: undefined, startTime: at, runCount: 1 });
  });

  it("prints Name(\"message\") or Name() as the seed guide does", () => {
    expect(String(new Scheduled())).toBe("Scheduled()");
    expect(String(new Running("Running flow."))).toBe('Running("Running flow.")');
    expect(String(new Success("Task run succeeded."))).toBe('Success("Task run succeeded.")');
    expect(String(new Failed('say "hi"'))).toBe('Failed("say "hi"")');
  });

  it("prints flows and tasks as <Flow: name=…> and <Task: …>", () => {
    expect(String(new Flow({ name: "demo" }))).toBe("<Flow: name=demo>");
    expect(String(new Task())).toBe("<Task: Task>");
    expect(String(task(function load() {}))).toBe("<Task: load>");
    expect(String(task({ name: "other" }, () => 1))).toBe("<Task: other>");
  });

  it("round-trips through JSON keeping class, message, times, run count and result", () => {
    const startTime = new Date("2026-03-01T10:00:05.000Z");
    const original = new Retrying("Retrying Task (after attempt 2 of 4)", { startTime, runCount: 2, result: { rows: [1, 2] } });
    const back = State.fromJSON(JSON.parse(JSON.stringify(original)));
    expect(back).toBeInstanceOf(Retrying);
    const r = back as Retrying;
    expect(r.message).toBe(original.message);
    expect(r.startTime.toISOString()).toBe(startTime.toISOString());
    expect(r.runCount).toBe(2);
    expect(r.result).toEqual({ rows: [1, 2] });
    expect(State.fromJSON(new Pending().toJSON()).message).toBeUndefined();
  });

  it("round-trips an error result with its name, message and extra fields", () => {
    const error = Object.assign(new TypeError("bad row"), { row: 7 });
    const back = State.fromJSON(JSON.stringify(new Failed("x", { result: error })));
    expect(back.result).toBeInstanceOf(Error);
    expect((back.result as Error).name).toBe("TypeError");
    expect((back.result as Error).message).toBe("bad row");
    expect((back.result as { row: number }).row).toBe(7);
  });

  it("round-trips a signal result as the signal class with its data", () => {
    const sig = new signals.FAIL("a equaled b!", { flag: true, value: 1 });
    const back = State.fromJSON(JSON.stringify(sig.toState()));
    expect(back).toBeInstanceOf(Failed);
    expect(back.result).toBeInstanceOf(signals.FAIL);
    expect((back.result as signals.FAIL).flag).toBe(true);
    expect((back.result as signals.FAIL).value).toBe(1);
  });

  it("refuses unknown JSON with a message listing the known types", () => {
    expect(() => State.fromJSON({ type: "Exploded" as never })).toThrow(/Unknown state type "Exploded"; expected one of State, Pending/);
  });
});
