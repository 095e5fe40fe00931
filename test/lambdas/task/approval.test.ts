/**
 * The task Lambda's two invocations for a `triggers.manualOnly` task (lambdas/task/approval.ts):
 * the approval step keeps the token (never in events or logs) and ends Paused, or fails
 * flowhooks.NotPaused with the output the task state then returns; the task state continues from
 * Paused with the answer through the same chain.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, Skipped, Success, task, triggers, virtualClock, type State } from "../../../lib/index";
import { createTaskHandler, type TaskOutput, type TaskStateChangeDetail } from "../../../lambdas/task/index";
import { folderResultStore } from "../../../lib/aws/results";

const NOW = new Date("2026-03-01T12:00:00.000Z");
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:release:run-1";
const TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAWsecret-token";

function payload(extra: Record<string, unknown>, upstream: Record<string, TaskOutput> = {}) {
  return {
    task: "deploy",
    parameters: {},
    upstream,
    context: { Execution: { Id: EXECUTION }, State: { EnteredTime: NOW.toISOString(), RetryCount: 0 } },
    ...extra,
  };
}
const output = (state: State): TaskOutput => ({ state: state.toJSON(), failed: state.isFailed(), skipped: state.isSkipped(), failedLabel: "" });

function setup(stateHandlers: ((t: unknown, o: State, n: State) => State | void)[] = []) {
  const build = task({ name: "build" }, () => "a");
  const deploy = task({ name: "deploy", trigger: triggers.manualOnly, approvalTimeoutSeconds: 600, stateHandlers }, (a: string) => `deployed ${a}`);
  const flow = new Flow({ name: "release" }, () => void deploy(build()));
  const dir = mkdtempSync(join(tmpdir(), "fh-approval-lambda-"));
  const store = folderResultStore(dir);
  const events: TaskStateChangeDetail[] = [];
  const handler = createTaskHandler(flow, {
    clock: virtualClock(NOW),
    env: { FLOWHOOKS_TASK: "deploy" },
    results: store,
    emit: async (d) => void events.push(d),
  });
  return { handler, events, store };
}
/** `build` was skipped: `deploy` skips with it (skipOnUpstreamSkip) and never pauses. */
const skippedUpstream = { build: output(new Skipped("skipped upstream")) };
const builtUpstream = { build: output(new Success("ok", { result: "a" })) };

describe("task Lambda, approval step", () => {
  it("keeps the task token in the store, emits Pending → Paused, and the token appears in no event or output", async () => {
    const { handler, events, store } = setup();
    const out = await handler(payload({ mode: "approval", taskToken: TOKEN }, builtUpstream));
    expect(out.state.type).toBe("Paused");
    expect(events.map((e) => `${e.oldState.type} -> ${e.newState.type}`)).toEqual(["Pending -> Paused"]);
    expect(JSON.parse(await store.get("approvals/release/run-1/deploy/token.json"))).toEqual({ taskToken: TOKEN, pausedAt: NOW.toISOString() });
    expect(JSON.stringify([events, out])).not.toContain(TOKEN);
  });

  it("a chain that does not pause (upstream skipped) fails flowhooks.NotPaused, and the task state returns that output as it is", async () => {
    const { handler, events } = setup();
    const error = (await handler(payload({ mode: "approval", taskToken: TOKEN }, skippedUpstream)).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("flowhooks.NotPaused");
    expect(error.message).not.toContain(TOKEN);
    const cause = JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] });
    const out = await handler(payload({ approval: { Error: "flowhooks.NotPaused", Cause: cause } }, skippedUpstream));
    expect(out.state.type).toBe("Skipped");
    // No transition twice: the task state sent none.
    expect(events.map((e) => `${e.oldState.type} -> ${e.newState.type}`)).toEqual(["Pending -> Skipped"]);
  });
});

describe("task Lambda, the task state after the wait", () => {
  const upstream = async () => (builtUpstream);
  it("approved: Paused → Resume → Running → Success", async () => {
    const { handler, events } = setup();
    const out = await handler(payload({ approval: { approved: true, by: "ana" } }, builtUpstream));
    expect(out.state).toMatchObject({ type: "Success", result: "deployed a" });
    expect(events.map((e) => `${e.oldState.type} -> ${e.newState.type}`)).toEqual(["Paused -> Resume", "Resume -> Running", "Running -> Success"]);
  });

  it("rejected (SendTaskFailure flowhooks.Rejected): Paused → Cancelled(\"Rejected: <reason>\"), the body never runs", async () => {
    const { handler, events } = setup();
    const out = await handler(payload({ approval: { Error: "flowhooks.Rejected", Cause: "change freeze" } }, builtUpstream));
    expect(out.state).toMatchObject({ type: "Cancelled", message: "Rejected: change freeze" });
    expect(events).toHaveLength(1);
  });

  it("timed out (States.Timeout): Paused → TimedOut(\"No approval within 600 seconds.\") through the state handlers", async () => {
    const seen: string[] = [];
    const { handler } = setup([(_t, o, n) => void seen.push(`${o.name} -> ${String(n)}`)]);
    const out = await handler(payload({ approval: { Error: "States.Timeout", Cause: "" } }, builtUpstream));
    expect(out.state).toMatchObject({ type: "TimedOut", message: "No approval within 600 seconds." });
    expect(out.failed).toBe(true);
    expect(seen).toEqual(['Paused -> TimedOut("No approval within 600 seconds.")']);
  });

  it("an approval it cannot read is a payload error naming how to answer", async () => {
    const { handler } = setup();
    await expect(handler(payload({ approval: { Error: "Something.Else" } }, builtUpstream))).rejects.toThrow(/answer Paused tasks with `flowhooks resume`/);
  });
});
