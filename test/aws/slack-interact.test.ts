/**
 * Slack's request signature (lib/aws/slack-interact.ts): Slack's own documented example, and a
 * fast-check property that any change to a signed request's body, timestamp or signature is
 * refused before anything is answered; a property that, whatever the clicks, replays and injected
 * faults (the store throwing before or after sending, response_url failing), a task is answered at
 * most once and only by an approver; and the acknowledgement stays within Slack's 3 s when
 * `response_url` hangs.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Approvals } from "../../lib/aws/approvals";
import { slackInteractionHandler, verifySlackSignature } from "../../lib/aws/slack-interact";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, approvalButtonValue, parseApprovalButtonValue } from "../../lib/notify/approval-buttons";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";

const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:run-7";
const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW_MS = 1_780_000_000_000;

describe("Slack's v0 request signature", () => {
  it("accepts Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack) at its own time", () => {
    const rawBody =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const request = { rawBody, timestamp: "1531420618", signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" };
    expect(verifySlackSignature(request, SECRET, 1531420618_000)).toEqual({ ok: true });
    expect(verifySlackSignature(request, SECRET, 1531420618_000 + 301_000)).toEqual({ ok: false, reason: "the timestamp is 301 s from now, outside the 300 s window" });
  });

  it("a button's value names the execution and the task and nothing else, and reads back", () => {
    const value = approvalButtonValue({ executionArn: EXECUTION, task: "approve[3]" });
    expect(JSON.parse(value)).toEqual({ e: EXECUTION, t: "approve[3]" });
    expect(parseApprovalButtonValue(value)).toEqual({ executionArn: EXECUTION, task: "approve[3]" });
    expect(parseApprovalButtonValue("approve")).toBeUndefined();
  });
});

type Request = { rawBody: string; headers: Record<string, string> };

function signed(task: string, timestampS: number): Request {
  const payload = {
    type: "block_actions",
    user: { id: "U0APPROVER", username: "alice" },
    response_url: "http://127.0.0.1:9/unused",
    actions: [{ action_id: APPROVE_ACTION_ID, block_id: "b", value: approvalButtonValue({ executionArn: EXECUTION, task }) }],
  };
  const rawBody = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(timestampS);
  const signature = `v0=${createHmac("sha256", SECRET).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`;
  return { rawBody, headers: { "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature } };
}

/** One change to a signed request: its body, its timestamp (re-sent within the window), its signature, or a header dropped. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("body-char" as const), at: fc.nat(), to: fc.integer({ min: 1, max: 0xffff }) }),
  fc.record({ kind: fc.constant("body-append" as const), extra: fc.string({ minLength: 1, maxLength: 20 }) }),
  fc.record({ kind: fc.constant("body-truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("timestamp" as const), delta: fc.integer({ min: -299, max: 299 }).filter((d) => d !== 0) }),
  fc.record({ kind: fc.constant("signature-char" as const), at: fc.nat(), to: fc.constantFrom(..."0123456789abcdefABCDEF=v ") }),
  fc.record({ kind: fc.constant("signature-version" as const), version: fc.constantFrom("v1", "V0", "v00", "") }),
  fc.record({ kind: fc.constant("drop-header" as const), header: fc.constantFrom("X-Slack-Request-Timestamp", "X-Slack-Signature") }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(request: Request, m: Mutation): Request {
  const headers = { ...request.headers };
  let rawBody = request.rawBody;
  const sig = headers["X-Slack-Signature"]!;
  switch (m.kind) {
    case "body-char": {
      const i = m.at % rawBody.length;
      const c = String.fromCharCode(m.to);
      rawBody = rawBody.slice(0, i) + (c === rawBody[i] ? String.fromCharCode(m.to ^ 1) : c) + rawBody.slice(i + 1);
      break;
    }
    case "body-append":
      rawBody += m.extra;
      break;
    case "body-truncate":
      rawBody = rawBody.slice(0, m.at % rawBody.length);
      break;
    case "timestamp":
      headers["X-Slack-Request-Timestamp"] = String(Number(headers["X-Slack-Request-Timestamp"]) + m.delta);
      break;
    case "signature-char": {
      const i = m.at % sig.length;
      const c = m.to === sig[i] ? (sig[i] === "0" ? "1" : "0") : m.to;
      headers["X-Slack-Signature"] = sig.slice(0, i) + c + sig.slice(i + 1);
      break;
    }
    case "signature-version":
      headers["X-Slack-Signature"] = sig.replace(/^v0/, m.version);
      break;
    case "drop-header":
      delete headers[m.header];
      break;
  }
  return { rawBody, headers };
}

describe("the endpoint refuses every altered request", () => {
  it("any one change to a signed request's body, timestamp or signature is refused with 401 and answers nothing (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: -290, max: 290 }), mutation, async (task, skewS, m) => {
        let calls = 0;
        const approvals: Approvals = { answer: async () => (calls++, "answered") };
        const handle = slackInteractionHandler({ signingSecret: async () => SECRET, approvers: ["U0APPROVER"], approvals: () => approvals, now: () => NOW_MS, fetch: async () => new Response("ok") });
        const original = signed(task, NOW_MS / 1000 + skewS);
        const altered = mutate(original, m);
        const response = await handle(altered);
        expect(response.statusCode).toBe(401);
        expect(calls).toBe(0);
        // The unaltered request is accepted by the same endpoint: the refusal is the mutation's doing.
        expect((await handle(original)).statusCode).toBe(200);
        expect(calls).toBe(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe("clicks under injected faults", () => {
  /** One click: who, which button, whether it is a replay of an earlier request, and the faults it meets. */
  const clickArb = fc.record({
    user: fc.constantFrom("U0APPROVER", "U0SECOND", "U0INTRUDER"),
    approve: fc.boolean(),
    replayOf: fc.option(fc.nat(), { nil: undefined }),
    storeFault: fc.constantFrom("none", "before-send", "after-send"),
    urlFault: fc.constantFrom("none", "throws", "http-500"),
  });

  it("whatever the clicks, replays and faults, the task is answered at most once, only by an approver, and every click is acknowledged (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(clickArb, { minLength: 1, maxLength: 12 }), async (clicks) => {
        let answered: { by?: string } | undefined;
        let sends = 0;
        let storeCalls = 0;
        let fault = "none";
        let urlFault = "none";
        const approvals: Approvals = {
          async answer(_arn, _task, decision) {
            storeCalls++;
            if (fault === "before-send") throw new Error("ThrottlingException: Rate exceeded");
            if (answered) return "already-answered";
            answered = decision;
            sends++;
            if (fault === "after-send") throw new Error("socket hang up");
            return "answered";
          },
        };
        let nowMs = NOW_MS;
        const handle = slackInteractionHandler({
          signingSecret: async () => SECRET,
          approvers: ["U0APPROVER", "U0SECOND"],
          approvals: () => approvals,
          now: () => nowMs,
          fetch: async () => {
            if (urlFault === "throws") throw Object.assign(new Error("aborted"), { name: "TimeoutError" });
            return new Response(urlFault === "http-500" ? "error" : "ok", { status: urlFault === "http-500" ? 500 : 200 });
          },
        });
        const sent: { request: Request; user: string }[] = [];
        let expectedStoreCalls = 0;
        for (const c of clicks) {
          nowMs += 1000;
          const earlier = c.replayOf !== undefined && sent.length > 0 ? sent[c.replayOf % sent.length]! : undefined;
          const request = earlier ? earlier.request : signedBy(c.user, c.approve, nowMs / 1000);
          if (!earlier) {
            sent.push({ request, user: c.user });
            if (c.user !== "U0INTRUDER") expectedStoreCalls++;
          }
          fault = c.storeFault;
          urlFault = c.urlFault;
          const response = await handle(request);
          expect(response.statusCode).toBe(200);
        }
        expect(sends).toBeLessThanOrEqual(1);
        expect(storeCalls).toBe(expectedStoreCalls);
        if (answered) expect(answered.by).toMatch(/^alice \(U0(APPROVER|SECOND)\) in Slack$/);
      }),
      { numRuns: 300 },
    );
  });
});

