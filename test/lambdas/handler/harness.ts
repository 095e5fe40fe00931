/** A flow under test, the handler wired to in-memory parts, and what they recorded. */
import { mockClient } from "aws-sdk-client-mock";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from "@aws-sdk/client-sfn";
import { Flow, getRunContext, task, type RunContext, type StateHandler } from "../../../lib/index";
import type { Alert, AlertChannel } from "../../../lib/notify/alert";
import { InMemoryTransitionStore } from "../../../lib/aws/dedupe";
import type { AlertQueue } from "../../../lib/aws/queue";
import { createLogger } from "../../../lib/aws/logger";
import { createEventsHandler, createReconcileHandler, type HandlerDeps } from "../../../lambdas/handler/index";

export interface Recorded {
  call: string;
  context?: RunContext;
}

function recording(calls: Recorded[], label: string): StateHandler {
  return function record(_obj, oldState, newState) {
    calls.push({ call: `${label}: ${oldState} -> ${newState}`, context: getRunContext() });
  };
}

/** A channel that keeps what it was sent; `failures` makes the next N sends throw. */
export function fakeChannel(name = "fake"): AlertChannel & { sent: Alert[]; failures: number; attempts: number } {
  const channel = {
    name,
    sent: [] as Alert[],
    failures: 0,
    attempts: 0,
    async send(alert: Alert) {
      channel.attempts++;
      if (channel.failures > 0) {
        channel.failures--;
        throw new Error(`${name} is down`);
      }
      channel.sent.push(alert);
    },
  };
  return channel;
}

/** The handler's queue as the handler sees it: what it scheduled and which records it deferred. */
export function recordingQueue(): AlertQueue & { sent: { body: string; delaySeconds: number }[]; deferred: { receiptHandle: string; seconds: number }[] } {
  const queue = {
    sent: [] as { body: string; delaySeconds: number }[],
    deferred: [] as { receiptHandle: string; seconds: number }[],
    async send(body: string, delaySeconds: number) {
      queue.sent.push({ body, delaySeconds });
    },
    async defer(record: { receiptHandle: string }, seconds: number) {
      queue.deferred.push({ receiptHandle: record.receiptHandle, seconds });
    },
  };
  return queue;
}

export interface HarnessOptions {
  flowStateHandlers?: StateHandler[];
  channels?: AlertChannel[];
  env?: Record<string, string>;
  deps?: Partial<HandlerDeps>;
}

export function harness(options: HarnessOptions = {}) {
  const calls: Recorded[] = [];
  const logs: Record<string, any>[] = [];
  const load = task({ name: "load", maxRetries: 1, stateHandlers: [recording(calls, "load")] }, async function load() {
    return 1;
  });
  const notify = task({ name: "notify", stateHandlers: [recording(calls, "notify")] }, async function notify() {});
  const flow = new Flow({
    name: "orders",
    tasks: [load, notify],
    stateHandlers: [recording(calls, "flow"), ...(options.flowStateHandlers ?? [])],
  });
  const store = new InMemoryTransitionStore();
  const channel = fakeChannel();
  const sfnMock = mockClient(SFNClient);
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
  sfnMock.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as any);
  const deps: HandlerDeps = {
    env: { FLOWHOOKS_DEDUPE_TABLE: "orders-transitions", FLOWHOOKS_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:orders-flow", ...options.env },
    store,
    channels: options.channels ?? [channel],
    sfn: new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }),
    logger: createLogger({ writer: (line) => logs.push(JSON.parse(line)), level: "debug" }),
    ...options.deps,
  };
  return {
    flow,
    store,
    channel,
    sfnMock,
    calls,
    logs,
    deps,
    handler: createEventsHandler(flow, deps),
    reconciler: createReconcileHandler(flow, deps),
    callLines: () => calls.map((c) => c.call),
  };
}
