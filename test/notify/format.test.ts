import { describe, expect, it } from "vitest";
import {
  Cancelled,
  Failed,
  Flow,
  Retrying,
  Running,
  Skipped,
  Success,
  TimedOut,
  TriggerFailed,
  alertFromTransition,
  alertTitle,
  executionConsoleUrl,
  formatConsoleAlert,
  formatSlackMessage,
  formatSnsMessage,
  stateColor,
  task,
  withRunContext,
  type Alert,
  type State,
} from "../../lib/index";
import { LIMITS as ALERT_LIMITS, snsSubject, truncate } from "../../lib/notify/format";

const T0 = new Date("2026-03-01T12:00:00.000Z");
const ARN = "arn:aws:states:us-east-2:123456789012:execution:orders-sm:2f1c";

function taskAlert(newState: State, extra: Partial<Alert> = {}): Alert {
  return { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState, at: T0, ...extra };
}

describe("the alert built from a transition", () => {
  it("takes the flow, execution, attempt and console link from the run context", () => {
    const load = task({ name: "load", maxRetries: 2 }, () => 1);
    const alert = withRunContext({ flowName: "orders", executionId: ARN, runtime: "lambda", attempt: 2 }, () =>
      alertFromTransition(load, new Running(), new Failed("boom"), { at: T0 }),
    );
    expect(alert).toEqual({
      kind: "task",
      flow: "orders",
      task: "load",
      oldState: new Running(),
      newState: new Failed("boom"),
      at: T0,
      attempt: 2,
      maxAttempts: 3,
      executionId: ARN,
      consoleUrl: `https://us-east-2.console.aws.amazon.com/states/home?region=us-east-2#/v2/executions/details/${ARN}`,
    });
  });

  it("a Retrying state's run count is the attempt; a flow has no task; after-the-fact transitions are marked", () => {
    const flow = new Flow({ name: "orders" }, () => {});
    const load = task({ name: "load" }, () => 1);
    const retrying = alertFromTransition(load, new Failed(), new Retrying("again", { runCount: 4 }), {
      context: { flowName: "orders", executionId: "local:1", runtime: "local", observedAfterTheFact: true },
    });
    expect(retrying.attempt).toBe(4);
    expect(retrying.observedAfterTheFact).toBe(true);
    expect(retrying.consoleUrl).toBeUndefined();
    const flowAlert = alertFromTransition(flow, new Running(), new Success());
    expect(flowAlert).toMatchObject({ kind: "flow", flow: "orders" });
    expect(flowAlert.task).toBeUndefined();
  });

  it("only execution ARNs get a console link", () => {
    expect(executionConsoleUrl("local:orders:abc")).toBeUndefined();
    expect(executionConsoleUrl("arn:aws:states:eu-west-1:123456789012:stateMachine:orders")).toBeUndefined();
    expect(executionConsoleUrl(ARN)).toContain("https://us-east-2.console.aws.amazon.com/states/home?region=us-east-2#/v2/executions/details/");
  });
});

describe("titles and colours", () => {
  it("say what happened to which task in which flow", () => {
    expect(alertTitle(taskAlert(new Failed()))).toBe("Task load failed in flow orders");
    expect(alertTitle(taskAlert(new TimedOut()))).toBe("Task load timed out in flow orders");
    expect(alertTitle(taskAlert(new TriggerFailed()))).toBe("Task load did not run: its trigger failed in flow orders");
    expect(alertTitle(taskAlert(new Skipped()))).toBe("Task load was skipped in flow orders");
    expect(alertTitle({ ...taskAlert(new Cancelled()), kind: "flow", task: undefined })).toBe("Flow orders was cancelled");
    const startTime = new Date("2026-03-01T12:05:00.000Z");
    expect(alertTitle(taskAlert(new Retrying("r", { runCount: 1, startTime }), { maxAttempts: 3 }))).toBe(
      "Task load is retrying (attempt 1 of 3) at 2026-03-01T12:05:00.000Z in flow orders",
    );
  });

  it("use Prefect's state colours, subclasses keeping their own", () => {
    expect(stateColor(new Failed())).toBe("#eb0000");
    expect(stateColor(new TimedOut())).toBe("#ff4e33");
    expect(stateColor(new TriggerFailed())).toBe("#ff5131");
    expect(stateColor(new Retrying())).toBe("#f66a0a");
    expect(stateColor(new Success())).toBe("#28a745");
    expect(stateColor(new Skipped())).toBe("#62757f");
    expect(stateColor(new Cancelled())).toBe("#bdbdbd");
  });
});

