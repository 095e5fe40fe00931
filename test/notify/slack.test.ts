import { errorOf } from "./reject";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  Failed,
  Flow,
  NotificationError,
  Retrying,
  SecretNotFoundError,
  Success,
  createSecrets,
  slackChannel,
  slackNotifier,
  task,
  type Clock,
  type State,
  type StateHandler,
} from "../../lib/index";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { AmbiguousDeliveryError } from "../../lib/core/errors";

const T0 = new Date("2026-03-01T12:00:00.000Z");
const fixedClock: Clock = { now: () => new Date(T0), sleep: async () => {} };

function taskState(final: { result: Map<{ name: string }, State> }, name: string): State {
  const entry = [...final.result].find(([t]) => t.name === name);
  if (!entry) throw new Error(`no task ${name}`);
  return entry[1];
}

function sectionTexts(payload: any): string[] {
  return payload.attachments[0].blocks.filter((b: any) => b.type === "section" && b.text).map((b: any) => b.text.text);
}

function fieldTexts(payload: any): string[] {
  return payload.attachments[0].blocks.flatMap((b: any) => (b.fields ?? []).map((f: any) => f.text));
}

let slack: FakeSlack;
const sleeps: number[] = [];
const sleep = async (ms: number) => void sleeps.push(ms);

beforeEach(async () => {
  slack = await startFakeSlack();
  sleeps.length = 0;
});
afterEach(async () => {
  await slack.close();
});

