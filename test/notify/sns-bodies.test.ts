/**
 * SNS bodies per protocol (issue 26 item 1): one publish with `MessageStructure: "json"` whose
 * `default` body is the alert as JSON (what programs already parse), `email` readable text and
 * `sms` at most 140 characters; subjects within SNS's limit; every body masked and within 256 KiB.
 */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Retrying, Running, Success, type State } from "../../lib/core/states";
import { forgetSecretValues, registerSecretValue } from "../../lib/core/mask";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { alertToJSON, formatEmailText, formatSmsText, formatSnsMessage, SILENCE_HINT } from "../../lib/notify/format";
// From the package, as users import it: loading it gives the channel its SNS adapter (lib/aws/index.ts).
import { snsChannel } from "../../lib/index";
import { isFifoTopic, publish } from "../../lib/aws/sns";

const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:run-42";
const AT = new Date("2026-03-01T12:00:00.000Z");
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:flow-alerts";
const sns = mockClient(SNSClient);
afterEach(() => {
  sns.reset();
  forgetSecretValues();
});

function taskAlert(newState: State, extra: Partial<Alert> = {}): Alert {
  return {
    kind: "task",
    flow: "orders",
    task: "load",
    oldState: new Running(),
    newState,
    at: AT,
    executionId: EXECUTION,
    consoleUrl: executionConsoleUrl(EXECUTION),
    attempt: 2,
    maxAttempts: 3,
    ...extra,
  };
}

const retrying = () =>
  new Retrying("Retrying Task (after attempt 2 of 3)", { startTime: new Date(AT.getTime() + 30_000), runCount: 2, result: new Error("HTTP 503 from api.partner.example") });

describe("one publish, a body per protocol", () => {
  it("the default body is the alert as JSON, exactly what programs parsed before", () => {
    const alert = taskAlert(new Failed("load broke", { result: new Error("disk full") }));
    const { message, messageStructure } = formatSnsMessage(alert);
    expect(messageStructure).toBe("json");
    const bodies = JSON.parse(message);
    expect(Object.keys(bodies).sort()).toEqual(["default", "email", "sms"]);
    expect(JSON.parse(bodies.default)).toEqual(alertToJSON(alert));
  });

  it("the e-mail says flow, task, states, error, attempt and next attempt, the console link and how to silence it", () => {
    const text = formatEmailText(taskAlert(retrying()));
    expect(text.split("\n")[0]).toBe("Task load is retrying (attempt 2 of 3) at 2026-03-01T12:00:30.000Z in flow orders");
    for (const line of [
      "Flow:         orders",
      "Task:         load",
      "State:        Retrying (was Running)",
      "Attempt:      2 of 3",
      "Next attempt: 2026-03-01T12:00:30.000Z",
      `Execution:    ${EXECUTION}`,
      "    HTTP 503 from api.partner.example",
      executionConsoleUrl(EXECUTION)!,
      SILENCE_HINT,
    ]) {
      expect(text.split("\n")).toContain(line);
    }
    expect(text).not.toMatch(/[{}"]/);
  });

  it("the SMS is the title and the error as ASCII within 140 characters: one SMS, never a 70-character UCS-2 one", () => {
    expect(formatSmsText(taskAlert(new Failed("x", { result: Object.assign(new Error("connect ETIMEDOUT"), { name: "ConnectionError" }) })))).toBe(
      "Task load failed in flow orders. ConnectionError: connect ETIMEDOUT",
    );
    const long = formatSmsText(taskAlert(retrying(), { task: "load-the-very-long-named-table-of-customer-orders" }));
    expect(long.length).toBe(140);
    expect(long.endsWith("...")).toBe(true);
    expect(formatSmsText(taskAlert(new Failed("x", { result: new Error("Zeitüberschreitung → DB 🙁") })))).toBe("Task load failed in flow orders. Error: Zeituberschreitung ? DB ?");
  });

  it("snsChannel publishes the three bodies with MessageStructure json, each masked on its own", async () => {
    const secret = 'pa"ss\\word-9f3b';
    registerSecretValue(secret);
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    await snsChannel({ topicArn: TOPIC, client: new SNSClient({ region: "eu-west-1" }) }).send(
      taskAlert(new Failed(`login with ${secret} refused`, { result: new Error(`bad password ${secret}`) })),
    );
    const [call] = sns.commandCalls(PublishCommand);
    const input = call!.args[0].input;
    expect(input.MessageStructure).toBe("json");
    const bodies = JSON.parse(input.Message!) as Record<string, string>;
    for (const body of Object.values(bodies)) {
      expect(body).not.toContain("pa\"ss");
      expect(body).not.toContain("word-9f3b");
    }
    expect(bodies.email).toContain("[redacted]");
    expect(JSON.parse(bodies.default!).error.cause).toBe("bad password [redacted]");
  });

  it("publish masks a secret inside the default body, where the envelope escapes it twice", async () => {
    const secret = 'pa"ss\\word-9f3b';
    registerSecretValue(secret);
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const message = JSON.stringify({ default: JSON.stringify({ cause: `bad ${secret}` }), email: `bad ${secret}`, sms: `bad ${secret}` });
    await publish({ topicArn: TOPIC, subject: "s", message, messageStructure: "json", attributes: {} }, new SNSClient({ region: "eu-west-1" }));
    const bodies = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as Record<string, string>;
    expect(JSON.parse(bodies.default!)).toEqual({ cause: "bad [redacted]" });
    expect(bodies.email).toBe("bad [redacted]");
    expect(bodies.sms).toBe("bad [redacted]");
  });

  it("a FIFO topic groups by the execution read from the default body", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const fifo = "arn:aws:sns:eu-west-1:123456789012:flow-alerts.fifo";
    expect(isFifoTopic(fifo)).toBe(true);
    const { subject, message, messageStructure, attributes } = formatSnsMessage(taskAlert(new Success()));
    await publish({ topicArn: fifo, subject, message, messageStructure, attributes }, new SNSClient({ region: "eu-west-1" }));
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.MessageGroupId).toBe(EXECUTION);
  });

  it("a json message without a default body is refused before SNS is called", async () => {
    await expect(
      publish({ topicArn: TOPIC, subject: "s", message: JSON.stringify({ email: "hi" }), messageStructure: "json", attributes: {} }, new SNSClient({ region: "eu-west-1" })),
    ).rejects.toThrow(/string `default` body/);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe("limits hold for any alert (property)", () => {
  const text = fc.string({ unit: "binary", maxLength: 400 });
  it("subject ≤ 99 ASCII characters on one line, SMS ≤ 140 characters, all bodies ≤ 256 KiB with the attributes, default parses", () => {
    fc.assert(
      fc.property(text, text, text, fc.integer({ min: 0, max: 300_000 }), (task, flow, cause, pad) => {
        const alert = taskAlert(new Failed(cause, { result: new Error(cause + "é\u0001".repeat(pad)) }), { task, flow: flow || "f" });
        const { subject, message, attributes } = formatSnsMessage(alert);
        expect(subject.length).toBeLessThanOrEqual(99);
        expect(subject).toMatch(/^[\x20-\x7e]*$/);
        const attributeBytes = Object.entries(attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 6, 0);
        expect(Buffer.byteLength(message) + attributeBytes).toBeLessThanOrEqual(256 * 1024);
        const bodies = JSON.parse(message);
        expect(bodies.sms.length).toBeLessThanOrEqual(140);
        expect(bodies.sms).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(bodies.default)).toMatchObject({ flow: alert.flow, state: "Failed" });
      }),
      { numRuns: 60 },
    );
  });
});
