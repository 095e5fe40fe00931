/**
 * A Distributed Map's crashed children whose task events may have been lost: the collect step
 * (lambdas/task/map.ts `reportCrashedChildren`) keeps the events it sent in the results bucket, and
 * the handler reads them back at the execution's ending. Each is handled as if its event had
 * arrived: the same claim key (its child's start time included), so a child alerted live is not
 * alerted again, and one whose PutEvents was lost is alerted now.
 */
import { crashedChildrenKey, isMissingKeyError, type ResultStore } from "../../lib/core/results";
import type { Flow } from "../../lib/core/flow";
import { MalformedEventError, parseEventBridgeEvent, TASK_EVENT_SOURCE, TASK_STATE_CHANGE, type TaskTransitionEvent } from "../../lib/aws/events";
import type { Logger } from "../../lib/aws/logger";

/** The kept task events of every mapped task of `flow` in execution `executionArn` (none where its collect step reported no crash). */
export async function keptCrashedChildEvents(results: ResultStore, flow: Flow, executionArn: string, log: Logger): Promise<TaskTransitionEvent[]> {
  const events: TaskTransitionEvent[] = [];
  for (const node of flow.graph().nodes) {
    if (!node.mapped) continue;
    const key = crashedChildrenKey(executionArn, node.name);
    let body: string;
    try {
      body = await results.get(key);
    } catch (error) {
      if (isMissingKeyError(error)) continue;
      throw error;
    }
    let details: unknown;
    try {
      details = JSON.parse(body);
    } catch {
      details = undefined;
    }
    if (!Array.isArray(details)) {
      log.error(`The crashed children kept at ${key} are not a JSON array of task events; ignored.`);
      continue;
    }
    for (const detail of details) {
      try {
        const event = parseEventBridgeEvent({ source: TASK_EVENT_SOURCE, "detail-type": TASK_STATE_CHANGE, detail });
        if (event.kind === "task-transition" && event.executionArn === executionArn && event.task === node.name) events.push(event);
      } catch (error) {
        if (!(error instanceof MalformedEventError)) throw error;
        log.error(`A crashed child kept at ${key} cannot be read: ${error.message}`);
      }
    }
  }
  return events;
}
