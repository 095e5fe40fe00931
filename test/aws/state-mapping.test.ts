import { describe, expect, it } from "vitest";
import { catchRecordsFromOutput, flowEndTransition, flowStartTransition, isInfrastructureError, taskInfrastructureState } from "../../lib/aws/state-mapping";

describe("Step Functions ↔ flowhooks state mapping", () => {
  it("maps each execution status to the flow transition flow.run() makes", () => {
    expect(String(flowStartTransition().oldState) + " -> " + String(flowStartTransition().newState)).toBe('Scheduled() -> Running("Running flow.")');
    expect(String(flowEndTransition("SUCCEEDED").newState)).toBe('Success("All reference tasks succeeded.")');
    expect(String(flowEndTransition("FAILED", "flowhooks.FlowFailed", "x").newState)).toBe('Failed("Some reference tasks failed.")');
    expect(String(flowEndTransition("FAILED", "States.Runtime", "bad path").newState)).toBe('Failed("Execution failed: States.Runtime: bad path")');
    expect(flowEndTransition("TIMED_OUT").newState.name).toBe("TimedOut");
    expect(flowEndTransition("ABORTED").newState.name).toBe("Cancelled");
  });

  it("reads a Lambda error's JSON cause down to its message, and shortens a huge cause", () => {
    const cause = JSON.stringify({ errorType: "Runtime.ExitError", errorMessage: "signal: killed", trace: [] });
    expect(String(taskInfrastructureState("failed", "Runtime.ExitError", cause))).toBe('Failed("Task failed in AWS before it could report its state (Runtime.ExitError: signal: killed).")');
    expect(taskInfrastructureState("failed", "States.Timeout").name).toBe("TimedOut");
    expect(flowEndTransition("FAILED", "E", "x".repeat(5000)).newState.message!.length).toBeLessThan(1100);
  });

  it("tells errors from flowhooks' task code from infrastructure errors", () => {
    expect(isInfrastructureError("flowhooks.TaskFailed")).toBe(false);
    expect(isInfrastructureError("Lambda.TooManyRequestsException")).toBe(true);
    expect(isInfrastructureError("Sandbox.Timedout")).toBe(true);
  });

  it("finds the Catch records lib/compile writes at each task's static path, in single levels and Parallel branches", () => {
    const output = JSON.stringify({
      flow: "orders",
      L0: { load: { infrastructure: { Error: "Sandbox.Timedout", Cause: "{\"errorMessage\":\"Task timed out after 3.00 seconds\"}" }, failed: true, skipped: false, failedLabel: " `load`" } },
      L1: [
        { notify: { state: { type: "Success" }, failed: false, skipped: false, failedLabel: "" } },
        { "send-mail": { infrastructure: { Error: "Lambda.Unknown" }, failed: true, skipped: false, failedLabel: " `send-mail`" } },
      ],
    });
    expect(catchRecordsFromOutput(output)).toEqual([
      { task: "load", error: "Sandbox.Timedout", cause: '{"errorMessage":"Task timed out after 3.00 seconds"}' },
      { task: "send-mail", error: "Lambda.Unknown" },
    ]);
    expect(catchRecordsFromOutput("not json")).toEqual([]);
  });
});
