/**
 * The moto engine: the same synthesized definitions run on moto's Step Functions (LocalStack's ASL
 * interpreter), an interpreter no one here wrote. moto calls Lambda on its MOTO_PORT, which the
 * emulator serves (lambda-endpoint.ts) with the Lambda host's bundled task functions; the execution
 * is started, polled and read back with the real AWS SDK client, and Step Functions' "Execution
 * Status Change" events, which moto does not emit, are derived from DescribeExecution as AWS sends them.
 *
 * moto 5.2.1's limits: a second StartExecution on one server fails unless the server is reset in
 * between (so each execution resets it and creates the state machines again), and a DISTRIBUTED Map
 * fails; such executions end in MotoUnsupportedError, never in an answer that could be wrong.
 */
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from "@aws-sdk/client-sfn";
import { CreateEventBusCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { FlowhooksError } from "../../core/errors";
import type { EmulationEngine, ExecutionOutcome, ExecutionRequest } from "../engine";
import type { PutEventsEntry } from "../eventbridge";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "../synth";
import { startLambdaEndpoint, type LambdaEndpoint } from "./lambda-endpoint";
import { motoInvoker } from "./invoker";
import { createApprovals } from "../../aws/approval-store";
import { folderResultStore } from "../../aws/results";
import { startMoto, type MotoServer } from "./server";

/** The execution uses something moto's interpreter cannot run; the message says what and why. */
export class MotoUnsupportedError extends FlowhooksError {}

export interface MotoEngineOptions {
  /**
   * A moto server already running (`http://127.0.0.1:PORT`), started with `MOTO_PORT=<lambdaPort>`:
   * it is reset before each execution, so use one holding nothing else.
   * @default - a server started on a free loopback port and stopped by `close()`
   */
  endpoint?: string;
  /** With `endpoint`: the port that server calls for Lambda (its MOTO_PORT), which the emulator serves. @default - required with `endpoint` */
  lambdaPort?: number;
  /** How often DescribeExecution is asked while the execution runs. @default 25 */
  pollIntervalMs?: number;
}

const STATE_MACHINE_ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/flowhooks-emulator`;
const ENDED_EVENTS = new Set(["ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"]);

/** An existing server, reset over its moto API. */
function externalServer(endpoint: string): MotoServer {
  const post = async (path: string, body?: unknown) => {
    const response = await fetch(`${endpoint}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new MotoUnsupportedError(`not supported by the moto engine: ${endpoint} answered ${response.status} to POST ${path}; is it moto's server (moto_server)?`);
  };
  const configure = (config: Record<string, unknown>) => post("/moto-api/config", config);
  return {
    endpoint,
    port: Number(new URL(endpoint).port),
    configure,
    reset: async () => {
      await post("/moto-api/reset");
      await configure({ stepfunctions: { execute_state_machine: true } });
    },
    stop: async () => undefined,
  };
}

/** The shortest wait a retrier may have: Step Functions (and moto) take `IntervalSeconds` from 1. */
export const MOTO_FAST_RETRY_WAIT_MS = 1000;

/**
 * A reference path ending in an array index and one field (`$.L1[0].left`: a task of a parallel
 * level): moto 5.2.1 resolves it to a one-element list, where Step Functions selects the value.
 */
const INDEX_THEN_FIELD = /^\$(\.[A-Za-z_][\w]*|\[\d+\])*\[\d+\]\.[A-Za-z_][\w]*$/;

/**
 * The definition as deployed, adapted to moto 5.2.1 where it would answer wrongly: each
 * `"k.$": "$.X[n].field"` reads `States.ArrayGetItem($.X[n].field, 0)` (the value Step Functions
 * selects). With `fastRetries`, each retrier waits the shortest time a definition allows (1 s, no
 * backoff, no jitter).
 */