describe("size limits", () => {
  it("truncate cuts to the limit with a marker saying how much was cut", () => {
    const out = truncate("x".repeat(20_000), 1_000);
    expect(out).toHaveLength(1_000);
    expect(out.endsWith(`… [truncated ${20_000 - out.indexOf("…")} chars]`)).toBe(true);
    expect(truncate("short", 10)).toBe("short");
    for (const max of [31, 32]) {
      const emoji = truncate("😀".repeat(100), max);
      expect(emoji.length).toBeLessThanOrEqual(max);
      expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });

  it("a long cause stays within Slack's section and text limits, with the marker", () => {
    const error = new Error("stack overflow ".repeat(10_000) + "<&>".repeat(5_000));
    const payload = formatSlackMessage(taskAlert(new Failed(`Error during execution of task: ${error}`, { result: error })));
    const sections = payload.attachments[0]!.blocks.filter((b: any) => b.text).map((b: any) => b.text.text as string);
    expect(sections).toHaveLength(2);
    for (const text of sections) {
      expect(text.length).toBeLessThanOrEqual(ALERT_LIMITS.slackSectionText);
      expect(text).toMatch(/… \[truncated \d+ chars\]/);
    }
    expect(payload.text.length).toBeLessThanOrEqual(ALERT_LIMITS.slackText);
    expect(payload.text).toMatch(/… \[truncated \d+ chars\]$/);
    expect(payload.blocks[0]!).toMatchObject({ text: { text: "Task load failed in flow orders" } });
  });

  it("a long cause stays within SNS's 256 KB message limit, with the marker", () => {
    // Multi-byte and control characters make the JSON bytes much larger than the character count.
    const error = new Error("é\u0001".repeat(400_000));
    const { message, subject } = formatSnsMessage(taskAlert(new Failed("failed", { result: error })));
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(256 * 1024);
    const body = JSON.parse(JSON.parse(message).default);
    expect(body.error.cause).toMatch(/… \[truncated \d+ chars\]$/);
    expect(body.error.cause.length).toBeGreaterThan(10_000);
    expect(subject).toBe("Task load failed in flow orders");
  });

  it("SNS subjects are ASCII, single-line and under 100 characters", () => {
    const subject = snsSubject(`Task ${"ünïcode\nname ".repeat(20)} failed in flow ørders`);
    expect(subject.length).toBeLessThanOrEqual(99);
    expect(subject).toMatch(/^[\x20-\x7e]+\.\.\.$/);
    expect(subject.startsWith("Task unicode name unicode")).toBe(true);
  });
});

describe("console alerts", () => {
  it("print the title and one detail line with the error and the console link", () => {
    const error = new TypeError("x is undefined");
    const text = formatConsoleAlert(
      taskAlert(new Failed("load broke", { result: error }), {
        consoleUrl: "https://us-east-2.console.aws.amazon.com/states/home",
      }),
    );
    expect(text).toBe(
      "✖ Task load failed in flow orders\n  load broke | TypeError: x is undefined | https://us-east-2.console.aws.amazon.com/states/home",
    );
    expect(formatConsoleAlert({ ...taskAlert(new Success()), kind: "flow", task: undefined })).toBe("✔ Flow orders succeeded");
  });
});
