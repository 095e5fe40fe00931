import { errorOf } from "./reject";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import {
  Failed,
  Flow,
  NotificationError,
  Retrying,
  createSecrets,
  snsChannel,
  snsNotifier,
  task,
  withRunContext,
  type Clock,
  type State,
} from "../../lib/index";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:flow-alerts";
const T0 = new Date("2026-03-01T12:00:00.000Z");
const clock: Clock = { now: () => new Date(T0), sleep: async () => {} };
const sns = mockClient(SNSClient);

afterEach(() => sns.reset());

function published() {
  return sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
}

describe("what is published to SNS", () => {
  it("a failed task publishes a subject, the alert as JSON and filterable attributes", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const load = task({ name: "load", stateHandlers: [snsNotifier({ topicArn: TOPIC, onlyStates: [Failed], now: () => T0 })] }, async () => {
      throw new Error("disk full");
    });
    const executionId = "arn:aws:states:eu-west-1:123456789012:execution:orders-sm:run-42";
    await withRunContext({ flowName: "orders", executionId, runtime: "lambda", attempt: 1 }, () =>
      new Flow({ name: "orders" }, () => void load()).run({ clock }),
    );

    const [input] = published();
    expect(published()).toHaveLength(1);
    expect(input!.TopicArn).toBe(TOPIC);
    expect(input!.Subject).toBe("Task load failed in flow orders");
    expect(input!.MessageAttributes).toEqual({
      flow: { DataType: "String", StringValue: "orders" },
      task: { DataType: "String", StringValue: "load" },
      state: { DataType: "String", StringValue: "Failed" },
    });
    expect(input!.MessageStructure).toBe("json");
    const body = JSON.parse(JSON.parse(input!.Message!).default);
    expect(body).toMatchObject({
      title: "Task load failed in flow orders",
      kind: "task",
      flow: "orders",
      task: "load",
      state: "Failed",
      oldState: "Running",
      message: "Error during execution of task: Error: disk full",
      error: { name: "Error", cause: "disk full" },
      attempt: 1,
      maxAttempts: 1,
      executionId,
      consoleUrl: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${executionId}`,
      color: "#eb0000",
      at: T0.toISOString(),
    });
  });

  it("a retrying task's body carries the next attempt time; a flow alert has no task attribute", async () => {
    sns.on(PublishCommand).resolves({});
    const notifier = snsNotifier({ topicArn: TOPIC, onlyStates: [Retrying, Failed] });
    let calls = 0;
    const load = task({ name: "load", maxRetries: 1, retryDelaySeconds: 30 }, async () => {
      if (calls++ === 0) throw new Error("flaky");
      throw new Error("still broken");
    });
    await new Flow({ name: "orders", alerts: [notifier] }, () => void load()).run({ clock });

    const inputs = published();
    expect(inputs.map((i) => i.Subject)).toEqual([
      "Task load failed in flow orders",
      "Task load is retrying (attempt 1 of 2) at 2026-03-01T12:00:30.000Z in flow orders",
      "Task load failed in flow orders",
      "Flow orders failed",
    ]);
    expect(JSON.parse(JSON.parse(inputs[1]!.Message!).default)).toMatchObject({ state: "Retrying", attempt: 1, nextAttemptAt: "2026-03-01T12:00:30.000Z" });
    expect(JSON.parse(JSON.parse(inputs[3]!.Message!).default)).toMatchObject({ kind: "flow", message: "Some reference tasks failed.", failedTasks: ["load"] });
    expect(inputs[3]!.MessageAttributes).toEqual({
      flow: { DataType: "String", StringValue: "orders" },
      state: { DataType: "String", StringValue: "Failed" },
    });
  });

  it("a rejected publish fails the task with a NotificationError naming the permission to grant", async () => {
    const denied = Object.assign(new Error("User is not authorized to perform: SNS:Publish"), { name: "AuthorizationErrorException" });
    sns.on(PublishCommand).rejects(denied);
    const load = task({ name: "load", stateHandlers: [snsNotifier({ topicArn: TOPIC })] }, async () => 1);
    const final = await new Flow({ name: "orders" }, () => void load()).run({ clock });
    const state = [...final.result].find(([t]) => t.name === "load")![1] as State;
    expect(state).toBeInstanceOf(Failed);
    expect(state.result).toBeInstanceOf(NotificationError);
    expect(state.message).toContain(`SNS did not accept the alert "Task load succeeded in flow orders" for ${TOPIC} (AuthorizationErrorException`);
    expect(state.message).toContain("Grant sns:Publish on the topic to this function's role.");
  });

  it("a topic ARN read from a secret is used and kept out of error messages", async () => {
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_ALERT_TOPIC: TOPIC } });
    sns.on(PublishCommand).resolvesOnce({}).rejects(Object.assign(new Error(`Topic ${TOPIC} gone`), { name: "NotFoundException" }));
    const channel = snsChannel({ topicArnSecret: "alert-topic", secrets: store });
    const alert = { kind: "flow" as const, flow: "orders", oldState: new Failed(), newState: new Failed("x"), at: T0 };
    await channel.send(alert);
    expect(published()[0]!.TopicArn).toBe(TOPIC);
    const error = await errorOf(channel.send(alert));
    expect(error.message).toContain('the topic in secret "alert-topic"');
    expect(error.message).not.toContain("123456789012");
  });
});

describe("bad SNS input is refused when the notifier is created", () => {
  it("an empty topic ARN", () => {
    expect(() => snsNotifier({ topicArn: "" })).toThrow(
      "snsChannel: `topicArn` is empty; pass one like arn:aws:sns:eu-west-1:123456789012:alerts (the FlowStateMachine's alertTopic.topicArn).",
    );
  });

  it("something that is not a topic ARN", () => {
    expect(() => snsNotifier({ topicArn: "arn:aws:sqs:eu-west-1:123456789012:q" })).toThrow(/is not an SNS topic ARN/);
  });

  it("neither topicArn nor topicArnSecret", () => {
    expect(() => snsNotifier({})).toThrow(/give `topicArn` .* or `topicArnSecret`/);
  });

  it("an invalid state filter", () => {
    expect(() => snsNotifier({ topicArn: TOPIC, onlyStates: [undefined as any] })).toThrow(/snsNotifier: onlyStates\[0\] is undefined, not a state class/);
  });
});
