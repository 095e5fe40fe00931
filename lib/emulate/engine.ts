/**
 * The engine seam: what interprets the state machine's definition. Everything around it (the Lambda
 * host, the handler's queue, the alert channels, the handler Lambda) is the same for every engine:
 * the default engine runs definitions in aws-local-stepfunctions, in this process; the moto engine on
 * moto's server (LocalStack's interpreter). An engine starts the execution, has task states invoke
 * functions through the Lambda host, reports the start and the ending, and serves the history.
 */
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { Flow } from "../core/flow";
import type { PreparedDefinition } from "./definition";
import type { EmulatedStatus } from "./envelopes";
import type { PutEventsEntry } from "./eventbridge";
import type { LambdaHost } from "./lambda-host";
import type { SynthesizedFlow } from "./synth";

/** A synthesized, bundled flow, ready to emulate any number of times. */
export interface EmulationTarget {
  flow: Flow;
  entry: string;
  synthesized: SynthesizedFlow;
  prepared: PreparedDefinition;
  /** A split flow's child state machines, by the ARN the main definition starts them by. @default - none */
  parts?: Map<string, PreparedDefinition>;
  /**
   * The state machines of the flows its `flowRun` tasks run (and theirs), by the ARN the definitions
   * start them by: each such run is an execution of its own. @default - none
   */
  subFlows?: Map<string, PreparedDefinition>;
}

/** One execution, as the emulator asks an engine to run it. */
export interface ExecutionRequest {
  target: EmulationTarget;
  parameters: Record<string, unknown>;
  executionName: string;
  executionArn: string;
  host: LambdaHost;
  /** Retry waits of 0 ms instead of the deployed ones. */
  fastRetries: boolean;
  /** The folder standing in for the results bucket. */
  resultsDir: string;
  /** Lines for the user (a Distributed Map's size). @default - none */
  write?: (line: string) => void;
  /**
   * Answers a task that waits for approval (a `.waitForTaskToken` state): `true` approves, a string
   * rejects with that reason. @default - none: such a task fails the execution, naming `--approve`
   */
  approve?: EmulatedApprove;
  /** The execution started: Step Functions' RUNNING status change goes out. */
  started(startDate: Date): void;
  /** Entries an `events:putEvents` state put on the flow's bus (its rule routes them to the handler's queue). */
  putEvents(entries: readonly PutEventsEntry[]): void;
}

/** The emulator's answer to a Paused task, by task name (as `flowhooks emulate --approve` or the terminal gives it). */
export type EmulatedApprove = (task: string) => true | string | PromiseLike<true | string>;

/** How the execution ended, as DescribeExecution would say. */
export interface ExecutionOutcome {
  status: Exclude<EmulatedStatus, "RUNNING">;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate: Date;
  /** Every state the execution entered, in order (the path taken). */
  statesEntered: string[];
  /** The largest state input or output, in bytes, where the engine measures it. @default 0 */
  largestStateBytes: number;
  /** With fast retries: how long the engine still waited between attempts, where it cannot wait 0 ms. @default 0 */
  retryWaitMs?: number;
}

export interface EmulationEngine {
  /** The engine's name, as `--engine` takes it. */
  readonly name: string;
  /** Runs the execution to its end (its RUNNING status change is reported through `request.started`). */
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  /** The execution's history, as `GetExecutionHistory` returns it (what the handler reconstructs from). */
  history(): Promise<HistoryEvent[]>;
  /** Frees what the engine holds (a server it started). */
  close(): Promise<void>;
}
