/**
 * SMS and e-mail subject limits as SNS receives them (issue 26 leftovers, item 4), for any alert:
 * multi-byte text, GSM-7 extension characters, backticks, and secrets that grow when masked.
 *
 * "140 characters" per the SNS developer guide ("Publishing SMS messages to a mobile phone"): one SMS
 * holds 140 bytes, i.e. 160 GSM-7 characters, 140 ASCII ones or 70 UCS-2 ones. So the SMS body is
 * checked to be GSM-7 (printable ASCII without the backtick) and at most 160 septets, extension
 * characters `[]{}\^~|` counting two, besides at most 140 characters; the subject is at most 99
 * printable ASCII characters on one line that begins with a non-space (SNS Publish `Subject`).
 */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Retrying, Running } from "../../lib/core/states";
import { forgetSecretValues, registerSecretValue } from "../../lib/core/mask";
import type { Alert } from "../../lib/notify/alert";
import { gsm7Septets } from "../../lib/notify/format";
// From the package, as users import it: loading it gives the channel its SNS adapter.
import { snsChannel } from "../../lib/index";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:flow-alerts";
const AT = new Date("2026-03-01T12:00:00.000Z");
const sns = mockClient(SNSClient);
afterEach(() => {
  sns.reset();
  forgetSecretValues();
});

/** Text mixing ASCII, GSM-7 extension characters, backticks, accents, CJK and emoji. */
const mixed = (maxLength: number) =>
  fc.array(fc.oneof(fc.string({ unit: "grapheme", maxLength: 8 }), fc.constantFrom("[", "]", "{", "}", "\\", "^", "~", "|", "`", "é", "日本", "🙁", "\n", "€")), { maxLength }).map((parts) => parts.join(""));
const secretText = fc.string({ minLength: 4, maxLength: 8, unit: fc.constantFrom(..."QXZJKW") });

describe("SNS subject and SMS limits hold for any alert (property)", () => {
  it("the published subject is ≤ 99 printable ASCII on one line and the SMS one GSM-7 segment of ≤ 140 characters, with no secret", async () => {
    await fc.assert(
      fc.asyncProperty(mixed(60), mixed(60), mixed(300), fc.array(secretText, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 30 }), fc.boolean(), async (task, flow, cause, secrets, repeat, retrying) => {
        sns.reset();
        sns.on(PublishCommand).resolves({ MessageId: "m" });
        forgetSecretValues();
        for (const secret of secrets) registerSecretValue(secret);
        // Short secrets grow when masked ("[redacted]"): cut before masking, a subject or SMS would overflow.
        const hidden = secrets.join("").repeat(repeat);
        const error = new Error(`${cause}${hidden}`);
        const newState = retrying ? new Retrying("again", { startTime: AT, runCount: 1, result: error }) : new Failed("broke", { result: error });
        const alert: Alert = { kind: "task", flow: `${flow}${hidden}` || "f", task: `${task}${hidden}`, oldState: new Running(), newState, at: AT, executionId: "local-1" };
        await snsChannel({ topicArn: TOPIC, client: sns as never }).send(alert);
        const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
        const subject = input.Subject!;
        expect(subject.length).toBeLessThanOrEqual(99);
        expect(subject).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
        const sms: string = JSON.parse(input.Message!).sms;
        expect(sms.length).toBeLessThanOrEqual(140);
        expect(sms).toMatch(/^[\x20-\x5f\x61-\x7e]*$/); // printable ASCII without the backtick: GSM-7 only
        expect(gsm7Septets(sms)).toBeLessThanOrEqual(160);
        for (const secret of secrets) {
          expect(subject).not.toContain(secret);
          expect(sms).not.toContain(secret);
        }
      }),
      { numRuns: 80 },
    );
  });

  it("extension characters count two septets: 140 of them are cut to one segment", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    const alert: Alert = { kind: "task", flow: "orders", task: "load", oldState: new Running(), newState: new Failed("x", { result: new Error("{}".repeat(100)) }), at: AT };
    await snsChannel({ topicArn: TOPIC, client: sns as never }).send(alert);
    const sms: string = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!).sms;
    expect(gsm7Septets(sms)).toBeLessThanOrEqual(160);
    expect(sms).toMatch(/^Task load failed in flow orders\. Error: (\{\})+\{?\.\.\.$/);
  });
});