export function motoDefinition(text: string, fastRetries: boolean): string {
  return JSON.stringify(JSON.parse(text), (key, value: unknown) => {
    if (key.endsWith(".$") && typeof value === "string" && INDEX_THEN_FIELD.test(value)) return `States.ArrayGetItem(${value}, 0)`;
    if (!fastRetries || key !== "Retry" || !Array.isArray(value)) return value;
    return value.map((retrier: Record<string, unknown>) => ({ ...retrier, IntervalSeconds: 1, BackoffRate: 1, JitterStrategy: undefined, MaxDelaySeconds: undefined }));
  });
}

/** How many attempts were retries (a TaskScheduled after the first of its state entry). */
function retriedAttempts(events: readonly HistoryEvent[]): number {
  return events.filter((e) => e.type === "TaskScheduled").length - events.filter((e) => e.type === "TaskStateEntered").length;
}

/** The largest state input or output in the history, in bytes. */
function largestStateBytes(events: readonly HistoryEvent[]): number {
  let largest = 0;
  for (const e of events) {
    for (const text of [e.stateEnteredEventDetails?.input, e.stateExitedEventDetails?.output]) {
      if (text !== undefined) largest = Math.max(largest, Buffer.byteLength(text, "utf8"));
    }
  }
  return largest;
}

/** moto's Step Functions as the interpreter. */
export class MotoEngine implements EmulationEngine {
  readonly name = "moto";
  private server: MotoServer | undefined;
  private lambdaEndpoint: LambdaEndpoint | undefined;
  private sfn: SFNClient | undefined;
  private current: { executionArn: string; ended?: HistoryEvent[] } | undefined;
  private fastRetries = false;

