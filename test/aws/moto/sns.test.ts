/**
 * SNS alerts (lib/aws/sns.ts through lib/notify/sns.ts's channel) against moto's SNS, read back
 * from SQS subscriptions: the subject, the JSON body and the `flow`/`task`/`state` attributes that
 * subscription filter policies select on, a body shrunk under SNS's 256 KiB, and a missing topic.
 */
import { expect, it } from "vitest";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { NotificationError } from "../../../lib/core/errors";
import { Failed, Retrying, Running, type State } from "../../../lib/core/states";
import type { Alert } from "../../../lib/notify/alert";
// From the package, as users import it: loading it gives the channel its SNS adapter (lib/aws/index.ts).
import { snsChannel } from "../../../lib/index";
import { alertToJSON, formatSnsMessage } from "../../../lib/notify/format";
import { describeMoto, motoClientConfig, useMoto, restoreAwsEnvAfterEach } from "../../helpers/moto";

const AT = new Date("2026-03-01T12:00:00.000Z");
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders-flow:e1";
restoreAwsEnvAfterEach();

function taskAlert(newState: State): Alert {
  return { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState, at: AT, executionId: EXECUTION, attempt: 1 };
}

/** SNS's envelope of a message delivered to an SQS subscription (raw delivery off). */
interface Envelope {
  Subject: string;
  Message: string;
  MessageAttributes: Record<string, { Type: string; Value: string }>;
}

describeMoto("SNS alerts against moto's SNS", () => {
  const moto = useMoto({ executeStateMachines: false });
  const sns = () => new SNSClient(motoClientConfig(moto.current));
  const sqs = () => new SQSClient(motoClientConfig(moto.current));

  /** A topic with an SQS subscription per filter policy (undefined: every message). */
  async function topicWithQueues(name: string, policies: (Record<string, string[]> | undefined)[]) {
    const topicArn = (await sns().send(new CreateTopicCommand({ Name: name }))).TopicArn!;
    const queueUrls: string[] = [];
    for (const [i, policy] of policies.entries()) {
      const url = (await sqs().send(new CreateQueueCommand({ QueueName: `${name}-${i}` }))).QueueUrl!;
      const arn = (await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
      await sns().send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: "sqs", Endpoint: arn, Attributes: policy ? { FilterPolicy: JSON.stringify(policy) } : undefined }),
      );
      queueUrls.push(url);
    }
    return { topicArn, queueUrls };
  }

  async function delivered(queueUrl: string): Promise<Envelope[]> {
    const out = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    return (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as Envelope);
  }

  it("an alert arrives with its subject, its JSON body and the attributes filter policies select on", async () => {
    const { topicArn, queueUrls } = await topicWithQueues("alerts-shape", [undefined]);
    await snsChannel({ topicArn, client: sns() }).send(taskAlert(new Failed("load broke", { result: new Error("connection refused") })));
    const [envelope, ...more] = await delivered(queueUrls[0]!);
    expect(more).toEqual([]);
    expect(envelope!.Subject).toMatch(/^Task load .* in flow orders$/);
    expect(JSON.parse(envelope!.Message)).toMatchObject({ flow: "orders", task: "load" });
    expect(envelope!.Message).toContain("connection refused");
    expect(envelope!.MessageAttributes).toEqual({
      flow: { Type: "String", Value: "orders" },
      task: { Type: "String", Value: "load" },
      state: { Type: "String", Value: "Failed" },
    });
  });

  it("the body per protocol (MessageStructure json) is accepted, and an SQS subscriber receives the default body: the alert as JSON", async () => {
    const { topicArn, queueUrls } = await topicWithQueues("alerts-structured", [undefined]);
    const alert = taskAlert(new Failed("load broke", { result: new Error("connection refused") }));
    const formatted = formatSnsMessage(alert);
    expect(formatted.messageStructure).toBe("json");
    await snsChannel({ topicArn, client: sns() }).send(alert);
    const [envelope] = await delivered(queueUrls[0]!);
    expect(envelope!.Message).toBe(JSON.parse(formatted.message).default);
    expect(JSON.parse(envelope!.Message)).toEqual(alertToJSON(alert));
  });

  it("a subscription filtering on state receives the failures and not the retries", async () => {
    const { topicArn, queueUrls } = await topicWithQueues("alerts-filtered", [{ state: ["Failed"] }, undefined]);
    const channel = snsChannel({ topicArn, client: sns() });
    await channel.send(taskAlert(new Retrying("again", { startTime: new Date(AT.getTime() + 60_000), runCount: 1 })));
    await channel.send(taskAlert(new Failed("load broke")));
    expect((await delivered(queueUrls[0]!)).map((e) => e.MessageAttributes.state?.Value)).toEqual(["Failed"]);
    expect((await delivered(queueUrls[1]!)).map((e) => e.MessageAttributes.state?.Value).sort()).toEqual(["Failed", "Retrying"]);
  });

  it("an alert carrying a megabyte of error text is shrunk under SNS's 256 KiB and accepted", async () => {
    const { topicArn, queueUrls } = await topicWithQueues("alerts-large", [undefined]);
    const huge = new Error(`ünïcode ${"x".repeat(1024 * 1024)}`);
    await snsChannel({ topicArn, client: sns() }).send(taskAlert(new Failed("load broke", { result: huge })));
    const [envelope] = await delivered(queueUrls[0]!);
    expect(Buffer.byteLength(envelope!.Message)).toBeLessThanOrEqual(256 * 1024);
    expect(JSON.parse(envelope!.Message)).toMatchObject({ flow: "orders", task: "load" });
  });

  it("a task with a 300-character non-ASCII name gets a subject SNS accepts: printable ASCII, under 100 characters", async () => {
    const { topicArn, queueUrls } = await topicWithQueues("alerts-subject", [undefined]);
    const name = `Größe_prüfen_${"ü".repeat(300)}`;
    await snsChannel({ topicArn, client: sns() }).send({ ...taskAlert(new Failed("too big")), task: name });
    const [envelope] = await delivered(queueUrls[0]!);
    expect(envelope!.Subject.length).toBeLessThan(100);
    expect(envelope!.Subject).toMatch(/^Task Gro.e_prufen_u+\.\.\.$/);
    expect(envelope!.Subject).toMatch(/^[\x20-\x7e]+$/);
    expect(envelope!.MessageAttributes.task?.Value).toBe(name);
  });

  it("without a client, the channel reaches the endpoint AWS_ENDPOINT_URL_SNS names, in the topic's region", async () => {
    const { topicArn, queueUrls } = await topicWithQueues("alerts-env", [undefined]);
    Object.assign(process.env, { AWS_ENDPOINT_URL_SNS: moto.current.endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
    for (const k of ["AWS_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete process.env[k];
    await snsChannel({ topicArn }).send(taskAlert(new Failed("load broke")));
    expect(await delivered(queueUrls[0]!)).toHaveLength(1);
  });

  it("a topic that does not exist is a NotificationError that says so", async () => {
    const missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    const sending = snsChannel({ topicArn: missing, client: sns() }).send(taskAlert(new Failed("load broke")));
    await expect(sending).rejects.toThrow(NotificationError);
    await expect(sending).rejects.toThrow(/does not exist; check the ARN/);
  });
});
