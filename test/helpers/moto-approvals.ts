/**
 * A manualOnly flow paused on the moto engine with its task token in moto's S3, as deployed: the
 * emulator's own Lambda host keeps results (and tokens) in a local folder (lib/emulate/results.ts
 * `withResultsFolder` swaps FLOWHOOKS_RESULTS_BUCKET for FLOWHOOKS_RESULTS_DIR), so here the task
 * functions keep their results bucket, renamed to a bucket moto holds, and reach moto's S3 through
 * `AWS_ENDPOINT_URL`. The definition's `tokenBucket` (what `flowhooks resume` reads) names the same
 * bucket, as CDK resolves both from the one FlowResults bucket when deployed.
 *
 * Whoever answers (the Slack interactivity handler, `flowhooks resume`) reaches moto the same way:
 * the SDK's default clients, pointed at moto by `AWS_ENDPOINT_URL` and dummy credentials.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { executionTimeline } from "../../lib/aws/history";
import { resultKeyPrefix } from "../../lib/core/results";
import { approvalAnswerKey, approvalTokenKey } from "../../lib/aws/approvals";
import type { EmulationTarget, ExecutionOutcome } from "../../lib/emulate/engine";
import { LambdaHost, REGION_ENV } from "../../lib/emulate/lambda-host";
import { LocalLambda, type InvocationOutcome } from "../../lib/emulate/lambda";
import { MotoEngine } from "../../lib/emulate/moto/engine";
import { freePort, startMoto, type MotoServer } from "../../lib/emulate/moto/server";
import { LOCAL_ACCOUNT, LOCAL_REGION, type SynthesizedFunction } from "../../lib/emulate/synth";
import { motoClientConfig } from "./moto";

/** The results bucket the paused flow keeps its token in (in moto's S3). */
export const RESULTS_BUCKET = "approval-flow-results";

/** The Lambda host with the deployed results bucket: task functions run in their containers as the emulator runs them, writing to moto's S3. */
class BucketLambdaHost extends LambdaHost {
  private readonly deployed = new Map<string, LocalLambda>();

  constructor(
    functions: SynthesizedFunction[],
    executionArn: string,
    /** Awaited before each invocation (the bucket made after moto's per-execution reset; a gate a test holds). */
    private readonly before: (fn: SynthesizedFunction) => Promise<void>,
  ) {
    super({ functions, executionArn, resultsDir: "(unused: results go to the bucket)", onTransition: () => undefined, deliver: () => undefined });
  }

  override async invoke(fn: SynthesizedFunction, payload: unknown): Promise<InvocationOutcome> {
    await this.before(fn);
    let container = this.deployed.get(fn.functionName);
    if (!container) {
      // No FLOWHOOKS_EVENT_BUS: the transitions are read back from moto's execution history.
      container = new LocalLambda(fn, { ...REGION_ENV });
      this.deployed.set(fn.functionName, container);
    }
    return container.invoke(payload);
  }
}

/** `target` with its results bucket named `bucket` in the task functions' environment and the approval states' `tokenBucket`. */
function withBucket(target: EmulationTarget, bucket: string): EmulationTarget {
  const fns = [...target.synthesized.functions.values()];
  const placeholder = fns.map((f) => f.environment.FLOWHOOKS_RESULTS_BUCKET).find((b) => b !== undefined);
  if (!placeholder) throw new Error("the target's task functions have no FLOWHOOKS_RESULTS_BUCKET");
  const functions = new Map(
    [...target.synthesized.functions].map(([k, f]) => [k, { ...f, environment: { ...f.environment, FLOWHOOKS_RESULTS_BUCKET: bucket } }] as const),
  );
  const definitionString = target.synthesized.definitionString.split(JSON.stringify(placeholder)).join(JSON.stringify(bucket));
  return { ...target, synthesized: { ...target.synthesized, functions, definitionString } };
}

export interface PausedRun {
  executionArn: string;
  /** Resolves when the approval invocation returned (the task is Paused and its token kept). */
  paused: Promise<string>;
  /** Resolves when the execution ended. */
  ended: Promise<ExecutionOutcome>;
}