  constructor(private readonly options: MotoEngineOptions = {}) {}

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (request.target.subFlows?.size) {
      // Known before running: the sub-flow's start would fail as a split flow's part does (below), after real retry waits.
      throw new MotoUnsupportedError(
        "not supported by the moto engine: a flowRun task (it starts the other flow's state machine); moto 5.2.1 fails a states:startExecution.sync:2 task on a second state machine of one server. Use the default engine.",
      );
    }
    const sfn = await this.start();
    this.current = { executionArn: request.executionArn };
    this.fastRetries = request.fastRetries;
    this.lambdaEndpoint!.invoker = motoInvoker(request, (task) => void this.answerApproval(sfn, request, task));
    try {
      const stateMachineArn = await this.createStateMachines(sfn, request);
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: request.executionName, input: JSON.stringify(request.parameters) }));
      if (started.executionArn !== request.executionArn) {
        throw new MotoUnsupportedError(`not supported by the moto engine: it named the execution ${started.executionArn}, not ${request.executionArn}.`);
      }
      request.started(started.startDate ?? new Date());
      const described = await this.waitForEnd(sfn, request.executionArn);
      const events = await this.readHistory(sfn, request.executionArn);
      this.current.ended = events;
      this.assertSupported(request, events, described);
      this.forwardPutEvents(request, events);
      return this.outcomeOf(described, events);
    } finally {
      this.lambdaEndpoint!.invoker = undefined;
    }
  }

  /**
   * A task paused in moto: answered from `request.approve` with the token its function kept, through
   * `Approvals` (lib/aws/approval-store.ts) and the real SDK client against moto's SendTaskSuccess /
   * SendTaskFailure, as `flowhooks resume` answers deployed. A wait that ended first (TimeoutSeconds) is not-paused.
   */
  private async answerApproval(sfn: SFNClient, request: ExecutionRequest, task: string): Promise<void> {
    const approvals = createApprovals({ sfn, store: folderResultStore(request.resultsDir) });
    try {
      const answer = request.approve ? await request.approve(task) : `${task} waits for approval and the emulator was given no answer; run with --approve all|none`;
      await approvals.answer(request.executionArn, task, answer === true ? { approve: true, by: "emulator" } : { approve: false, reason: answer, by: "emulator" });
    } catch (error) {
      request.write?.(`could not answer ${task}'s approval on moto: ${String(error)}`);
    }
  }

  async history(): Promise<HistoryEvent[]> {
    if (!this.current) return [];
    return this.current.ended ?? this.readHistory(this.sfn!, this.current.executionArn);
  }

  async close(): Promise<void> {
    await this.lambdaEndpoint?.close();
    await this.server?.stop();
    this.sfn?.destroy();
    this.server = this.lambdaEndpoint = this.sfn = undefined;
  }

  /** The Lambda endpoint, then moto (started here, or the one given) calling it. */
  private async start(): Promise<SFNClient> {
    if (this.sfn) return this.sfn;
    const external = this.options.endpoint;
    if (external && this.options.lambdaPort === undefined) {
      throw new MotoUnsupportedError("not supported by the moto engine: a running moto server needs the port it calls for Lambda (the MOTO_PORT it was started with) as `lambdaPort`.");
    }
    this.lambdaEndpoint = await startLambdaEndpoint(this.options.lambdaPort ?? 0, () => this.server!.port);
    try {
      this.server = external ? externalServer(external.replace(/\/+$/, "")) : await startMoto({ lambdaPort: this.lambdaEndpoint.port });
    } catch (error) {
      await this.lambdaEndpoint.close();
      this.lambdaEndpoint = undefined;
      throw error;
    }
    this.sfn = new SFNClient({ endpoint: this.server.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: "emulator", secretAccessKey: "emulator" }, maxAttempts: 1 });
    return this.sfn;
  }

  /** A fresh server (moto 5.2.1 runs one execution per reset) holding the main state machine and a split flow's parts, under their deployed names. */
  private async createStateMachines(sfn: SFNClient, request: ExecutionRequest): Promise<string> {
    await this.server!.reset();
    const { synthesized } = request.target;
    const machines: [string, string][] = [...(synthesized.parts ?? new Map<string, string>())];
    machines.push([synthesized.stateMachineArn, synthesized.definitionString]);
    await this.createEventBuses(machines.map(([, text]) => text));
    for (const [arn, text] of machines) {
      const name = arn.split(":").pop()!;
      await sfn.send(new CreateStateMachineCommand({ name, roleArn: STATE_MACHINE_ROLE, definition: motoDefinition(text, request.fastRetries) })).catch((error: Error) => {
        const distributed = text.includes('"DISTRIBUTED"');
        throw new MotoUnsupportedError(
          `not supported by the moto engine: moto 5.2.1 rejects state machine ${name}${distributed ? ", which holds a DISTRIBUTED Map (its parser has no ToleratedFailurePercentage/ItemReader support); deploy the map with mapMode \"inline\" or use the default engine" : ""} (${error.message}).`,
          { cause: error },
        );
      });
    }
    return synthesized.stateMachineArn;
  }

  /** The flow's event bus, as the stack deploys it: the `events:putEvents` report state puts its entries there. */
  private async createEventBuses(definitions: readonly string[]): Promise<void> {
    const names = new Set(definitions.flatMap((text) => [...text.matchAll(/"EventBusName":"([^"$]+)"/g)].map((m) => m[1]!)).filter((name) => name !== "default"));
    if (names.size === 0) return;
    const events = new EventBridgeClient({ endpoint: this.server!.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: "emulator", secretAccessKey: "emulator" }, maxAttempts: 1 });
    try {
      for (const Name of names) await events.send(new CreateEventBusCommand({ Name }));
    } finally {
      events.destroy();
    }
  }

  private async waitForEnd(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput> {
    for (;;) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status !== "RUNNING") return described;
      await new Promise((resolve) => setTimeout(resolve, this.options.pollIntervalMs ?? 25));
    }
  }

  /** Every page of the execution's history. */
  private async readHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  }

  /** A Distributed Map state entered, or an execution moto could not finish: never reported as the flow's answer. */
  private assertSupported(request: ExecutionRequest, events: readonly HistoryEvent[], described: DescribeExecutionCommandOutput): void {
    const distributed = new Set([request.target.prepared, ...(request.target.parts?.values() ?? [])].flatMap((p) => [...(p.distributedMaps?.keys() ?? [])]));
    const entered = events.find((e) => e.stateEnteredEventDetails?.name !== undefined && distributed.has(e.stateEnteredEventDetails.name));
    if (entered) {
      throw new MotoUnsupportedError(
        `not supported by the moto engine: state \`${entered.stateEnteredEventDetails!.name}\` is a DISTRIBUTED Map, which moto 5.2.1's interpreter cannot run (it fails copying its own lock); emulate this flow with the default engine.`,
      );
    }
    const part = events.find((e) => e.type === "TaskFailed" && e.taskFailedEventDetails?.error === "States.Runtime" && this.scheduledOf(events, e)?.taskScheduledEventDetails?.resource?.startsWith("startExecution"));
    if (part) {
      throw new MotoUnsupportedError(
        `not supported by the moto engine: a flow split into child state machines; moto 5.2.1 fails their states:startExecution.sync:2 task (States.Runtime: ${part.taskFailedEventDetails!.cause}), as it fails a second StartExecution on one server. Use the default engine.`,
      );
    }
    if (!events.some((e) => ENDED_EVENTS.has(e.type ?? ""))) {
      throw new MotoUnsupportedError(`not supported by the moto engine: the execution ended ${described.status} without an ending in its history (${described.error ?? ""} ${described.cause ?? ""}).`.trim());
    }
  }

  /** `events:putEvents` states' entries (the flow's own ending report), as the rule routes them to the handler's queue. */
  private forwardPutEvents(request: ExecutionRequest, events: readonly HistoryEvent[]): void {
    for (const e of events) {
      const details = e.taskSucceededEventDetails;
      if (e.type !== "TaskSucceeded" || details?.resourceType !== "events" || details.resource !== "putEvents") continue;
      const scheduled = events.find((s) => s.id === this.scheduledOf(events, e)?.id);
      const parameters = JSON.parse(scheduled?.taskScheduledEventDetails?.parameters ?? "{}") as { Entries?: (PutEventsEntry & { Detail?: unknown })[] };
      request.putEvents((parameters.Entries ?? []).map((entry) => ({ ...entry, Detail: typeof entry.Detail === "string" ? entry.Detail : JSON.stringify(entry.Detail ?? {}) })));
    }
  }

  /** The TaskScheduled event an attempt's ending follows (through its TaskStarted). */
  private scheduledOf(events: readonly HistoryEvent[], ending: HistoryEvent): HistoryEvent | undefined {
    let at = events.find((x) => x.id === ending.previousEventId);
    while (at && at.type !== "TaskScheduled") at = events.find((x) => x.id === at!.previousEventId);
    return at;
  }

  private outcomeOf(described: DescribeExecutionCommandOutput, events: readonly HistoryEvent[]): ExecutionOutcome {
    const status = described.status as ExecutionOutcome["status"];
    const output = described.output === undefined ? undefined : (JSON.parse(described.output) as unknown);
    return {
      status,
      ...(status === "SUCCEEDED" ? { output } : {}),
      ...(described.error ? { error: described.error } : {}),
      ...(described.cause ? { cause: described.cause } : {}),
      startDate: described.startDate ?? new Date(),
      stopDate: described.stopDate ?? new Date(),
      statesEntered: events.filter((e) => e.type?.endsWith("StateEntered")).map((e) => e.stateEnteredEventDetails!.name!),
      largestStateBytes: largestStateBytes(events),
      retryWaitMs: this.fastRetries ? Math.max(0, retriedAttempts(events)) * MOTO_FAST_RETRY_WAIT_MS : undefined,
    };
  }
}

/** The moto engine, for `emulate({ engine })`. */
export function motoEngine(options: MotoEngineOptions = {}): MotoEngine {
  return new MotoEngine(options);
}
