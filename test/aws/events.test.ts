import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MalformedEventError, parseRecordBody } from "../../lib/aws/events";
import { createLogger } from "../../lib/aws/logger";
import { eventBridgeEvent, EXECUTION_ARN } from "../fixtures/index";

const parse = (envelope: unknown) => parseRecordBody(JSON.stringify(envelope));

describe("event parsing", () => {
  it("reads Step Functions' status change event, epoch-millisecond dates included", () => {
    expect(parse(eventBridgeEvent("sfn-failed"))).toMatchObject({
      kind: "execution-status",
      origin: "aws.states",
      executionArn: EXECUTION_ARN,
      status: "FAILED",
      error: "flowhooks.FlowFailed",
      redriveCount: 0,
      startDate: new Date(1551225271984),
      stopDate: new Date(1551225351881),
    });
  });

  it("reads the task Lambda's transition event and the flow's own final report", () => {
    expect(parse(eventBridgeEvent("task-retrying"))).toMatchObject({ kind: "task-transition", task: "load", attempt: 1, newState: { type: "Retrying", runCount: 1 } });
    const report = parse(eventBridgeEvent("flow-report-failed"));
    expect(report).toMatchObject({ kind: "execution-status", origin: "flow-report", status: "FAILED" });
    expect((report as any).redriveCount).toBeUndefined();
  });

  it("reads a task event's observedAfterTheFact (a Distributed Map's crashed child the collect step reported) only when it is true", () => {
    expect(parse(eventBridgeEvent("task-retrying", { mapIndex: 3, observedAfterTheFact: true }))).toMatchObject({ mapIndex: 3, observedAfterTheFact: true });
    expect(parse(eventBridgeEvent("task-retrying", { observedAfterTheFact: "yes" }))).not.toHaveProperty("observedAfterTheFact");
    expect(parse(eventBridgeEvent("task-retrying"))).not.toHaveProperty("observedAfterTheFact");
  });

  it.each([
    ["a body that is not JSON", "nope", /not JSON/],
    ["an event of another source", JSON.stringify({ source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: {} }), /is not one flowhooks handles/],
    ["an unknown status", JSON.stringify(eventBridgeEvent("sfn-running", { status: "EXPLODED" })), /unknown execution status "EXPLODED"/],
    ["a task event with attempt 0", JSON.stringify(eventBridgeEvent("task-retrying", { attempt: 0 })), /`attempt` must be an integer ≥ 1/],
    ["a task event with a state of no known type", JSON.stringify(eventBridgeEvent("task-retrying", { newState: { type: "Exploded" } })), /`newState` must be a state's JSON/],
  ])("refuses %s with a MalformedEventError that says what is wrong", (_what, body, message) => {
    expect(() => parseRecordBody(body)).toThrow(MalformedEventError);
    expect(() => parseRecordBody(body)).toThrow(message);
  });
});

describe("JSON logger", () => {
  it("writes one JSON object per line with level, message and executionArn on every line", () => {
    const lines: string[] = [];
    const logger = createLogger({ writer: (l) => lines.push(l), now: () => new Date("2026-01-01T00:00:00Z") });
    logger.info("no execution yet");
    logger.child({ executionArn: EXECUTION_ARN }).error("failed", { error: new Error("boom") });
    logger.debug("dropped below info");
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { level: "info", message: "no execution yet", timestamp: "2026-01-01T00:00:00.000Z", executionArn: null },
      { level: "error", message: "failed", timestamp: "2026-01-01T00:00:00.000Z", executionArn: EXECUTION_ARN, error: { name: "Error", message: "boom", stack: expect.any(String) } },
    ]);
  });
});

describe("bad input is refused at the edge, once (issue 14 item 15)", () => {
  const retrying = (newState: Record<string, unknown>) => {
    const e = eventBridgeEvent("task-retrying");
    e.detail.newState = { ...e.detail.newState, ...newState };
    return e;
  };

  it("a Retrying state whose startTime is not a date", () => {
    expect(() => parse(retrying({ startTime: "garbage" }))).toThrow(/`newState`: `startTime` must be an ISO date string, got "garbage"/);
  });

  it("a runCount that is not a whole number", () => {
    expect(() => parse(retrying({ runCount: "abc" }))).toThrow(/`runCount` must be a whole number ≥ 1, got "abc"/);
  });

  it("a state type inherited from Object.prototype", () => {
    expect(() => parse(retrying({ type: "constructor" }))).toThrow(MalformedEventError);
    expect(() => parse(retrying({ type: "__proto__" }))).toThrow(MalformedEventError);
  });

  it("a Step Functions status event without stateMachineArn (the misroute check needs it)", () => {
    expect(() => parse(eventBridgeEvent("sfn-failed", { stateMachineArn: undefined }))).toThrow(/`stateMachineArn` must be a non-empty string/);
  });
});

describe("what parsing reads and says does not depend on earlier records", () => {
  it("error messages name the event and the field in full (their text is made only when one is thrown)", () => {
    const where = 'Event "flowhooks Task State Change" from "flowhooks"';
    const message = (body: unknown) => {
      try {
        parse(body);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("parsed");
    };
    expect(message(eventBridgeEvent("task-retrying", { task: "" }))).toBe(`${where}: \`task\` must be a non-empty string, got "".`);
    expect(message(eventBridgeEvent("task-retrying", { oldState: { type: "Running", message: 3 } }))).toBe(`${where}: \`oldState\`: \`message\` must be a string, got 3.`);
    expect(message(eventBridgeEvent("task-retrying", { newState: { type: "Mapped", result: [{ type: "Nope" }] } }))).toMatch(
      new RegExp(`^${where}: \`newState\` cannot be read as a state: Unknown state type "Nope"`),
    );
    expect(message({ ...eventBridgeEvent("task-retrying"), detail: 1 })).toBe(`${where} has no \`detail\` object.`);
  });

  it("an envelope's time and a task event's times read as `new Date(text)` would, whatever text came before", () => {
    const texts = fc.oneof(
      fc.constantFrom("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:00.123Z", "garbage", ""),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(texts, texts), { minLength: 1, maxLength: 8 }), (pairs) => {
        for (const [time, at] of pairs) {
          const body = { ...eventBridgeEvent("task-retrying", { at }), time };
          const expectedAt = new Date(at);
          if (Number.isNaN(expectedAt.getTime())) {
            expect(() => parse(body)).toThrow(/`at` must be an ISO date string/);
            continue;
          }
          const event = parse(body);
          expect(event.at).toEqual(expectedAt);
          // The envelope's time is used where a status event carries no date of its own.
          const report = parse({ ...eventBridgeEvent("flow-report-failed"), time }) as { at: Date };
          const expectedTime = new Date(time);
          if (Number.isNaN(expectedTime.getTime())) expect(Math.abs(report.at.getTime() - Date.now())).toBeLessThan(5_000);
          else expect(report.at).toEqual(expectedTime);
        }
      }),
    );
  });
});
