/**
 * Secret masking across the stack (issue 21 item 6): no value read through `secrets.get` in any
 * Lambda appears in any alert, log line or error, raw or JSON-escaped to any depth, whole or cut.
 * Driven through the real task Lambda entry (`createTaskHandler`, its PutEvents through the SDK
 * client) and the real handler (`createEventsHandler`: SNS through the SDK client, Slack on 127.0.0.1),
 * with Secrets Manager, Step Functions, SNS and EventBridge behind aws-sdk-client-mock. Each
 * Lambda is a fresh container (`forgetSecretValues`): it knows a value only if it read it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { Flow, task, virtualClock } from "../../lib/index";
import { forgetSecretValues } from "../../lib/core/mask";
import { InMemoryTransitionStore } from "../../lib/aws/dedupe";
import { InMemoryDocumentStore } from "../../lib/aws/documents";
import { createLogger } from "../../lib/aws/logger";
import { snsChannel } from "../../lib/notify/sns";
import { createEventsHandler } from "../../lambdas/handler/index";
import { createTaskHandler, eventBridgeEmitter } from "../../lambdas/task/index";
import { crashedTaskHistory, EXECUTION_ARN, eventBridgeEvent, sqsEvent, sqsRecord, STATE_MACHINE_ARN } from "../fixtures/index";
import { recordingQueue } from "../lambdas/handler/harness";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";

const DB_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-db-AbCdEf";
const SLACK_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-slack-AbCdEf";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:orders-alerts";
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: "orders-fn", AWS_REGION: "us-east-1" };
const HANDLER_ENV = { ...LAMBDA, FLOWHOOKS_DEDUPE_TABLE: "orders-transitions", FLOWHOOKS_STATE_MACHINE_ARN: STATE_MACHINE_ARN, FLOWHOOKS_SECRET_ARN_DB_PASSWORD: DB_ARN };
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

const secretsManager = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
  secretsManager.restore();
  sfn.restore();
  sns.restore();
  eventBridge.restore();
});
afterEach(() => {
  forgetSecretValues();
  for (const m of [secretsManager, sfn, sns, eventBridge]) m.reset();
  vi.restoreAllMocks();
});

/** `text` JSON-escaped `depth` times. */
function escaped(text: string, depth: number): string {
  let out = text;
  for (let i = 0; i < depth; i++) out = JSON.stringify(out).slice(1, -1);
  return out;
}

/** What of `secret` `text` shows: a form of it (any depth up to `maxDepth`), or a prefix of 4+ characters at a cut (a marker or the text's end). */
function leakIn(text: string, secret: string, maxDepth: number): string | undefined {
  for (let d = 0; d <= maxDepth; d++) {
    if (text.includes(escaped(secret, d))) return `whole, depth ${d}`;
    for (let j = 4; j < secret.length; j++) {
      const prefix = escaped(secret.slice(0, j), d);
      if (text.includes(`${prefix}…`) || text.includes(`${prefix}...`) || text.endsWith(prefix)) return `prefix of ${j}, depth ${d}`;
    }
  }
  return undefined;
}

/** Every text that left a Lambda: SNS publishes, Slack bodies, PutEvents entries, log lines. */
function outputs(logs: string[]): string[] {
  return [
    ...sns.commandCalls(PublishCommand).flatMap((c) => [c.args[0].input.Subject ?? "", c.args[0].input.Message ?? ""]),
    ...slack.requests.map((r) => r.body),
    ...eventBridge.commandCalls(PutEventsCommand).flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => e.Detail ?? "")),
    ...logs,
  ];
}

function mockHistory(cause: string): void {
  const events: HistoryEvent[] = crashedTaskHistory().map((e) =>
    e.type === "TaskFailed" && e.taskFailedEventDetails?.cause?.includes("timed out") ? { ...e, taskFailedEventDetails: { ...e.taskFailedEventDetails, error: "Error", cause } } : e,
  );
  sfn.on(GetExecutionHistoryCommand).resolves({ events });
  sfn.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as any);
}

function handlerFor(flow: Flow, logs: string[], options: { env?: Record<string, string>; store?: InMemoryTransitionStore; channels?: "sns" | "built-in" } = {}) {
  const builtIn = options.channels === "built-in";
  return createEventsHandler(flow, {
    env: { ...HANDLER_ENV, ...options.env },
    store: options.store ?? new InMemoryTransitionStore(),
    ...(builtIn ? { documents: new InMemoryDocumentStore(), queue: recordingQueue() } : { channels: [snsChannel({ topicArn: TOPIC, client: new SNSClient({ region: "us-east-1", credentials }) })] }),
    sfn: new SFNClient({ region: "us-east-1", credentials }),
    logger: createLogger({ writer: (line) => logs.push(line), level: "debug" }),
  });
}

