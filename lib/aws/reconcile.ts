/**
 * The reconciler: Step Functions' status events are best effort, so a scheduled pass lists the
 * state machine's executions that ended since its last pass and processes every ending that no
 * event recorded, through the same code path as an event.
 *
 * Invariant, after any single crash or failed call: the watermark never passes an ending that no
 * pass has seen recorded — it stays behind every ending left unsettled (failed, deferred, still
 * listed RUNNING), and endings are looked up again for `listLagSeconds` after it, so one the listing
 * showed late is still found; a redriven execution's earlier runs are looked up in its history.
 * Transitions: lease claimed → endings examined (each through its own claim) → watermark written
 * → lease released; a pass that dies anywhere leaves the watermark where the last pass put it and
 * the lease to run out. Crash points: delivery.property.test.ts (reconciler passes crash with the
 * store), reconcile.test.ts "a pass that dies right after claiming an ending does not lose it".
 */
import type { ExecutionListItem, SFNClient } from "@aws-sdk/client-sfn";
import { ClaimInProgressError, flowEndingKey, type TransitionKey, type TransitionStore, type WatermarkStore } from "./dedupe";
import type { ExecutionStatusEvent } from "./events";
import type { Logger } from "./logger";
import { loadSfn } from "./sdk";
import { readHistoryForAlerts, runEndings, type RunEnding } from "./history";
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
  /**
   * How long before the previous pass an ending may have stopped and still be looked up, for
   * executions ListExecutions listed late. @default DEFAULT_LIST_LAG_SECONDS (900)
   */
  listLagSeconds?: number;
  /** Milliseconds left in this invocation: endings are left to the next pass once too little is left. @default - unbounded */
  timeLeft?: () => number;
  /**
   * Called for every execution the pass lists (started within the look-back window): re-arms the
   * execution's digests that wait with no flush coming (a dead-lettered flush record); true when it
   * armed one. A throw is logged and the next pass sweeps again. @default - no sweep
   */
  sweep?: (executionArn: string) => Promise<boolean>;
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
  /** Executions whose waiting digests the sweep re-armed. @default - none */
  rearmed?: string[];
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

/** What one pass has found so far, and how far its watermark may advance. */
class Pass {
  readonly summary: ReconcileSummary = { examined: 0, recovered: [], failed: [] };
  readonly deferred: string[] = [];
  readonly rearmed: string[] = [];
  watermark: number;
  constructor(
    readonly options: ReconcileOptions,
    readonly now: Date,
    settleSeconds: number,
    /** Endings that stopped before this time (ms) are not looked up (see `listLagSeconds`). */
    readonly examineFrom: number,
  ) {
    this.watermark = now.getTime() - settleSeconds * 1000;
  }
  /** Keeps the next watermark at or before `at` (something there is not settled yet). */
  holdAt(at: Date | undefined): void {
    if (at) this.watermark = Math.min(this.watermark, at.getTime());
  }
  /** The sweep of one execution's digests (after its ending, which may arm them itself); never fails the pass. */
  async sweep(arn: string): Promise<void> {
    const { sweep, timeLeft, logger } = this.options;
    if (!sweep || (timeLeft && timeLeft() < RECONCILE_RESERVE_MS)) return;
    try {
      if (await sweep(arn)) this.rearmed.push(arn);
    } catch (error) {
      logger.error("Could not sweep an execution's digests; the next pass tries again.", { executionArn: arn, error });
    }
  }
  /** Processes one run's ending unless it is recorded or being processed; `describe` fills in what the listing lacks. */
  async recover(arn: string, run: number, status: string, at: Date | undefined, describe: () => Promise<ExecutionStatusEvent | undefined>): Promise<void> {
    const { store, logger, timeLeft } = this.options;
    this.summary.examined++;
    const recorded = await store.lookup(flowEndingKey(arn, run, status));
    if (recorded === "done") return;
    if (recorded === "in-progress" || (timeLeft && timeLeft() < RECONCILE_RESERVE_MS)) {
      // An event is being processed, or its invocation (or a pass) crashed after claiming, or this pass is out of time: look again later.
      this.deferred.push(arn);
      this.holdAt(at);
      return;
    }
    const log = logger.child({ executionArn: arn });
    try {
      const event = await describe();
      if (!event) return;
      log.warn("Recovering an ending no event reported.", { status: event.status, redriveCount: run });
      await this.options.process(event);
      this.summary.recovered.push(arn);
    } catch (error) {
      log.error("Could not process a recovered ending; the next pass tries again.", { error });
      this.summary.failed.push(arn);
      this.holdAt(at);
    }
  }
}

/**
 * How long after the previous pass an ending is still looked up: ListExecutions may list an
 * execution late (eventually consistent), and a lookup of a recorded ending is one GetItem.
 */
