import { afterEach, describe, expect, it } from "vitest";
import { DescribeExecutionCommand, ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { eventBridgeEvent, EXECUTION_ARN, sqsEvent, sqsRecord, STATE_MACHINE_ARN } from "../../fixtures/index";
import { harness } from "./harness";

const MISSED = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:missed";
const now = new Date("2019-02-26T20:00:00Z");

let h: ReturnType<typeof harness>;
afterEach(() => h?.sfnMock.restore());

describe("handler Lambda: the reconciler", () => {
  it("recovers an ending whose SUCCEEDED event never arrived, and leaves alone one an event already recorded", async () => {
    h = harness({ deps: { now: () => now } });
    // The event for EXECUTION_ARN arrived; the one for MISSED was lost.
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    const before = h.callLines().length;

    h.sfnMock.on(ListExecutionsCommand).callsFake((input) => {
      expect(input.stateMachineArn).toBe(STATE_MACHINE_ARN);
      if (!input.nextToken) {
        return {
          executions: [
            { executionArn: MISSED, stateMachineArn: STATE_MACHINE_ARN, name: "missed", status: "SUCCEEDED", startDate: new Date("2019-02-26T19:50:00Z"), stopDate: new Date("2019-02-26T19:55:00Z"), redriveCount: 0 },
            { executionArn: "arn:aws:states:us-east-1:123456789012:execution:orders-flow:still-running", stateMachineArn: STATE_MACHINE_ARN, name: "still-running", status: "RUNNING", startDate: new Date("2019-02-26T19:49:00Z") },
          ],
          nextToken: "page-2",
        };
      }
      return {
        executions: [
          { executionArn: EXECUTION_ARN, stateMachineArn: STATE_MACHINE_ARN, name: "execution-name", status: "FAILED", startDate: new Date("2019-02-26T19:42:00Z"), stopDate: new Date("2019-02-26T19:44:31Z"), redriveCount: 0 },
        ],
      };
    });
    h.sfnMock.on(DescribeExecutionCommand, { executionArn: MISSED }).resolves({
      executionArn: MISSED,
      stateMachineArn: STATE_MACHINE_ARN,
      status: "SUCCEEDED",
      startDate: new Date("2019-02-26T19:50:00Z"),
      stopDate: new Date("2019-02-26T19:55:00Z"),
      output: "{}",
      redriveCount: 0,
    });

    const summary = await h.reconciler();
    expect(summary).toEqual({ examined: 2, recovered: [MISSED], failed: [] });
    expect(h.callLines().slice(before)).toEqual([
      'flow: Scheduled() -> Running("Running flow.")',
      'flow: Running("Running flow.") -> Success("All reference tasks succeeded.")',
    ]);
    expect(h.calls.at(-1)!.context).toMatchObject({ executionId: MISSED });
    expect(h.sfnMock.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([MISSED]);
    // Held at the start of the execution still listed RUNNING: the listing may lag behind its ending.
    expect(await h.store.getWatermark(`reconcile|${STATE_MACHINE_ARN}`)).toEqual(new Date("2019-02-26T19:49:00Z"));

    // The late SUCCEEDED event, should it still come, changes nothing.
    await h.handler(sqsEvent(sqsRecord(eventBridgeEvent("sfn-succeeded", { executionArn: MISSED }))));
    expect(h.callLines().slice(before)).toHaveLength(2);
  });

  it("a failed recovery keeps the watermark, so the next pass tries again", async () => {
    h = harness({ deps: { now: () => now } });
    h.channel.failures = 1;
    h.sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: MISSED, stateMachineArn: STATE_MACHINE_ARN, name: "missed", status: "FAILED", startDate: new Date("2019-02-26T19:50:00Z"), stopDate: new Date("2019-02-26T19:55:00Z") }],
    });
    h.sfnMock.on(DescribeExecutionCommand).resolves({ executionArn: MISSED, stateMachineArn: STATE_MACHINE_ARN, status: "FAILED", startDate: new Date("2019-02-26T19:50:00Z"), error: "States.Runtime", cause: "boom" });
    expect(await h.reconciler()).toMatchObject({ recovered: [], failed: [MISSED] });
    // Held at the failed ending, so the next pass looks at it again.
    expect(await h.store.getWatermark(`reconcile|${STATE_MACHINE_ARN}`)).toEqual(new Date("2019-02-26T19:55:00Z"));
    expect(await h.reconciler()).toMatchObject({ recovered: [MISSED], failed: [] });
    expect(h.channel.sent.map((a) => String(a.newState))).toEqual(['Failed("Execution failed: States.Runtime: boom")']);
  });

  it("refuses to start without FLOWHOOKS_STATE_MACHINE_ARN, naming the variable", async () => {
    h = harness({ env: { FLOWHOOKS_STATE_MACHINE_ARN: "" } });
    await expect(h.reconciler()).rejects.toThrow(/FLOWHOOKS_STATE_MACHINE_ARN is not set/);
  });
});