const orders = () =>
  new Flow({
    name: "orders",
    tasks: [task({ name: "load", maxRetries: 1 }, async function load() {}), task({ name: "notify" }, async function notify() {})],
  });

describe("item 6: each leak the probe found", () => {
  it("(a) an alert kept with its claim is stored masked, so a fresh container that never read the secret sends it masked", async () => {
    const secret = "api-token-7c21ffee";
    const flow = new Flow({
      name: "orders",
      tasks: [task({ name: "load" }, async function load() {})],
      stateHandlers: [
        (_flow, _old, next) => {
          if (next.isFailed()) throw new Error(`the alert service refused token ${secret}`);
        },
      ],
    });
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: secret });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({ redriveCount: 0 } as any);
    sns.on(PublishCommand).rejectsOnce(Object.assign(new Error("SNS is down"), { name: "InternalErrorException" })).resolves({ MessageId: "m-1" });
    const store = new InMemoryTransitionStore();
    const logs: string[] = [];
    const record = sqsRecord(eventBridgeEvent("sfn-failed"));
    const first = await handlerFor(flow, logs, { store })(sqsEvent(record));
    expect(first.batchItemFailures).toHaveLength(1);
    const kept = [...store.claims.values()].map((c) => (c as { pendingAlert?: string }).pendingAlert).filter(Boolean);
    expect(kept).toHaveLength(1);
    expect(kept[0]).not.toContain(secret);
    expect(kept[0]).toContain("[redacted]");
    // A fresh container, deployed after the secret was rotated out of this function: it cannot know the old value.
    forgetSecretValues();
    const second = await handlerFor(flow, logs, { store: new InMemoryTransitionStore({ sharedWith: store }), env: { FLOWHOOKS_SECRET_ARN_DB_PASSWORD: "" } })(sqsEvent(record));
    expect(second.batchItemFailures).toEqual([]);
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Message!);
    expect(published.at(-1)).toContain("the alert service refused token [redacted]");
    for (const text of outputs(logs)) expect(text).not.toContain(secret);
  });

  it("(c) a crash cause in the history quoting a secret only a task function read is masked: the handler reads every secret of the stack first", async () => {
    const secret = "pg-pass-5d2b9a";
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: secret });
    mockHistory(JSON.stringify({ errorType: "Error", errorMessage: `connect postgres://app:${secret}@db failed`, trace: [`Error: ${secret}`] }));
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const logs: string[] = [];
    const out = await handlerFor(orders(), logs)(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))));
    expect(out.batchItemFailures).toEqual([]);
    const messages = sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Message!);
    expect(messages.some((m) => m.includes("connect postgres://app:[redacted]@db failed"))).toBe(true);
    for (const text of outputs(logs)) expect(text).not.toContain(secret);
  });

  it("(c) a secret that cannot be read stops the handler before any record (SQS retries), with one line naming the secret and the fix", async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const logs: string[] = [];
    const out = await handlerFor(orders(), logs)(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"), "m-1")));
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    const line = JSON.parse(logs.find((l) => l.includes("No record handled"))!);
    expect(line.error.message).toContain(`Secret "DB_PASSWORD": could not read the Secrets Manager secret ${DB_ARN} (AccessDeniedException): the function's role lacks secretsmanager:GetSecretValue`);
  });

  it("(d) the handler's own Slack webhook is known before the first record: an event quoting it is masked on SNS, in the malformed-record line and in the webhook body", async () => {
    const webhook = `${slack.url}/services/T0/B0/hook-secret-path`;
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: "db-pass-unused" });
    secretsManager.on(GetSecretValueCommand, { SecretId: SLACK_ARN }).resolves({ SecretString: webhook });
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const logs: string[] = [];
    const queue = recordingQueue();
    const handler = createEventsHandler(orders(), {
      env: { ...HANDLER_ENV, FLOWHOOKS_ALERT_TOPIC_ARN: TOPIC, FLOWHOOKS_SLACK_SECRET_ARN: SLACK_ARN, FLOWHOOKS_ALERT_WINDOW_SECONDS: "1" },
      store: new InMemoryTransitionStore(),
      documents: new InMemoryDocumentStore(),
      queue,
      sfn: new SFNClient({ region: "us-east-1", credentials }),
      logger: createLogger({ writer: (line) => logs.push(line), level: "debug" }),
    });
    const retrying = eventBridgeEvent("task-retrying", {
      oldState: { type: "Failed", message: `post to ${webhook} failed` },
      newState: { type: "Retrying", message: `Retrying after posting to ${webhook}`, startTime: "2019-02-26T19:42:35.000Z", runCount: 1 },
    });
    const malformed = `{"detail-type":"flowhooks Task State Change","source":"flowhooks","detail":{"note":"${webhook}"`;
    expect((await handler(sqsEvent(sqsRecord(retrying), sqsRecord(malformed)))).batchItemFailures).toEqual([]);
    for (const flush of queue.sent) await handler(sqsEvent(sqsRecord(flush.body)));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(logs.some((l) => l.includes("Dropped a malformed record"))).toBe(true);
    expect(slack.requests.length).toBeGreaterThan(0);
    for (const text of outputs(logs)) {
      expect(text).not.toContain(webhook);
      expect(text).not.toContain("hook-secret-path");
    }
  });

  it("(e) a cause cut at 1,000 characters is masked before the cut: no prefix of the secret is left at the cut", async () => {
    const secret = "s3cr3t-value-that-straddles-the-cut";
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: secret });
    // The readable cause is cut at 1,000 characters, in the middle of the secret.
    mockHistory(JSON.stringify({ errorType: "Error", errorMessage: `${"x".repeat(990)}${secret} and more` }));
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const logs: string[] = [];
    expect((await handlerFor(orders(), logs)(sqsEvent(sqsRecord(eventBridgeEvent("sfn-failed"))))).batchItemFailures).toEqual([]);
    const messages = sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Message!);
    expect(messages.some((m) => m.includes("x[redacted]"))).toBe(true);
    for (const text of outputs(logs)) expect(text).not.toContain(secret.slice(0, 10));
  });

  it("(e) the malformed-record line cuts the body at 2,000 characters after masking it: no prefix is left where the cut has no marker", async () => {
    const secret = "body-secret-abcdefghijklmnop";
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: secret });
    const logs: string[] = [];
    const body = `{"source":"flowhooks","note":"${"n".repeat(1_950)}${secret}`;
    expect((await handlerFor(orders(), logs)(sqsEvent(sqsRecord(body))))).toEqual({ batchItemFailures: [] });
    const line = JSON.parse(logs.find((l) => l.includes("Dropped a malformed record"))!);
    expect(line.body).toMatch(/n\[redacted\]$/);
    for (const text of logs) expect(text).not.toContain(secret.slice(0, 8));
  });

  it("(e) a task event's state text, cut to 2,048 characters (the event to 64 KiB), is masked before the cut", async () => {
    const secret = "evt-secret-0123456789abcdef";
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: secret });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e" }] });
    const flow = new Flow({ name: "orders", tasks: [task({ name: "load" }, async function load() {
      // "Error during execution of task: Error: " is 39 characters: the secret straddles the 2,048-character cut of the message.
      throw new Error(`${"y".repeat(2_048 - 39 - 10)}${secret}`);
    })] });
    const logs = captureConsole();
    const handler = createTaskHandler(flow, {
      clock: virtualClock(new Date("2026-03-01T12:00:00.000Z")),
      env: { ...LAMBDA, FLOWHOOKS_TASK: "load", FLOWHOOKS_SECRET_ARN_DB_PASSWORD: DB_ARN },
      emit: eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1", credentials })),
    });
    await handler(taskPayload("load"));
    const details = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries![0]!.Detail!);
    expect(details.some((d) => d.includes("[truncated") || d.includes("[trimmed"))).toBe(true);
    for (const text of [...details, ...logs]) expect(leakIn(text, secret, 2)).toBeUndefined();
  });
});

