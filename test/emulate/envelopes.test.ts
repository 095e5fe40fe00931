/** The SQS records the emulator hands the handler Lambda carry what SQS would put in them. */
import { describe, expect, it } from "vitest";
import { sqsRecord } from "../../lib/emulate/envelopes";

const QUEUE = "arn:aws:sqs:us-east-1:123456789012:flowhooks-events";

describe("an emulated SQS record", () => {
  it("carries the MD5 of its body's UTF-8 bytes as md5OfBody, as SQS computes it", () => {
    expect(sqsRecord("The quick brown fox jumps over the lazy dog", QUEUE).md5OfBody).toBe("9e107d9d372bb6826bd81d3542a419d6");
    expect(sqsRecord('{"detail":"café ☕"}', QUEUE).md5OfBody).toBe("b7d49af8f0afba8e9652a751c072b5d2");
  });

  it("names its queue, its receive count and a fresh message id and receipt handle each time", () => {
    const a = sqsRecord("{}", QUEUE, 2);
    const b = sqsRecord("{}", QUEUE, 2);
    expect(a).toMatchObject({ body: "{}", eventSource: "aws:sqs", eventSourceARN: QUEUE, attributes: { ApproximateReceiveCount: "2" } });
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.receiptHandle).not.toBe(b.receiptHandle);
  });
});