export interface MotoApprovalRig {
  readonly server: MotoServer;
  readonly engine: MotoEngine;
  /** Starts an execution of the rig's target (or `target`, on the same server); `holdTask` waits for `release()` before its first invocation. */
  start(name: string, options?: { holdTask?: string; target?: EmulationTarget }): PausedRun & { release(): void; held: Promise<void> };
  /** The kept token record's text (the secret: never printed), or undefined when there is none. */
  tokenRecord(executionArn: string, task: string): Promise<string | undefined>;
  /** The kept answer record (`approvals/…/answer.json`), or undefined when there is none. */
  answerRecord(executionArn: string, task: string): Promise<Record<string, unknown> | undefined>;
  /** The execution's task transitions (`task: Old -> New`) as moto's history shows them. */
  transitions(task: string): Promise<string[]>;
  history(): Promise<HistoryEvent[]>;
  /** Environment for the SDK's default clients (in this process, or a CLI subprocess) to reach moto. */
  awsEnv: Record<string, string>;
  close(): Promise<void>;
}

/** A moto server and the moto engine using it, for `target` (a flow with one manualOnly task `deploy`). */
export async function motoApprovalRig(target: EmulationTarget): Promise<MotoApprovalRig> {
  const lambdaPort = await freePort();
  const server = await startMoto({ lambdaPort });
  const engine = new MotoEngine({ endpoint: server.endpoint, lambdaPort, pollIntervalMs: 50 });
  const s3 = new S3Client({ ...motoClientConfig(server), forcePathStyle: true });
  let bucketMade: Promise<unknown> | undefined;
  const awsEnv = { AWS_ENDPOINT_URL: server.endpoint, AWS_REGION: LOCAL_REGION, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
  let flowName = target.flow.name;
  const read = async (key: string): Promise<string | undefined> => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: RESULTS_BUCKET, Key: key }));
      return await out.Body!.transformToString();
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  };

  return {
    server,
    engine,
    awsEnv,
    start(name, options = {}) {
      const ready = withBucket(options.target ?? target, RESULTS_BUCKET);
      const functions = [...ready.synthesized.functions.values()];
      const stateMachineName = ready.synthesized.stateMachineArn.split(":").pop()!;
      // The task functions (and whoever answers) reach moto through the SDK's default clients.
      Object.assign(process.env, awsEnv);
      const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineName}:${name}`;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let onHeld!: () => void;
      const held = new Promise<void>((resolve) => (onHeld = resolve));
      let onPaused!: (task: string) => void;
      const paused = new Promise<string>((resolve) => (onPaused = resolve));
      // moto is reset before each execution (lib/emulate/moto/engine.ts): the bucket is made again at the first invocation.
      bucketMade = undefined;
      const host = new BucketLambdaHost(functions, executionArn, async (fn) => {
        bucketMade ??= s3.send(new CreateBucketCommand({ Bucket: RESULTS_BUCKET }));
        await bucketMade;
        if (fn.environment.FLOWHOOKS_TASK === options.holdTask) {
          onHeld();
          await gate;
        }
      });
      flowName = ready.flow.name;
      const ended = engine.execute({
        target: ready,
        parameters: {},
        executionName: name,
        executionArn,
        host,
        fastRetries: true,
        resultsDir: "(unused)",
        // The engine would answer through the emulator's folder; here the answer comes from outside, so it is never given.
        approve: (task) => {
          onPaused(task);
          return new Promise<never>(() => undefined);
        },
        started: () => undefined,
        putEvents: () => undefined,
      });
      ended.catch(() => undefined);
      // An execution that ends without pausing says how, instead of leaving the test to time out.
      const pausedOrEnded = Promise.race([
        paused,
        ended.then((o) => {
          throw new Error(`${name} ended ${o.status} without pausing: ${o.error ?? ""} ${o.cause ?? ""}`);
        }),
      ]);
      return { executionArn, paused: pausedOrEnded, ended, release, held };
    },
    tokenRecord: (executionArn, task) => read(approvalTokenKey(resultKeyPrefix(executionArn), task)),
    async answerRecord(executionArn, task) {
      const text = await read(approvalAnswerKey(resultKeyPrefix(executionArn), task));
      return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
    },
    async transitions(task) {
      return executionTimeline(await engine.history(), { flowName })
        .filter((t) => t.task === task)
        .map((t) => `${t.oldState.name} -> ${t.newState.name}`);
    },
    history: () => engine.history(),
    async close() {
      s3.destroy();
      await engine.close();
      await server.stop();
    },
  };
}