function taskPayload(name: string) {
  return {
    task: name,
    parameters: {},
    upstream: {},
    context: {
      Execution: { Id: EXECUTION_ARN, Input: {}, Name: "execution-name", StartTime: "2026-03-01T12:00:00.000Z" },
      State: { Name: name, EnteredTime: "2026-03-01T12:00:00.000Z", RetryCount: 0 },
    },
  };
}

/** The task Lambda's own log lines (console.error). */
function captureConsole(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  return lines;
}

/** Secrets with what escapes change (quotes, backslashes, newlines, mrkdwn, non-ASCII). */
const secretArb = fc
  .array(fc.constantFrom(..."abcXYZ0189-_:/.@", '"', "\\", "\n", "<", "&", "é"), { minLength: 8, maxLength: 28 })
  .map((chars) => `k${chars.join("")}z`)
  .filter((s) => !"[redacted]".includes(s));

describe("property: no value read through secrets.get in any Lambda leaves any Lambda, whole, escaped or cut", () => {
  it("task error → PutEvents → handler → SNS and Slack; crash cause in the history; malformed record; failed publishes retried in fresh containers; logs", async () => {
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        fc.integer({ min: 0, max: 3 }),
        // Cuts: causes at 1,000 (readable) and 4,000 (history); state text at 2,048 and stacks at 1,024 (task events); Slack sections at 3,000.
        fc.constantFrom(0, 985, 1_010, 2_000, 2_040, 2_990, 3_990),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 }),
        async (secret, depth, pad, retries, snsFailures) => {
          forgetSecretValues();
          for (const m of [secretsManager, sfn, sns, eventBridge]) m.reset();
          slack.requests.length = 0;
          secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({ SecretString: secret });
          secretsManager.on(GetSecretValueCommand, { SecretId: SLACK_ARN }).resolves({ SecretString: `${slack.url}/services/T0/B0/x` });
          eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e" }] });
          // Injected fault: SNS fails the first publishes; the records come back to a fresh container.
          const publish = sns.on(PublishCommand);
          for (let i = 0; i < snsFailures; i++) publish.rejectsOnce(Object.assign(new Error("SNS is down"), { name: "InternalErrorException" }));
          publish.resolves({ MessageId: "m" });
          const quoted = `${"p".repeat(pad)}${escaped(secret, depth)} tail`;
          mockHistory(JSON.stringify({ errorType: "Error", errorMessage: quoted }));

          // The task Lambda (its own container): the body throws text quoting the secret, escaped `depth` times.
          const logs = captureConsole();
          const flow = new Flow({
            name: "orders",
            tasks: [
              task({ name: "load", maxRetries: retries ? 1 : 0 }, async function load() {
                throw new Error(quoted);
              }),
              task({ name: "notify" }, async function notify() {}),
            ],
          });
          const taskHandler = createTaskHandler(flow, {
            clock: virtualClock(new Date("2026-03-01T12:00:00.000Z")),
            env: { ...LAMBDA, FLOWHOOKS_TASK: "load", FLOWHOOKS_SECRET_ARN_DB_PASSWORD: DB_ARN },
            emit: eventBridgeEmitter("bus", new EventBridgeClient({ region: "us-east-1", credentials })),
          });
          const thrown = await taskHandler(taskPayload("load")).then(
            () => undefined,
            (error: Error) => `${error.name} ${error.message} ${error.stack}`,
          );
          vi.restoreAllMocks();

          // The handler (another container): the task events, the ending (history with the crash cause), a malformed record.
          const queue = recordingQueue();
          const store = new InMemoryTransitionStore();
          const documents = new InMemoryDocumentStore();
          const container = () => {
            forgetSecretValues();
            return createEventsHandler(flow, {
              env: { ...HANDLER_ENV, FLOWHOOKS_ALERT_TOPIC_ARN: TOPIC, FLOWHOOKS_SLACK_SECRET_ARN: SLACK_ARN },
              store: new InMemoryTransitionStore({ sharedWith: store }),
              documents,
              queue,
              sfn: new SFNClient({ region: "us-east-1", credentials }),
              logger: createLogger({ writer: (line) => logs.push(line), level: "debug" }),
            });
          };
          let handler = container();
          const events = eventBridge.commandCalls(PutEventsCommand).map((c) => ({ ...eventBridgeEvent("task-retrying"), detail: JSON.parse(c.args[0].input.Entries![0]!.Detail!) }));
          const records = [...events, eventBridgeEvent("sfn-failed")].map((e) => sqsRecord(e));
          records.push(sqsRecord(`{"source":"flowhooks","detail":${JSON.stringify(quoted)}`));
          let pending = records;
          for (let receive = 0; pending.length > 0 && receive < 5; receive++) {
            const failed = new Set((await handler(sqsEvent(...pending))).batchItemFailures.map((f) => f.itemIdentifier));
            pending = pending.filter((r) => failed.has(r.messageId));
            handler = container();
          }
          for (const flush of queue.sent) await handler(sqsEvent(sqsRecord(flush.body)));

          expect(pending).toEqual([]);
          expect(sns.commandCalls(PublishCommand).length).toBeGreaterThan(0);
          for (const text of [...outputs(logs), thrown ?? ""]) {
            const leak = leakIn(text, secret, depth + 2);
            if (leak) throw new Error(`${leak} of ${JSON.stringify(secret)} in: ${text.slice(0, 400)}`);
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 120_000);
});
