/**
 * Reading executions (lib/aws/history.ts, lib/aws/reconcile.ts) that moto's Step Functions ran with
 * LocalStack's interpreter: the history's events as AWS shapes them, read page by page, compacted for
 * alerts, turned into the flow's timeline, and an ending no event reported recovered by a reconciler
 * pass from ListExecutions and DescribeExecution. moto 5.2.1 runs one execution per server until reset
 * (a second StartExecution answers 500), so each test resets it and runs one; it also ignores
 * GetExecutionHistory's maxResults (one page, no nextToken), so following nextToken is covered by
 * test/aws/history.test.ts and ListExecutions paging by test/aws/moto/reconcile.test.ts.
 */
import { beforeEach, expect, it } from "vitest";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionOutput,
} from "@aws-sdk/client-sfn";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbTransitionStore, flowFinalKey } from "../../../lib/aws/dedupe";
import type { ExecutionStatusEvent } from "../../../lib/aws/events";
import { executionTimeline, getExecutionHistory, readHistoryForAlerts } from "../../../lib/aws/history";
import { createLogger } from "../../../lib/aws/logger";
import { reconcile } from "../../../lib/aws/reconcile";
import { createClaimsTable, describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

const ROLE = "arn:aws:iam::123456789012:role/orders-flow";
const PASSES = 6;

/** Pass states, then a Fail: a flow that ends FAILED with an error and cause, as a flow's final report does. */
const FAILING = {
  StartAt: "Pass0",
  States: {
    ...Object.fromEntries(Array.from({ length: PASSES }, (_, i) => [`Pass${i}`, { Type: "Pass", Result: { step: i }, ResultPath: `$.step${i}`, Next: i + 1 < PASSES ? `Pass${i + 1}` : "Fail" }])),
    Fail: { Type: "Fail", Error: "flowhooks.FlowFailed", Cause: "load failed: connection refused" },
  },
};

describeMoto("execution histories and endings that moto's Step Functions ran", () => {
  const moto = useMoto();
  const sfn = () => new SFNClient({ ...motoClientConfig(moto.current), maxAttempts: 1 });

  beforeEach(async () => {
    await moto.current.reset();
  });

  /** Runs one execution of `definition` to its end; its ARN and DescribeExecution. */
  async function runOnce(definition: object, input: object = { orderId: "o-1" }): Promise<{ stateMachineArn: string; described: DescribeExecutionOutput }> {
    const client = sfn();
    const { stateMachineArn } = await client.send(new CreateStateMachineCommand({ name: "orders-flow", definition: JSON.stringify(definition), roleArn: ROLE }));
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: "e1", input: JSON.stringify(input) }));
    for (let i = 0; i < 500; i++) {
      const described = await client.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status !== "RUNNING") return { stateMachineArn: stateMachineArn!, described };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("moto's execution did not end within 10 s");
  }

  it("the history is read whole and in order, asking for the page size given (moto 5.2.1 answers in one page)", async () => {
    const { described } = await runOnce(FAILING);
    const pageSizes: (number | undefined)[] = [];
    const client = sfn();
    const counting = {
      send: ((command: GetExecutionHistoryCommand) => {
        pageSizes.push(command.input.maxResults);
        return client.send(command);
      }) as SFNClient["send"],
    };
    const paged = await getExecutionHistory(counting, described.executionArn!, { pageSize: 2 });
    const whole = await getExecutionHistory(sfn(), described.executionArn!);
    expect(pageSizes[0]).toBe(2);
    expect(paged.map((e) => e.id)).toEqual(whole.map((e) => e.id));
    expect(paged.map((e) => e.id)).toEqual(Array.from({ length: paged.length }, (_, i) => i + 1));
    expect(paged.map((e) => e.type)).toEqual([
      "ExecutionStarted",
      ...Array.from({ length: PASSES }, () => ["PassStateEntered", "PassStateExited"]).flat(),
      "FailStateEntered",
      "ExecutionFailed",
    ]);
  });

  it("the history read for alerts keeps the failure's error and cause and drops the execution's data", async () => {
    const { described } = await runOnce(FAILING, { orderId: "o-1", secretish: "x".repeat(2_000) });
    const events = await readHistoryForAlerts(sfn(), described.executionArn!);
    expect(events.at(-1)).toMatchObject({ type: "ExecutionFailed", executionFailedEventDetails: { error: "flowhooks.FlowFailed", cause: "load failed: connection refused" } });
    expect(JSON.stringify(events)).not.toContain("x".repeat(100));
    expect(events.find((e) => e.type === "PassStateEntered")?.stateEnteredEventDetails).toEqual({ name: "Pass0" });
  });

  it("the timeline of the interpreter's history has the flow start running and end failed", async () => {
    const { described } = await runOnce(FAILING);
    const timeline = executionTimeline(await getExecutionHistory(sfn(), described.executionArn!), { flowName: "orders" });
    const flow = timeline.filter((entry) => entry.kind === "flow");
    expect(flow.map((entry) => `${entry.oldState.constructor.name}->${entry.newState.constructor.name}`)).toEqual(["Scheduled->Running", "Running->Failed"]);
    expect(flow.at(-1)?.at.getTime()).toBeGreaterThanOrEqual(described.startDate!.getTime());
  });

  it("a reconciler pass recovers the ending no event reported, with DescribeExecution's error and cause, once", async () => {
    const { stateMachineArn, described } = await runOnce(FAILING);
    await createClaimsTable(moto.current, "claims");
    const store = new DynamoDbTransitionStore({ tableName: "claims", client: new DynamoDBClient(motoClientConfig(moto.current)) });
    const processed: ExecutionStatusEvent[] = [];
    const pass = () =>
      reconcile({
        sfn: sfn(),
        stateMachineArn,
        store,
        logger: createLogger({ writer: () => {} }),
        process: async (event) => {
          processed.push(event);
          const key = flowFinalKey(event.executionArn, event.redriveCount ?? 0);
          if (await store.claim(key)) await store.complete(key);
        },
      });
    expect(await pass()).toEqual({ examined: 1, recovered: [described.executionArn], failed: [] });
    expect(processed).toEqual([
      expect.objectContaining({
        origin: "reconciler",
        executionArn: described.executionArn,
        status: "FAILED",
        error: "flowhooks.FlowFailed",
        cause: "load failed: connection refused",
        startDate: described.startDate,
        stopDate: described.stopDate,
        redriveCount: 0,
      }),
    ]);
    expect((await pass()).recovered).toEqual([]);
    expect(processed).toHaveLength(1);
  });
});
