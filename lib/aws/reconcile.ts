/**
 * The reconciler: Step Functions' status events are best effort, so a scheduled pass lists the
 * state machine's executions that ended since its last pass and processes every ending that no
 * event recorded, through the same code path as an event.
 */
import type { SFNClient } from "@aws-sdk/client-sfn";
import { ClaimInProgressError, flowEndingKey, type TransitionKey, type TransitionStore, type WatermarkStore } from "./dedupe";
import type { ExecutionStatusEvent } from "./events";
import type { Logger } from "./logger";
import { loadSfn } from "./sdk";
import { isEndedStatus } from "./state-mapping";

export interface ReconcileOptions {
  sfn: Pick<SFNClient, "send">;
  stateMachineArn: string;
  store: TransitionStore & WatermarkStore;
  /** Processes one ending, exactly as if its event had arrived. */
  process: (event: ExecutionStatusEvent) => Promise<void>;
  logger: Logger;
  /**
   * How far before the previous pass an execution may have started and still be examined; set it
   * to the state machine's timeout when executions run longer. @default 86400 (one day)
   */
  lookbackSeconds?: number;
  /** @default () => new Date() */
  now?: () => Date;
  /**
   * ListExecutions is eventually consistent: the watermark stays this far behind the pass, so an
   * execution listed late (or still listed RUNNING after it ended) is seen by the next pass. @default 60
   */
  settleSeconds?: number;
  /** Milliseconds left in this invocation: endings are left to the next pass once too little is left. @default - unbounded */
  timeLeft?: () => number;
}

/** Below this much time left, a pass processes no further ending (a chain and an alert need it). */
export const RECONCILE_RESERVE_MS = 45_000;

export interface ReconcileSummary {
  /** Executions listed that ended since the previous pass. */
  examined: number;
  /** Endings no event had recorded, now processed. */
  recovered: string[];
  /** Endings whose processing failed (retried on the next pass: the watermark stays before them). */
  failed: string[];
  /** Endings another invocation is processing (or crashed on): looked at again once its lease runs out. @default - none */
  deferred?: string[];
  /** Set when another pass held the lease, so this one did nothing. */
  skipped?: true;
}

/**
 * The lease one pass holds in the claims table, so passes never overlap (two would process the
 * same missed endings and race for the watermark) without reserving Lambda concurrency, which
 * accounts at the default concurrency quota refuse. A pass that crashes holds it until the store's
 * lease runs out (its `leaseSeconds`, kept at least the reconciler's timeout).
 */
export function reconcilerLeaseKey(stateMachineArn: string): TransitionKey {
  return { executionArn: stateMachineArn, object: "reconciler", transition: "pass" };
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const lease = reconcilerLeaseKey(options.stateMachineArn);
  try {
    await options.store.claim(lease);
  } catch (error) {
    if (!(error instanceof ClaimInProgressError)) throw error;
    options.logger.info("Another reconciler pass holds the lease; this one does nothing.", { stateMachineArn: options.stateMachineArn });
    return { examined: 0, recovered: [], failed: [], skipped: true };
  }
  try {
    return await reconcilePass(options);
  } finally {
    await options.store.release(lease);
  }
}

async function reconcilePass(options: ReconcileOptions): Promise<ReconcileSummary> {
  const { sfn, stateMachineArn, store, logger } = options;
  const { DescribeExecutionCommand, ListExecutionsCommand } = await loadSfn();
  const now = (options.now ?? (() => new Date()))();
  const lookbackMs = (options.lookbackSeconds ?? 86400) * 1000;
  const watermarkName = `reconcile|${stateMachineArn}`;
  const previous = (await store.getWatermark(watermarkName)) ?? new Date(now.getTime() - lookbackMs);
  const oldestStart = previous.getTime() - lookbackMs;
  const summary: ReconcileSummary = { examined: 0, recovered: [], failed: [] };
  const deferred: string[] = [];
  // The next watermark: never past an ending left unsettled, nor past the start of an execution
  // still listed RUNNING (the listing may lag: it may have ended already, before this pass).
  let watermark = now.getTime() - (options.settleSeconds ?? 60) * 1000;
  const holdAt = (at: Date | undefined) => {
    if (at) watermark = Math.min(watermark, at.getTime());
  };

  let nextToken: string | undefined;
  pages: do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken, maxResults: 100 }));
    nextToken = page.nextToken;
    // Newest start first: once executions started before the look-back window, the rest are older still.
    for (const item of page.executions ?? []) {
      if (item.startDate && item.startDate.getTime() < oldestStart) break pages;
      if (!item.executionArn || !item.status) continue;
      if (!isEndedStatus(item.status)) {
        holdAt(item.startDate);
        continue;
      }
      if (item.stopDate && item.stopDate.getTime() < previous.getTime()) continue;
      summary.examined++;
      const redriveCount = item.redriveCount ?? 0;
      const recorded = await store.lookup(flowEndingKey(item.executionArn, redriveCount, item.status));
      if (recorded === "done") continue;
      if (recorded === "in-progress") {
        // An event is being processed, or its invocation (or a pass) crashed after claiming: look again later.
        deferred.push(item.executionArn);
        holdAt(item.stopDate ?? item.startDate);
        continue;
      }
      if (options.timeLeft && options.timeLeft() < RECONCILE_RESERVE_MS) {
        deferred.push(item.executionArn);
        holdAt(item.stopDate ?? item.startDate);
        continue;
      }
      const log = logger.child({ executionArn: item.executionArn });
      try {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
        const status = d.status ?? item.status;
        if (!isEndedStatus(status)) {
          holdAt(item.startDate);
          continue;
        }
        log.warn("Recovering an ending no event reported.", { status });
        await options.process({
          kind: "execution-status",
          origin: "reconciler",
          executionArn: item.executionArn,
          stateMachineArn,
          status,
          startDate: d.startDate ?? item.startDate,
          stopDate: d.stopDate ?? item.stopDate,
          output: d.output,
          error: d.error,
          cause: d.cause,
          redriveCount: d.redriveCount ?? redriveCount,
          at: now,
        });
        summary.recovered.push(item.executionArn);
      } catch (error) {
        log.error("Could not process a recovered ending; the next pass tries again.", { error });
        summary.failed.push(item.executionArn);
        holdAt(item.stopDate ?? item.startDate);
      }
    }
  } while (nextToken);

  if (deferred.length > 0) summary.deferred = deferred;
  // Never back past the look-back window's own start, never forward past what is unsettled.
  await store.setWatermark(watermarkName, new Date(Math.max(watermark, oldestStart)));
  logger.info("Reconciler pass done.", { stateMachineArn, examined: summary.examined, recovered: summary.recovered.length, failed: summary.failed.length, deferred: deferred.length });
  return summary;
}
