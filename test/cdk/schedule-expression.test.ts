/**
 * `scheduleExpressionProblem` against EventBridge Scheduler's grammar
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), as properties:
 * every expression built from the documented field values is accepted; any string gets an answer
 * (never a throw), and a refusal is one line that shows a valid form.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scheduleExpressionProblem } from "../../lib/cdk/schedule";

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** One field's value: `*`, a value, a range, a list, or a step, from its allowed values. */
function field(values: fc.Arbitrary<string>, min: number, max: number): fc.Arbitrary<string> {
  const int = fc.integer({ min, max }).map(String);
  return fc.oneof(
    fc.constant("*"),
    values,
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.array(int, { minLength: 2, maxLength: 4 }).map((xs) => xs.join(",")),
    fc.tuple(fc.oneof(fc.constant("*"), int), fc.integer({ min: 1, max: 30 })).map(([a, step]) => `${a}/${step}`),
  );
}

const cron = fc
  .record({
    minutes: field(fc.integer({ min: 0, max: 59 }).map(String), 0, 59),
    hours: field(fc.integer({ min: 0, max: 23 }).map(String), 0, 23),
    dayOfMonth: field(fc.oneof(fc.integer({ min: 1, max: 31 }).map(String), fc.constantFrom("L", "15W", "LW")), 1, 31),
    month: field(fc.oneof(fc.integer({ min: 1, max: 12 }).map(String), fc.constantFrom(...MONTHS)), 1, 12),
    dayOfWeek: field(fc.oneof(fc.integer({ min: 1, max: 7 }).map(String), fc.constantFrom(...DAYS), fc.constantFrom("MONL", "2#3")), 1, 7),
    year: field(fc.integer({ min: 1970, max: 2199 }).map(String), 1970, 2199),
    questionInMonth: fc.boolean(),
  })
  .map((f) => `cron(${f.minutes} ${f.hours} ${f.questionInMonth ? "?" : f.dayOfMonth} ${f.month} ${f.questionInMonth ? f.dayOfWeek : "?"} ${f.year})`);

const rate = fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom("minutes", "hours", "days", "minute", "hour", "day")).map(([n, unit]) => `rate(${n} ${unit})`);

const at = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2199-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => `at(${d.toISOString().slice(0, 19)})`);

describe("schedule expressions", () => {
  it("accepts every cron(...), rate(...) and at(...) built from Scheduler's documented values", () => {
    fc.assert(fc.property(fc.oneof(cron, rate, at), (expression) => {
        expect(scheduleExpressionProblem(expression)).toBeUndefined();
      }), { numRuns: 500 });
  });

  it("answers any string without throwing; a refusal is one line that shows a valid form", () => {
    const near = fc.oneof(fc.string(), cron.map((c) => c.replace(/\?/g, "*")), cron.map((c) => c.split(" ").slice(1).join(" ")), fc.string().map((s) => `cron(${s})`), fc.string().map((s) => `rate(${s})`));
    fc.assert(
      fc.property(near, (expression) => {
        const problem = scheduleExpressionProblem(expression);
        if (problem === undefined) return;
        expect(problem).not.toContain("\n");
        expect(problem).toMatch(/e\.g\.|use "|allowed:/);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses both day fields set, and both left as ?", () => {
    expect(scheduleExpressionProblem("cron(0 6 * * * *)")).toMatch(/exactly one of day-of-month and day-of-week/);
    expect(scheduleExpressionProblem("cron(0 6 ? * ? *)")).toMatch(/exactly one of day-of-month and day-of-week/);
  });
});