describe("what is posted to Slack", () => {
  it("a failed task posts a red Block Kit alert with the error, the flow, the task and a plain-text fallback", async () => {
    const load = task(
      { name: "load", stateHandlers: [slackNotifier({ webhookUrl: slack.url, onlyStates: [Failed], sleep })] },
      async () => {
        throw new Error("disk full");
      },
    );
    const flow = new Flow({ name: "orders" }, () => void load());
    const final = await flow.run({ clock: fixedClock });

    expect(final.isFailed()).toBe(true);
    expect(slack.requests).toHaveLength(1);
    const req = slack.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toBe("application/json");
    const payload = req.json;
    expect(payload.text).toBe(
      "Task load failed in flow orders\nError during execution of task: Error: disk full\nError: disk full",
    );
    expect(payload.blocks).toEqual([{ type: "header", text: { type: "plain_text", text: "Task load failed in flow orders" } }]);
    expect(payload.attachments[0].color).toBe("#eb0000");
    expect(sectionTexts(payload)).toEqual(["Error during execution of task: Error: disk full", "*Error*\n```disk full```"]);
    expect(fieldTexts(payload)).toEqual(["*Flow*\norders", "*Task*\nload", "*State*\nFailed (was Running)"]);
    const context = payload.attachments[0].blocks.at(-1);
    expect(context.type).toBe("context");
    expect(context.elements[0].text).toMatch(/^Execution `local:orders:/);
  });

  it("a retrying task posts an orange alert with the attempt and the next attempt's start time", async () => {
    const load = task(
      {
        name: "load",
        maxRetries: 2,
        retryDelaySeconds: 60,
        stateHandlers: [slackNotifier({ webhookUrl: slack.url, onlyStates: [Retrying], sleep })],
      },
      async () => {
        throw new Error("flaky");
      },
    );
    await new Flow({ name: "orders" }, () => void load()).run({ clock: fixedClock });

    expect(slack.requests).toHaveLength(2);
    const first = slack.requests[0]!.json;
    const next = new Date(T0.getTime() + 60_000).toISOString();
    expect(first.blocks[0].text.text).toBe(`Task load is retrying (attempt 1 of 3) at ${next} in flow orders`);
    expect(first.attachments[0].color).toBe("#f66a0a");
    expect(sectionTexts(first)[0]).toBe("Retrying Task (after attempt 1 of 3)");
    expect(fieldTexts(first)).toEqual([
      "*Flow*\norders",
      "*Task*\nload",
      "*State*\nRetrying (was Failed)",
      "*Attempt*\n1 of 3",
      `*Next attempt*\n${next}`,
    ]);
    const second = slack.requests[1]!.json;
    expect(second.blocks[0].text.text).toBe(
      `Task load is retrying (attempt 2 of 3) at ${new Date(T0.getTime() + 120_000).toISOString()} in flow orders`,
    );
  });

  it("a successful flow and task post green alerts; Pending and Running are not reported by default", async () => {
    const notifier = slackNotifier({ webhookUrl: slack.url, sleep });
    const load = task({ name: "load" }, async () => 42);
    const final = await new Flow({ name: "orders", alerts: [notifier] }, () => void load()).run({ clock: fixedClock });

    expect(final.isSuccessful()).toBe(true);
    const titles = slack.requests.map((r) => r.json.blocks[0].text.text);
    expect(titles).toEqual(["Task load succeeded in flow orders", "Flow orders succeeded"]);
    expect(slack.requests.map((r) => r.json.attachments[0].color)).toEqual(["#28a745", "#28a745"]);
    expect(sectionTexts(slack.requests[1]!.json)).toEqual(["All reference tasks succeeded."]);
    expect(fieldTexts(slack.requests[1]!.json)).toEqual(["*Flow*\norders", "*State*\nSuccess (was Running)"]);
  });

  it("text from the task is escaped for Slack's mrkdwn", async () => {
    const channel = slackChannel({ webhookUrl: slack.url, sleep });
    await channel.send({
      kind: "task",
      flow: "orders",
      task: "load",
      oldState: new Failed(),
      newState: new Failed("a < b && c > d"),
      at: T0,
    });
    expect(sectionTexts(slack.requests[0]!.json)[0]).toBe("a &lt; b &amp;&amp; c &gt; d");
  });
});

describe("Slack delivery", () => {
  const alert = {
    kind: "task" as const,
    flow: "orders",
    task: "load",
    oldState: new Failed("boom"),
    newState: new Failed("boom"),
    at: T0,
  };

  it("429 with Retry-After waits that long and delivers the alert exactly once", async () => {
    slack.replies.push({ status: 429, body: "rate_limited", headers: { "retry-after": "7" } }, { status: 200, body: "ok" });
    await slackChannel({ webhookUrl: slack.url, sleep }).send(alert);

    expect(slack.requests).toHaveLength(2);
    expect(sleeps).toEqual([7000]);
    expect(slack.requests[1]!.body).toBe(slack.requests[0]!.body);
  });

  it("429 without Retry-After backs off like a 5xx", async () => {
    slack.replies.push({ status: 429, body: "rate_limited" }, { status: 429, body: "rate_limited" });
    await slackChannel({ webhookUrl: slack.url, sleep }).send(alert);
    expect(slack.requests).toHaveLength(3);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it("a Retry-After longer than maxRetryAfterSeconds is capped", async () => {
    slack.replies.push({ status: 429, headers: { "retry-after": "3600" } });
    await slackChannel({ webhookUrl: slack.url, sleep, maxRetryAfterSeconds: 5 }).send(alert);
    expect(sleeps).toEqual([5000]);
  });

  it("500 three times fails after bounded retries with exponential backoff, and the task ends Failed", async () => {
    slack.replies.push({ status: 500, body: "oops" }, { status: 500, body: "oops" }, { status: 500, body: "oops" });
    const logged: string[] = [];
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation((c: any) => (logged.push(String(c)), true)),
      vi.spyOn(process.stderr, "write").mockImplementation((c: any) => (logged.push(String(c)), true)),
      ...(["log", "info", "warn", "error", "debug"] as const).map((m) =>
        vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(" "))),
      ),
    ];
    try {
      const load = task({ name: "load", stateHandlers: [slackNotifier({ webhookUrl: slack.url, sleep })] }, async () => 1);
      const final = await new Flow({ name: "orders" }, () => void load()).run({ clock: fixedClock });

      expect(slack.requests).toHaveLength(3);
      expect(sleeps).toEqual([1000, 2000]);
      const state = taskState(final, "load");
      expect(state).toBeInstanceOf(Failed);
      expect(state.message).toBe(
        "Unexpected error while calling state handlers: NotificationError: Slack did not accept the alert " +
          '"Task load succeeded in flow orders" after 3 attempts (last: HTTP 500 oops); Slack or the network may be down. ' +
          "The webhook is set in the `webhookUrl` option.",
      );
      expect(state.result).toBeInstanceOf(NotificationError);
      expect(final.isFailed()).toBe(true);
      for (const text of [state.message!, String(state.result), (state.result as Error).stack ?? "", ...logged]) {
        expect(text).not.toContain(slack.url);
        expect(text).not.toContain("SECRET");
      }
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
  });

  it("404 no_service fails at once with Slack's error text and what to do, without the URL", async () => {
    slack.replies.push({ status: 404, body: "no_service" });
    const error = await errorOf(slackChannel({ webhookUrl: slack.url, sleep }).send(alert));

    expect(slack.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(error).toBeInstanceOf(NotificationError);
    expect((error as Error).message).toBe(
      'Slack rejected the alert "Task load failed in flow orders" (HTTP 404 no_service): the webhook was disabled or ' +
        "removed; create a new Incoming Webhook and update the `webhookUrl` option.",
    );
    expect((error as Error).message).not.toContain(slack.token);
  });

  it("403 invalid_token names the secret to update", async () => {
    slack.replies.push({ status: 403, body: "invalid_token" });
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: slack.url } });
    const error = await errorOf(slackChannel({ secrets: store, sleep }).send(alert));
    expect(error.message).toContain('invalid_token): the webhook URL is wrong or was revoked');
    expect(error.message).toContain('the secret "SLACK_WEBHOOK_URL"');
    expect(error.message).not.toContain(slack.token);
  });

  it("a post that gets no answer is abandoned after timeoutSeconds and not posted again: it may have arrived", async () => {
    slack.replies.push({ status: 0, hang: true }, { status: 0, hang: true });
    const error = await errorOf(slackChannel({ webhookUrl: slack.url, sleep, timeoutSeconds: 0.05, maxAttempts: 3 }).send(alert));
    expect(slack.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(AmbiguousDeliveryError);
    expect(error.message).toContain("may or may not have received the alert");
    expect(error.message).toContain("(no answer within 0.05s)");
  });

  it("a connection reset after the post went out is not posted again either", async () => {
    slack.replies.push({ status: 0, reset: true });
    const error = await errorOf(slackChannel({ webhookUrl: slack.url, sleep }).send(alert));
    expect(slack.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(AmbiguousDeliveryError);
  });

  it("a refused connection is retried and reported without the URL", async () => {
    const url = slack.url;
    await slack.close();
    const error = await errorOf(slackChannel({ webhookUrl: url, sleep }).send(alert));
    expect(error.message).toContain("after 3 attempts (last: network error (ECONNREFUSED))");
    expect(error.message).not.toContain(url);
    slack = await startFakeSlack();
  });
});

describe("the webhook secret", () => {
  it("reads the webhook URL from FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL by default", async () => {
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: slack.url } });
    const notifier = slackNotifier({ secrets: store, sleep });
    const load = task({ name: "load", stateHandlers: [notifier] }, async () => 1);
    await new Flow({ name: "orders" }, () => void load()).run({ clock: fixedClock });
    expect(slack.requests.map((r) => r.path)).toEqual([`/services/${slack.token}`]);
  });

  it("a missing secret stops flow.run() before any task runs, with one error naming the variable to set", async () => {
    const store = createSecrets({ env: {} });
    let attempts = 0;
    const load = task({ name: "load", maxRetries: 2, retryDelaySeconds: 1 }, async () => {
      attempts++;
      throw new Error("flaky");
    });
    const notify = task({ name: "notify", stateHandlers: [slackNotifier({ secrets: store, onlyStates: [Failed] })] }, async () => 1);
    // Three notifiers read the one secret: the flow's alerts (on the flow and each task) and a task's own.
    const flow = new Flow({ name: "orders", alerts: [slackNotifier({ secrets: store })] }, () => {
      load();
      notify();
    });
    const error = await errorOf(flow.run({ clock: fixedClock }));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message.match(/export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…/g)).toHaveLength(1);
    expect(attempts).toBe(0);
  });

  it("with the secret set, the same flow retries and alerts each attempt", async () => {
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: slack.url } });
    let attempts = 0;
    const load = task({ name: "load", maxRetries: 2, retryDelaySeconds: 1 }, async () => {
      attempts++;
      throw new Error("flaky");
    });
    const flow = new Flow({ name: "orders", alerts: [slackNotifier({ secrets: store, onlyStates: [Failed, Retrying], sleep })] }, () => void load());
    const final = await flow.run({ clock: fixedClock });
    expect(final.isFailed()).toBe(true);
    expect(attempts).toBe(3);
    // Alerts for the retries and the final failure were delivered (the secret was read at each).
    expect(slack.accepted().length).toBeGreaterThanOrEqual(4);
  });

  it("two missing secrets are named in one error", async () => {
    const empty = createSecrets({ env: {} });
    const flow = new Flow(
      { name: "orders", alerts: [slackNotifier({ secrets: empty }), slackNotifier({ secrets: empty, webhookSecret: "OPS_WEBHOOK" })] },
      () => void task({ name: "load" }, async () => 1)(),
    );
    const error = await errorOf(flow.run({ clock: fixedClock }));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toContain("Flow `orders` cannot start");
    expect(error.message).toContain("export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…");
    expect(error.message).toContain("export FLOWHOOKS_SECRET_OPS_WEBHOOK=…");
  });

  it("a secret that is not a URL stops flow.run() up front too, without its value", async () => {
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "xoxb-not-a-url-secret" } });
    const flow = new Flow({ name: "orders", alerts: [slackNotifier({ secrets: store })] }, () => void task({ name: "load" }, async () => 1)());
    const error = await errorOf(flow.run({ clock: fixedClock }));
    expect(error).toBeInstanceOf(NotificationError);
    expect(error.message).not.toContain("xoxb");
  });

  it("a secret that is not a URL is reported without its value", async () => {
    const store = createSecrets({ env: { FLOWHOOKS_SECRET_HOOK: "xoxb-not-a-url-secret" } });
    const error = await errorOf(slackChannel({ webhookSecret: "HOOK", secrets: store }).send({ kind: "flow", flow: "orders", oldState: new Success(), newState: new Success(), at: T0 }));
    expect(error).toBeInstanceOf(NotificationError);
    expect(error.message).toContain('The secret "HOOK" does not hold a valid https URL');
    expect(error.message).not.toContain("xoxb");
  });

  it("a webhook URL inside a task's error text is redacted from the alert", async () => {
    const load = task({ name: "load", stateHandlers: [slackNotifier({ webhookUrl: slack.url, onlyStates: [Failed] })] }, async () => {
      throw new Error(`could not reach ${slack.url}`);
    });
    await new Flow({ name: "orders" }, () => void load()).run({ clock: fixedClock });
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]!.body).not.toContain(slack.token);
    expect(slack.requests[0]!.body).toContain("could not reach [redacted]");
  });

  it("the webhook's secret path alone inside a task's error text is redacted too", async () => {
    const channel = slackChannel({ webhookUrl: slack.url, sleep });
    await channel.send({
      kind: "flow",
      flow: "orders",
      oldState: new Failed(),
      newState: new Failed(`bad token in /services/${slack.token}`),
      at: T0,
    });
    expect(slack.requests[0]!.body).not.toContain(slack.token);
    expect(slack.requests[0]!.body).toContain("bad token in /[redacted]");
  });
});

describe("bad input is refused when the notifier is created", () => {
  it("an invalid webhook URL", () => {
    expect(() => slackNotifier({ webhookUrl: "hooks.slack.com/services/T0/B0/abcSECRET" })).toThrow(
      /`webhookUrl` is not a valid https URL; pass the Incoming Webhook URL Slack shows/,
    );
    const error = (() => {
      try {
        slackNotifier({ webhookUrl: "http://hooks.slack.com/services/T0/B0/abcSECRET" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(TypeError);
    expect(error!.message).not.toContain("abcSECRET");
  });

  it("a state name instead of a state class in onlyStates", () => {
    expect(() => slackNotifier({ webhookUrl: slack.url, onlyStates: ["Failed" as any] })).toThrow(
      'slackNotifier: onlyStates[0] is "Failed", not a state class; use classes imported from "flowhooks": State, Pending, Scheduled, Retrying, Paused, Resume, Running, Finished, Success, Skipped, Cached, Mapped, Failed, TriggerFailed, TimedOut, Cancelled, Looped.',
    );
  });

  it("a class that is not a state in ignoreStates", () => {
    expect(() => slackNotifier({ webhookUrl: slack.url, ignoreStates: [Error as any] })).toThrow(
      /ignoreStates\[0\] is the function Error, not a state class/,
    );
  });

  it("passing the notifier itself as a handler, Prefect-style, says to call it", () => {
    const load = task({ name: "load" }, () => 1);
    expect(() => slackNotifier(load as any)).toThrow(
      "slackNotifier is a factory, not a state handler: write stateHandlers: [slackNotifier()] or slackNotifier({ onlyStates: [Failed] }).",
    );
  });

  it("bad retry settings", () => {
    expect(() => slackChannel({ webhookUrl: slack.url, maxAttempts: 0 })).toThrow(/`maxAttempts` must be a whole number ≥ 1/);
  });

  it("the handler is named slackNotifier, so chain errors say which handler failed", () => {
    const handler: StateHandler = slackNotifier({ webhookUrl: slack.url });
    expect(handler.name).toBe("slackNotifier");
  });
});
