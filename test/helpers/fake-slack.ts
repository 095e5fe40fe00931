/** A real HTTP server on 127.0.0.1 standing in for a Slack Incoming Webhook. */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  /** The status answered (0 while hanging). */
  status: number;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (to exercise timeouts). */
  hang?: boolean;
  /** Read the request, then reset the connection without answering (the post may have been processed). */
  reset?: boolean;
}

export interface FakeSlack {
  /** The webhook URL, with a secret-looking path as Slack's have. */
  url: string;
  /** The path token that must never leak. */
  token: string;
  requests: ReceivedRequest[];
  /** Replies used in order; when empty, 200 "ok". */
  replies: Reply[];
  /** The JSON bodies of the posts answered with a 2xx: the alerts Slack accepted. */
  accepted(): any[];
  close(): Promise<void>;
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const token = "T0SECRET/B0SECRET/xoxSECRETtoken1234567890";
  const requests: ReceivedRequest[] = [];
  const replies: Reply[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const reply = replies.shift() ?? { status: 200, body: "ok" };
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json, status: reply.hang || reply.reset ? 0 : reply.status });
      if (reply.reset) return void req.socket.resetAndDestroy();
      if (reply.hang) return;
      res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
      res.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/${token}`,
    token,
    requests,
    replies,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.json),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
