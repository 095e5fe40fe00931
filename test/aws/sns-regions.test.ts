/**
 * Publishing where SNS accepts it: in the topic's own region (an imported topic of another region),
 * and to FIFO topics (message group and deduplication ids). Through the real SDK client, pointed at
 * an HTTP endpoint on 127.0.0.1 by AWS_ENDPOINT_URL_SNS; the region is read from the request's SigV4 scope.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { publish } from "../../lib/aws/sns";
import { Failed, Flow, snsNotifier, task } from "../../lib/index";

let server: Server;
const received: { form: URLSearchParams; authorization: string }[] = [];
const saved: Record<string, string | undefined> = {};
const ENV = { AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_ENDPOINT_URL_SNS: "" };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ form: new URLSearchParams(body), authorization: String(req.headers.authorization) });
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId>' +
          "</PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>",
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  for (const [key, value] of Object.entries({ ...ENV, AWS_ENDPOINT_URL_SNS: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => void (received.length = 0));

const scope = (authorization: string) => /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/sns\/aws4_request/.exec(authorization)?.[1];

describe("publishing to SNS", () => {
  it("publishes to a topic imported from another region in that region, whatever AWS_REGION says", async () => {
    await publish({ topicArn: "arn:aws:sns:ap-southeast-2:123456789012:alerts", subject: "s", message: "{}", attributes: {} });
    await publish({ topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts", subject: "s", message: "{}", attributes: {} });
    expect(received.map((r) => scope(r.authorization))).toEqual(["ap-southeast-2", "eu-west-1"]);
  });

  it("gives a FIFO topic the execution as message group and the alert as deduplication id: the same alert twice has the same id, another alert another", async () => {
    const topicArn = "arn:aws:sns:eu-west-1:123456789012:alerts.fifo";
    const execution = "arn:aws:states:eu-west-1:123456789012:execution:orders:run-1";
    const alert = (state: string) => ({ topicArn, subject: "s", message: JSON.stringify({ executionId: execution, state }), attributes: { flow: "orders" } });
    await publish(alert("Failed"));
    await publish(alert("Failed"));
    await publish(alert("Retrying"));
    const groups = received.map((r) => r.form.get("MessageGroupId"));
    const ids = received.map((r) => r.form.get("MessageDeduplicationId"));
    expect(groups).toEqual([execution, execution, execution]);
    expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
    // SNS takes ids of at most 128 characters: a longer execution ARN is hashed; a message without one groups by flow.
    const long = `arn:aws:states:eu-west-1:123456789012:execution:${"s".repeat(80)}:${"e".repeat(80)}`;
    await publish({ ...alert("Failed"), message: JSON.stringify({ executionId: long }) });
    await publish({ ...alert("Failed"), message: "{}" });
    expect(received.slice(3).map((r) => r.form.get("MessageGroupId"))).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), "orders"]);
    // A standard topic gets neither.
    await publish({ ...alert("Failed"), topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts" });
    expect(received.at(-1)!.form.has("MessageGroupId")).toBe(false);
  });

  it("delivers a flow's alert to a FIFO topic through snsNotifier", async () => {
    const notifier = snsNotifier({ topicArn: "arn:aws:sns:us-east-2:123456789012:alerts.fifo", onlyStates: [Failed] });
    const load = task({ name: "load", stateHandlers: [notifier] }, () => {
      throw new Error("no rows");
    });
    await new Flow({ name: "orders" }, () => void load()).run();
    expect(received).toHaveLength(1);
    const { form, authorization } = received[0]!;
    expect(scope(authorization)).toBe("us-east-2");
    expect(form.get("MessageGroupId")).toBeTruthy();
    expect(form.get("MessageDeduplicationId")).toMatch(/^[0-9a-f]{64}$/);
  });
});
