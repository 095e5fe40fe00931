/** SNS through the real SDK client, pointed at an HTTP endpoint on 127.0.0.1 by AWS_ENDPOINT_URL_SNS. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Failed, Flow, snsNotifier, task } from "../../lib/index";

let server: Server;
const received: URLSearchParams[] = [];
let previousEndpoint: string | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(new URLSearchParams(body));
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId>' +
          "</PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>",
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  previousEndpoint = process.env.AWS_ENDPOINT_URL_SNS;
  process.env.AWS_ENDPOINT_URL_SNS = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_SNS;
  else process.env.AWS_ENDPOINT_URL_SNS = previousEndpoint;
  await new Promise((resolve) => server.close(resolve));
});

describe("SNS over HTTP", () => {
  it("the SDK client follows AWS_ENDPOINT_URL_SNS and sends subject, JSON body and attributes", async () => {
    const client = new SNSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const notifier = snsNotifier({ topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts", onlyStates: [Failed], client });
    const load = task({ name: "load", stateHandlers: [notifier] }, () => {
      throw new Error("no rows");
    });
    await new Flow({ name: "orders" }, () => void load()).run();

    expect(received).toHaveLength(1);
    const form = received[0]!;
    expect(form.get("Action")).toBe("Publish");
    expect(form.get("TopicArn")).toBe("arn:aws:sns:eu-west-1:123456789012:alerts");
    expect(form.get("Subject")).toBe("Task load failed in flow orders");
    expect(form.get("MessageStructure")).toBe("json");
    expect(JSON.parse(JSON.parse(form.get("Message")!).default)).toMatchObject({ flow: "orders", task: "load", state: "Failed", error: { cause: "no rows" } });
    const attributes = new Map<string, string>();
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
      expect(form.get(`MessageAttributes.entry.${i}.Value.DataType`)).toBe("String");
      attributes.set(form.get(`MessageAttributes.entry.${i}.Name`)!, form.get(`MessageAttributes.entry.${i}.Value.StringValue`)!);
    }
    expect(Object.fromEntries(attributes)).toEqual({ flow: "orders", task: "load", state: "Failed" });
  });
});
