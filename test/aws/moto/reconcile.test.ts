/**
 * The reconciler (lib/aws/reconcile.ts) paging through moto's ListExecutions and reading
 * DescribeExecution, with its claims and watermark in moto's DynamoDB. moto's interpreter runs one
 * execution per server (test/aws/moto/history.test.ts), so the hundred-odd executions a second page
 * needs come from moto's API without the interpreter: started (listed RUNNING), the oldest then
 * stopped (ABORTED), so the endings to recover sit on the second page.
 */
import { expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { DynamoDbTransitionStore, flowEndingKey } from "../../../lib/aws/dedupe";
import type { ExecutionStatusEvent } from "../../../lib/aws/events";
import { createLogger } from "../../../lib/aws/logger";
import { reconcile } from "../../../lib/aws/reconcile";
import { createClaimsTable, describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

const ROLE = "arn:aws:iam::123456789012:role/orders-flow";
/** One more page than ListExecutions' 100: the four oldest executions are on the second page. */
const EXECUTIONS = 104;
/** The oldest executions are stopped: four on the second page, one on the first. */
const STOPPED = 5;
const RECORDED_BY_EVENTS = 1;

describeMoto("the reconciler against moto's Step Functions and DynamoDB", () => {
  const moto = useMoto({ executeStateMachines: false });

  it("pages through more executions than one ListExecutions answer holds, recovers each unrecorded ending once, and retries a failed one on the next pass", async () => {
    const sfn = new SFNClient(motoClientConfig(moto.current));
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({ name: "orders-flow", roleArn: ROLE, definition: JSON.stringify({ StartAt: "Done", States: { Done: { Type: "Succeed" } } }) }),
    );
    const arns: string[] = [];
    for (let i = 0; i < EXECUTIONS; i++) {
      arns.push((await sfn.send(new StartExecutionCommand({ stateMachineArn, name: `e${String(i).padStart(3, "0")}` }))).executionArn!);
    }
    for (const arn of arns.slice(0, STOPPED)) await sfn.send(new StopExecutionCommand({ executionArn: arn }));

    await createClaimsTable(moto.current, "claims");
    const store = new DynamoDbTransitionStore({ tableName: "claims", client: new DynamoDBClient(motoClientConfig(moto.current)) });
    // Endings whose status events the handler already processed.
    for (const arn of arns.slice(0, RECORDED_BY_EVENTS)) {
      const key = flowEndingKey(arn, 0, "ABORTED");
      await store.claim(key);
      await store.complete(key);
    }

    const listTokens: (string | undefined)[] = [];
    const spied = {
      send: ((command: { input: { nextToken?: string } }) => {
        if (command instanceof ListExecutionsCommand) listTokens.push(command.input.nextToken);
        return sfn.send(command as never);
      }) as SFNClient["send"],
    };
    const failing = arns[1]!;
    let failOnce = true;
    const processed: ExecutionStatusEvent[] = [];
    const pass = () =>
      reconcile({
        sfn: spied,
        stateMachineArn: stateMachineArn!,
        store,
        logger: createLogger({ writer: () => {} }),
        process: async (event) => {
          if (event.executionArn === failing && failOnce) {
            failOnce = false;
            throw new Error("Slack answered 500");
          }
          processed.push(event);
          const key = flowEndingKey(event.executionArn, event.redriveCount ?? 0, event.status);
          if (await store.claim(key)) await store.complete(key);
        },
      });

    const first = await pass();
    expect(listTokens).toHaveLength(2);
    expect(listTokens[0]).toBeUndefined();
    expect(listTokens[1]).toEqual(expect.any(String));
    expect(first.examined).toBe(STOPPED);
    expect(first.failed).toEqual([failing]);
    expect([...first.recovered].sort()).toEqual(arns.slice(RECORDED_BY_EVENTS, STOPPED).filter((arn) => arn !== failing));
    expect(new Set(processed.map((e) => e.status))).toEqual(new Set(["ABORTED"]));
    expect(processed.every((e) => e.origin === "reconciler" && e.stopDate instanceof Date && e.startDate instanceof Date)).toBe(true);

    const second = await pass();
    expect(second).toEqual({ examined: STOPPED, recovered: [failing], failed: [] });
    expect(processed.filter((e) => e.executionArn === failing)).toHaveLength(1);
    expect(new Set(processed.map((e) => e.executionArn)).size).toBe(processed.length);
  });
});