/** A signed click on the task's Approve or Reject by `user`. */
function signedBy(user: string, approve: boolean, timestampS: number): Request {
  const payload = {
    type: "block_actions",
    user: { id: user, username: "alice" },
    response_url: "http://127.0.0.1:9/unused",
    actions: [{ action_id: approve ? APPROVE_ACTION_ID : REJECT_ACTION_ID, block_id: "b", value: approvalButtonValue({ executionArn: EXECUTION, task: "approve" }) }],
  };
  const rawBody = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(timestampS);
  return { rawBody, headers: { "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": `v0=${createHmac("sha256", SECRET).update(`v0:${timestamp}:${rawBody}`).digest("hex")}` } };
}

describe("when the signing secret cannot be read", () => {
  it("a signed request gets 503 and the reason is logged, nothing is answered; unsigned junk is refused without reading the secret", async () => {
    let reads = 0;
    let calls = 0;
    const logged: string[] = [];
    const handle = slackInteractionHandler({
      signingSecret: async () => {
        reads++;
        throw new Error("AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue");
      },
      approvers: ["U0APPROVER"],
      approvals: () => ({ answer: async () => (calls++, "answered") }),
      now: () => NOW_MS,
      log: (_level, message) => logged.push(message),
    });
    expect(await handle({ rawBody: "payload=%7B%7D", headers: {} })).toMatchObject({ statusCode: 401 });
    expect(reads).toBe(0);
    expect(await handle(signed("approve", NOW_MS / 1000))).toMatchObject({ statusCode: 503, body: "The signing secret could not be read; the function's log says why." });
    expect(reads).toBe(1);
    expect(calls).toBe(0);
    expect(logged.at(-1)).toMatch(/^Could not read the Slack signing secret: AccessDeniedException/);
  });
});

describe("acknowledging within Slack's 3 seconds", () => {
  let slack: FakeSlack | undefined;
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  it("a response_url that never answers delays the acknowledgement by no more than the budget; the task is answered", async () => {
    slack = await startFakeSlack();
    slack.replies.push({ status: 200, hang: true });
    let calls = 0;
    const handle = slackInteractionHandler({
      signingSecret: async () => SECRET,
      approvers: ["U0APPROVER"],
      approvals: () => ({ answer: async () => (calls++, "answered") }),
      now: () => Date.now(),
      ackBudgetMs: 400,
    });
    const request = signed("approve", Math.floor(Date.now() / 1000));
    const payload = JSON.parse(new URLSearchParams(request.rawBody).get("payload")!);
    payload.response_url = slack.url;
    const rawBody = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const ts = request.headers["X-Slack-Request-Timestamp"]!;
    const headers = { ...request.headers, "X-Slack-Signature": `v0=${createHmac("sha256", SECRET).update(`v0:${ts}:${rawBody}`).digest("hex")}` };
    const started = Date.now();
    const response = await handle({ rawBody, headers });
    expect(response.statusCode).toBe(200);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
