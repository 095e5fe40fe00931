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
    expect(String(taskInfrastructureState("failed", "Runtime.ExitError", cause))).toBe('Failed("Task failed where no flowhooks code ran: Runtime.ExitError: signal: killed")');
    expect(taskInfrastructureState("failed", "States.Timeout").name).toBe("TimedOut");
    expect(flowEndTransition("FAILED", "E", "x".repeat(5000)).newState.message!.length).toBeLessThan(1100);
  });

  it("tells errors from flowhooks' task code from infrastructure errors", () => {
    expect(isInfrastructureError("flowhooks.TaskFailed")).toBe(false);
    expect(isInfrastructureError("Lambda.TooManyRequestsException")).toBe(true);
    expect(isInfrastructureError("Sandbox.Timedout")).toBe(true);
  });

  it("finds Catch records marked infrastructure in an execution's output, by key or by task field", () => {
    const output = JSON.stringify({
      load: { type: "TimedOut", message: "Task timed out during execution.", infrastructure: true, attempt: 2 },
      branches: [{ record: { task: "notify", type: "Failed", message: "crashed", infrastructure: true } }],
      ok: { type: "Failed", message: "reported by the task itself" },
    });
    expect(catchRecordsFromOutput(output)).toEqual([
      { task: "load", state: { type: "TimedOut", message: "Task timed out during execution." }, attempt: 2 },
      { task: "notify", state: { type: "Failed", message: "crashed" } },
    ]);
    expect(catchRecordsFromOutput("not json")).toEqual([]);
  });
});
