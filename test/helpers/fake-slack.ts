/**
 * A real HTTP server on 127.0.0.1 standing in for a Slack Incoming Webhook, optionally enforcing
 * Slack's pace (`perSecond`: beyond it, 429 with Retry-After) on an injected clock.
 */
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

export interface FakeSlackOptions {
  /** Accept at most this many posts per second (time from `now`); others get 429 with Retry-After. @default - no limit */
  perSecond?: number;
  /** The clock the rate limit reads (a test's virtual clock). @default () => new Date() */
  now?: () => Date;
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const now = options.now ?? (() => new Date());
  const intervalMs = options.perSecond ? 1000 / options.perSecond : 0;
  let nextFreeAt = Number.NEGATIVE_INFINITY;
  /** Slack's pace: one accepted post per interval; the rest are told how long to wait. */
  const limited = (): Reply | undefined => {
    if (!intervalMs) return undefined;
    const t = now().getTime();
    if (t < nextFreeAt) return { status: 429, body: "rate_limited", headers: { "retry-after": String(Math.ceil((nextFreeAt - t) / 1000)) } };
    nextFreeAt = t + intervalMs;
    return undefined;
  };
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
      const reply = limited() ?? replies.shift() ?? { status: 200, body: "ok" };
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

/** A message the fake Web API holds: as posted, and as last updated. */
export interface FakeApiMessage {
  ts: string;
  channel: string;
  threadTs?: string;
  /** The body of chat.postMessage. */
  posted: any;
  /** The bodies of every chat.update, in order. */
  updates: any[];
  /** What the channel shows now. */
  current: any;
}

export interface FakeSlackApi {
  /** The Web API base URL (`…/api`). */
  url: string;
  token: string;
  /** Every call: method, status answered, body, and when (on the injected clock). */
  calls: { method: string; status: number; body: any; at: Date }[];
  messages: FakeApiMessage[];
  /** Top-level messages (one per execution, if all is well). */
  parents(): FakeApiMessage[];
  /** The replies in a parent's thread. */
  replies(ts: string): FakeApiMessage[];
  close(): Promise<void>;
}

/**
 * A fake Slack Web API on 127.0.0.1: chat.postMessage (with thread_ts) and chat.update, bearer
 * token checked, messages kept as the channel would show them; `perSecond` paces chat.postMessage
 * as Slack does per channel (429 with Retry-After beyond it), on an injected clock.
 */
export async function startFakeSlackApi(options: FakeSlackOptions & { token?: string } = {}): Promise<FakeSlackApi> {
  const token = options.token ?? "xoxb-0000-FAKE-secret-token";
  const now = options.now ?? (() => new Date());
  const intervalMs = options.perSecond ? 1000 / options.perSecond : 0;
  let nextFreeAt = Number.NEGATIVE_INFINITY;
  let seq = 0;
  const calls: FakeSlackApi["calls"] = [];
  const messages: FakeApiMessage[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = (req.url ?? "").replace(/^\/api\//, "");
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      const answer = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        calls.push({ method, status, body, at: now() });
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(json));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return answer(200, { ok: false, error: "invalid_auth" });
      if (method === "chat.postMessage") {
        const t = now().getTime();
        if (intervalMs && t < nextFreeAt) return answer(429, { ok: false, error: "ratelimited" }, { "retry-after": String(Math.ceil((nextFreeAt - t) / 1000)) });
        if (intervalMs) nextFreeAt = t + intervalMs;
        // A reply to a parent that was deleted (Slack: thread_not_found, slackapi/bolt-js#2307).
        if (body?.thread_ts && !messages.some((m) => m.ts === body.thread_ts && m.channel === body.channel)) return answer(200, { ok: false, error: "thread_not_found" });
        const ts = `1767225600.${String(++seq).padStart(6, "0")}`;
        messages.push({ ts, channel: body.channel, threadTs: body.thread_ts, posted: body, updates: [], current: body });
        return answer(200, { ok: true, channel: body.channel, ts });
      }
      if (method === "chat.update") {
        const message = messages.find((m) => m.ts === body?.ts && m.channel === body?.channel);
        if (!message) return answer(200, { ok: false, error: "message_not_found" });
        message.updates.push(body);
        message.current = body;
        return answer(200, { ok: true, channel: body.channel, ts: body.ts });
      }
      return answer(404, { ok: false, error: "unknown_method" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    token,
    calls,
    messages,
    parents: () => messages.filter((m) => !m.threadTs),
    replies: (ts) => messages.filter((m) => m.threadTs === ts),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
