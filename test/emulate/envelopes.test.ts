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

  it("is a plain record whose md5OfBody is an own field in SQS's place, in its JSON, settable, and its own to each record", () => {
    const a = sqsRecord("The quick brown fox jumps over the lazy dog", QUEUE);
    const b = sqsRecord("{}", QUEUE);
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(Object.keys(a)).toEqual(["messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"]);
    expect(JSON.parse(JSON.stringify(a))).toMatchObject({ md5OfBody: "9e107d9d372bb6826bd81d3542a419d6", awsRegion: "us-east-1" });
    expect({ ...b }.md5OfBody).toBe("99914b932bd37a50b983c5e7c90ae93b");
    a.md5OfBody = "set";
    expect(a.md5OfBody).toBe("set");
    expect(b.md5OfBody).toBe("99914b932bd37a50b983c5e7c90ae93b");
  });
});