export const DEFAULT_LIST_LAG_SECONDS = 900;

async function reconcilePass(options: ReconcileOptions): Promise<ReconcileSummary> {
  const { sfn, stateMachineArn, store, logger } = options;
  const { ListExecutionsCommand } = await loadSfn();
  const now = (options.now ?? (() => new Date()))();
  const lookbackMs = (options.lookbackSeconds ?? 86400) * 1000;
  const watermarkName = `reconcile|${stateMachineArn}`;
  const previous = (await store.getWatermark(watermarkName)) ?? new Date(now.getTime() - lookbackMs);
  const oldestStart = previous.getTime() - lookbackMs;
  // Endings that stopped this long before the previous pass are still looked up: the listing may have lagged.
  const examineFrom = previous.getTime() - (options.listLagSeconds ?? DEFAULT_LIST_LAG_SECONDS) * 1000;
  // The next watermark: never past an ending left unsettled, nor past the start of an execution
  // still listed RUNNING (the listing may lag: it may have ended already, before this pass).
  const pass = new Pass(options, now, options.settleSeconds ?? 60, examineFrom);

  let nextToken: string | undefined;
  pages: do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken, maxResults: 100 }));
    nextToken = page.nextToken;
    // Newest start first: once executions started before the look-back window, the rest are older still.
    for (const item of page.executions ?? []) {
      if (item.startDate && item.startDate.getTime() < oldestStart) break pages;
      const { executionArn, status } = item;
      if (!executionArn || !status) continue;
      await examine(pass, { ...item, executionArn, status });
      await pass.sweep(executionArn);
    }
  } while (nextToken);

  const { summary, deferred, rearmed } = pass;
  if (deferred.length > 0) summary.deferred = deferred;
  if (rearmed.length > 0) summary.rearmed = rearmed;
  // Never back past the look-back window's own start, never forward past what is unsettled.
  await store.setWatermark(watermarkName, new Date(Math.max(pass.watermark, oldestStart)));
  logger.info("Reconciler pass done.", { stateMachineArn, examined: summary.examined, recovered: summary.recovered.length, failed: summary.failed.length, deferred: deferred.length, rearmed: rearmed.length });
  return summary;
}

/** One listed execution: its earlier runs' endings (a redrive since the previous pass), then its latest run's. */
async function examine(pass: Pass, item: ExecutionListItem & { executionArn: string; status: string }): Promise<void> {
  const { sfn, stateMachineArn } = pass.options;
  const arn = item.executionArn;
  const redriveCount = item.redriveCount ?? 0;
  // The listing shows only the latest run: a redrive since the previous pass may hide an earlier run's lost ending.
  if (redriveCount > 0 && item.redriveDate && item.redriveDate.getTime() >= pass.examineFrom) await recoverEarlierRuns(pass, arn, redriveCount, item.startDate);
  if (!isEndedStatus(item.status)) {
    pass.holdAt(item.startDate);
    return;
  }
  if (item.stopDate && item.stopDate.getTime() < pass.examineFrom) return;
  await pass.recover(arn, redriveCount, item.status, item.stopDate ?? item.startDate, async () => {
    const { DescribeExecutionCommand } = await loadSfn();
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const status = d.status ?? item.status;
    if (!isEndedStatus(status)) {
      pass.holdAt(item.startDate);
      return undefined;
    }
    return {
      kind: "execution-status",
      origin: "reconciler",
      executionArn: arn,
      stateMachineArn,
      status,
      startDate: d.startDate ?? item.startDate,
      stopDate: d.stopDate ?? item.stopDate,
      output: d.output,
      error: d.error,
      cause: d.cause,
      redriveCount: d.redriveCount ?? redriveCount,
      at: pass.now,
    };
  });
}

/** The endings of a redriven execution's earlier runs (from its history) that no event recorded. */
async function recoverEarlierRuns(pass: Pass, arn: string, redriveCount: number, startDate: Date | undefined): Promise<void> {
  let endings: RunEnding[];
  try {
    endings = runEndings(await readHistoryForAlerts(pass.options.sfn, arn)).filter((e) => e.run < redriveCount);
  } catch (error) {
    pass.options.logger.error("Could not read a redriven execution's history; the next pass tries again.", { executionArn: arn, error });
    pass.summary.failed.push(arn);
    pass.holdAt(startDate);
    return;
  }
  for (const ending of endings) {
    await pass.recover(arn, ending.run, ending.status, ending.at, async () => ({
      kind: "execution-status",
      origin: "reconciler",
      executionArn: arn,
      stateMachineArn: pass.options.stateMachineArn,
      status: ending.status,
      startDate,
      stopDate: ending.at,
      error: ending.error,
      cause: ending.cause,
      redriveCount: ending.run,
      at: pass.now,
    }));
  }
}
