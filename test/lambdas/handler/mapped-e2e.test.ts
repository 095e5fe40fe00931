/**
 * The task Lambda's child and collect steps (lambdas/task, as a mapped task's `t.Child` and
 * `t.Collect` states invoke them) emit their events; the handler Lambda alerts them. Real code on
 * both sides, the EventBridge envelope in between, so the event contract is checked end to end.
 */
import { describe, expect, it } from "vitest";
import { Flow, task } from "../../../lib/index";
import { virtualClock } from "../../../lib/core/clock";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import { createLogger } from "../../../lib/aws/logger";
import { runTask, TaskRetryingError, type TaskOutput, type TaskStateChangeDetail } from "../../../lambdas/task/index";
import { createEventsHandler } from "../../../lambdas/handler/index";
import { EVENT_SOURCE, TASK_STATE_CHANGE } from "../../../lambdas/task/payload";
import { sqsEvent, sqsRecord } from "../../fixtures/index";
import { fakeChannel } from "./harness";

const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:downloads-flow:run-1";

describe("mapped task end to end: task Lambda events → handler Lambda alerts", () => {
  it("a child that fails twice alerts `download[2]` Retrying #1 then Failed #2; its siblings and the parent's Pending → Mapped alert nothing", async () => {
    const files = task({ name: "files" }, () => ["a", "b", "broken", "d"]);
    const download = task({ name: "download", maxRetries: 1 }, (file: string) => {
      if (file === "broken") throw new Error(`cannot read ${file}`);
      return file.length;
    });
    const flow = new Flow({ name: "downloads" }, () => void download.map(files()));
    const details: TaskStateChangeDetail[] = [];
    const run = (payload: Record<string, unknown>, retryCount = 0) =>
      runTask({ task: "download", parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: retryCount } }, ...payload } as never, {
        flow,
        taskName: "download",
        clock: virtualClock(),
        emit: async (d) => void details.push(d),
      }) as unknown as Promise<TaskOutput>;

    // The inline Map runs each child; Step Functions retries child 2 (its Retry) after the task Lambda threw.
    const items = ["a", "b", "broken", "d"].map((file, index) => ({ index, items: [{ type: "Success", result: file }] }));
    const children: TaskOutput[] = [];
    for (const item of items) {
      if (item.index !== 2) {
        children.push(await run({ mode: "child", item }));
        continue;
      }
      await expect(run({ mode: "child", item })).rejects.toBeInstanceOf(TaskRetryingError);
      children.push(await run({ mode: "child", item }, 1));
    }
    const parent = await run({ mode: "collect", map: { count: 4, distributed: false, items: null, itemsKey: null, verdict: null, children } });
    expect(parent).toMatchObject({ failed: true, state: { type: "Mapped" } });

    const channel = fakeChannel();
    const handler = createEventsHandler(flow, {
      env: { FLOWHOOKS_DEDUPE_TABLE: "downloads-transitions" },
      store: new InMemoryTransitionStore(),
      channels: [channel],
      logger: createLogger({ writer: () => {} }),
    });
    const envelope = (detail: TaskStateChangeDetail) => ({ version: "0", id: "1", "detail-type": TASK_STATE_CHANGE, source: EVENT_SOURCE, time: detail.at, region: "us-east-1", resources: [], detail });
    // Every event twice (SQS delivers at least once), in one batch.
    const records = details.flatMap((d) => [sqsRecord(envelope(d)), sqsRecord(envelope(d))]);
    expect((await handler(sqsEvent(...records))).batchItemFailures).toEqual([]);

    expect(channel.sent.map((a) => `${a.task} ${a.newState.name} #${a.attempt}`)).toEqual(["download[2] Retrying #1", "download[2] Failed #2"]);
    expect(channel.sent.map((a) => [a.mapIndex, a.executionId, a.maxAttempts])).toEqual([
      [2, EXECUTION, 2],
      [2, EXECUTION, 2],
    ]);
    expect(details.some((d) => d.mapIndex === undefined && d.newState.type === "Mapped")).toBe(true);
  });
});
