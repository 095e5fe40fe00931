/**
 * lib/notify imports nothing from lib/aws (test/core/imports.test.ts); its AWS calls come through
 * ports.ts, provided by lib/aws/index.ts when `flowhooks` loads. This file starts without lib/aws
 * loaded (vitest gives each file its own modules) and loads the package in the middle.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Running } from "../../lib/core/states";
import type { Alert } from "../../lib/notify/alert";
import { snsChannel } from "../../lib/notify/sns";
import { awsAdapters } from "../../lib/notify/ports";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts";
const alert: Alert = { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState: new Failed("no rows"), at: new Date("2026-03-01T12:00:00Z") };
const previous = process.env.FLOWHOOKS_SECRET_PORTS_TOPIC;
afterEach(() => {
  if (previous === undefined) delete process.env.FLOWHOOKS_SECRET_PORTS_TOPIC;
  else process.env.FLOWHOOKS_SECRET_PORTS_TOPIC = previous;
});

describe("the AWS adapters the notifiers use", () => {
  it("a notifier loaded without flowhooks says to import flowhooks instead of failing obscurely", async () => {
    const sent: unknown[] = [];
    const channel = snsChannel({ topicArn: TOPIC, client: { send: async (command: unknown) => (sent.push(command), {}) } as never });
    await expect(channel.send(alert)).rejects.toThrow(/AWS adapters are not loaded.*import from "flowhooks"/);
    expect(sent).toEqual([]);
  });

  it("importing flowhooks provides them: the default secrets reader is the package's `secrets`, and SNS publishes with no other code", async () => {
    const pkg = await import("../../lib/index");
    expect(awsAdapters().secrets).toBe(pkg.secrets);
    process.env.FLOWHOOKS_SECRET_PORTS_TOPIC = TOPIC;
    const sent: { input: { TopicArn?: string } }[] = [];
    const client = { send: async (command: { input: { TopicArn?: string } }) => (sent.push(command), { MessageId: "m-1" }) };
    // The topic from the default secrets reader (the environment, locally), the Publish command from lib/aws.
    await snsChannel({ topicArnSecret: "PORTS_TOPIC", client: client as never }).send(alert);
    expect(sent.map((c) => c.input.TopicArn)).toEqual([TOPIC]);
  });
});
