/**
 * A task Paused for approval in a deployed execution alerts with how to answer it: the exact
 * `flowhooks resume` command (and `--reject`) on every channel's layout; a local run's alert has
 * none (it is answered where it runs).
 */
import { describe, expect, it } from "vitest";
import { Paused, Pending, type Alert } from "../../lib/index";
import { alertTitle, alertToJSON, answerCommand, formatConsoleAlert, formatEmailText, formatSlackMessage } from "../../lib/notify/format";

const T0 = new Date("2026-03-01T12:00:00.000Z");
const ARN = "arn:aws:states:us-east-2:123456789012:execution:Release-sm:2f1c";
const COMMAND = `flowhooks resume ${ARN} deploy`;

function paused(extra: Partial<Alert> = {}): Alert {
  return { kind: "task", flow: "release", task: "deploy", oldState: new Pending(), newState: new Paused("Waiting for approval.", { startTime: T0 }), at: T0, executionId: ARN, ...extra };
}

describe("a Paused task's alert", () => {
  it("is titled as waiting for approval", () => {
    expect(alertTitle(paused())).toBe("Task deploy is waiting for approval in flow release");
  });

  it("says the exact command that approves it and the one that rejects it, in Slack, e-mail, console and JSON", () => {
    const expected = `${COMMAND} (to reject: ${COMMAND} --reject "reason")`;
    expect(JSON.stringify(formatSlackMessage(paused()))).toContain(JSON.stringify(`*To answer*\n${expected}`).slice(1, -1));
    expect(formatEmailText(paused())).toContain(`To answer: ${expected}`);
    expect(formatConsoleAlert(paused())).toContain(`To answer: ${expected}`);
    expect(alertToJSON(paused()).howToAnswer).toBe(expected);
  });

  it("in a local run (no execution ARN) carries no command: it is answered where it runs", () => {
    const local = paused({ executionId: "local-4f2a" });
    expect(alertToJSON(local).howToAnswer).toBeUndefined();
    expect(formatEmailText(local)).not.toContain("flowhooks resume");
  });

  it("quotes a task name the shell would expand", () => {
    expect(answerCommand(ARN, "deploy[1]")).toBe(`flowhooks resume ${ARN} 'deploy[1]' (to reject: flowhooks resume ${ARN} 'deploy[1]' --reject "reason")`);
  });
});
