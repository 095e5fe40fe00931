/**
 * chatbotNotifier (issue 26 item 2): Amazon Q Developer custom notifications published to SNS
 * through the real SDK client (aws-sdk-client-mock), one thread per execution, FIFO refused.
 */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Flow, NotificationError, Retrying, Running, Success, task, withRunContext, type Clock, type State } from "../../lib/index";
import { forgetSecretValues, registerSecretValue } from "../../lib/core/mask";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { chatbotChannel, chatbotNotifier, CHATBOT_DESCRIPTION_CHARS, formatChatbotNotification } from "../../lib/notify/chatbot";
import { errorOf } from "./reject";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:chat-alerts";
const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:run-42";
const AT = new Date("2026-03-01T12:00:00.000Z");
const clock: Clock = { now: () => new Date(AT), sleep: async () => {} };
const sns = mockClient(SNSClient);
afterEach(() => {
  sns.reset();
  forgetSecretValues();
});

function taskAlert(newState: State, extra: Partial<Alert> = {}): Alert {
  return { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState, at: AT, executionId: EXECUTION, consoleUrl: executionConsoleUrl(EXECUTION), attempt: 1, maxAttempts: 3, ...extra };
}

describe("the notification Amazon Q Developer renders", () => {
  it("has the custom schema: version 1.0, source custom, client-markdown content, the execution as thread", () => {
    const n = formatChatbotNotification(taskAlert(new Failed("load broke", { result: Object.assign(new Error("connect ETIMEDOUT"), { name: "ConnectionError" }) })));
    expect(n).toMatchObject({
      version: "1.0",
      source: "custom",
      content: { textType: "client-markdown", title: ":x: Task load failed in flow orders" },
      metadata: { threadId: EXECUTION, summary: "Task load failed in flow orders", relatedResources: [EXECUTION] },
    });
    expect(n.content.description).toContain("*Flow* orders\n*Task* load\n*State* Failed (was Running)\n*Attempt* 1 of 3");
    expect(n.content.description).toContain("*ConnectionError*\n```\nconnect ETIMEDOUT\n```");
    expect(n.content.nextSteps[0]).toBe(`Open the execution in the Step Functions console: ${executionConsoleUrl(EXECUTION)}`);
  });

  it("alerts of one execution share one thread; another execution starts another", () => {
    const a = formatChatbotNotification(taskAlert(new Retrying("again", { startTime: AT, runCount: 1 })));
    const b = formatChatbotNotification({ ...taskAlert(new Success()), kind: "flow", task: undefined });
    const c = formatChatbotNotification(taskAlert(new Success(), { executionId: `${EXECUTION}-2` }));
    expect(a.metadata.threadId).toBe(b.metadata.threadId);
    expect(c.metadata.threadId).not.toBe(a.metadata.threadId);
    expect(a.id).not.toBe(b.id);
  });

  it("any cause is masked and cut to the description bound (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 5000 }), fc.string({ minLength: 8, maxLength: 20, unit: fc.constantFrom(..."abcdefghijkXYZ0123") }), (cause, secret) => {
        forgetSecretValues();
        registerSecretValue(secret);
        const n = formatChatbotNotification(taskAlert(new Failed("x", { result: new Error(`${cause}${secret}${cause}`) })));
        expect(n.content.description.length).toBeLessThanOrEqual(CHATBOT_DESCRIPTION_CHARS);
        expect(JSON.stringify(n)).not.toContain(secret);
      }),
      { numRuns: 80 },
    );
  });
});

describe("chatbotNotifier", () => {
  it("publishes the notification as the SNS message of a failed task", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const load = task({ name: "load", stateHandlers: [chatbotNotifier({ topicArn: TOPIC, onlyStates: [Failed], client: new SNSClient({ region: "eu-west-1" }), now: () => AT })] }, async () => {
      throw new Error("disk full");
    });
    await withRunContext({ flowName: "orders", executionId: EXECUTION, runtime: "lambda", attempt: 1 }, () => new Flow({ name: "orders" }, () => void load()).run({ clock }));
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.MessageStructure).toBeUndefined();
    expect(JSON.parse(input.Message!)).toMatchObject({ version: "1.0", source: "custom", metadata: { threadId: EXECUTION } });
  });

  it("refuses a FIFO topic when created, naming the fix", () => {
    expect(() => chatbotNotifier({ topicArn: `${TOPIC}.fifo` })).toThrow(/FIFO topic, which Amazon Q Developer in chat applications does not subscribe to; use a standard topic/);
    expect(() => chatbotNotifier({ topicArn: "chat-alerts" })).toThrow(/is not an SNS topic ARN/);
  });

  it("a refused publish fails with a NotificationError that names the grant", async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error("not authorized"), { name: "AuthorizationErrorException" }));
    const error = await errorOf(chatbotChannel({ topicArn: TOPIC, client: new SNSClient({ region: "eu-west-1" }) }).send(taskAlert(new Failed("x"))));
    expect(error).toBeInstanceOf(NotificationError);
    expect(error.message).toMatch(/Grant sns:Publish on the topic/);
  });
});
