/**
 * "Slack when configured, else the console": `whenMissing` takes an alert only where the secret is
 * not configured at all, decided at each alert where `secrets.get` reads it, locally and in Lambda.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createSecrets } from "../../lib/aws/secrets";
import { virtualClock } from "../../lib/core/clock";
import { NotificationError, SecretNotConfiguredError, SecretNotFoundError } from "../../lib/core/errors";
import { Failed, Flow, Retrying, Running, Success, consoleNotifier, slackNotifier, snsNotifier, task, type State } from "../../lib/index";
import { localSecretsManager, serveStackSecrets } from "../../lib/emulate/secrets-manager";
import type { SynthesizedFunction } from "../../lib/emulate/synth";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";
import { errorOf } from "./reject";

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/slack-webhook-AbCdEf";
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: "orders-fetch" };

/** Where the flow runs, and what it has of the secret. */
const SITUATIONS = {
  "local, set": { env: () => ({ FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: slack.url }), outcome: "slack" },
  "local, not set": { env: () => ({}), outcome: "fallback" },
  "local, not Slack's": { env: () => ({ FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "https://example.com/services/x" }), outcome: "fails" },
  "Lambda, given by the stack": { env: () => ({ ...LAMBDA, FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL: ARN }), outcome: "slack" },
  "Lambda, not given": { env: () => ({ ...LAMBDA }), outcome: "fallback" },
  "Lambda, given but unreadable": { env: () => ({ ...LAMBDA, FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL: `${ARN}-denied` }), outcome: "fails" },
} as const;
type Situation = keyof typeof SITUATIONS;

const STATES: Record<string, () => State> = {
  Failed: () => new Failed("boom"),
  Retrying: () => new Retrying("again", { startTime: new Date(), runCount: 1 }),
  Success: () => new Success("done"),
  Running: () => new Running("Starting task run."),
};

/** A Secrets Manager client that serves ARN and denies everything else (as a role without the permission). */
const secretsManager = {
  send: async (command: { input: { SecretId?: string } }) => {
    if (command.input.SecretId === ARN) return { SecretString: slack.url };
    throw Object.assign(new Error("not authorized"), { name: "AccessDeniedException" });
  },
};

describe("slackNotifier({ whenMissing })", () => {
  it("property: each selected alert goes to Slack where the secret is configured, to whenMissing where it is not, and fails where it is configured but unusable", async () => {
    const fetchTask = task({ name: "fetch" }, () => 1);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...(Object.keys(SITUATIONS) as Situation[])), fc.constantFrom(...Object.keys(STATES))), { minLength: 1, maxLength: 8 }),
        async (steps) => {
          const before = slack.accepted().length;
          let env: Record<string, string> = {};
          const printed: string[] = [];
          const notify = slackNotifier({
            onlyStates: [Failed, Retrying],
            whenMissing: consoleNotifier({ write: (text) => printed.push(text) }),
            secrets: createSecrets({ env: new Proxy({}, { get: (_t, k) => env[k as string] }), ttlMs: 0, secretsManager: secretsManager as never }),
            sleep: async () => undefined,
          });
          let toSlack = 0;
          let toFallback = 0;
          for (const [situation, stateName] of steps) {
            env = SITUATIONS[situation].env();
            const selected = stateName === "Failed" || stateName === "Retrying";
            const outcome = notify(fetchTask, new Running(), STATES[stateName]!());
            if (!selected) {
              await outcome;
              continue;
            }
            if (SITUATIONS[situation].outcome === "fails") {
              const error = await errorOf(Promise.resolve(outcome));
              expect(error instanceof NotificationError || error instanceof SecretNotFoundError).toBe(true);
              expect(error).not.toBeInstanceOf(SecretNotConfiguredError);
              continue;
            }
            await outcome;
            if (SITUATIONS[situation].outcome === "slack") toSlack++;
            else toFallback++;
          }
          expect(slack.accepted().length - before).toBe(toSlack);
          expect(printed).toHaveLength(toFallback);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("flow.run() starts without the secret (the check passes to whenMissing) and still refuses one that is set and not Slack's", async () => {
    const printed: string[] = [];
    let env: Record<string, string> = {};
    const secrets = createSecrets({ env: new Proxy({}, { get: (_t, k) => env[k as string] }) });
    const flaky = task({ name: "flaky", maxRetries: 1, retryDelaySeconds: 5 }, () => {
      throw new Error("the orders API timed out");
    });
    const flow = new Flow({ name: "orders", alerts: [slackNotifier({ onlyStates: [Failed], secrets, whenMissing: consoleNotifier({ write: (t) => printed.push(t) }) })] }, () => {
      flaky();
    });
    const state = await flow.run({ clock: virtualClock() });
    expect(state.isFailed()).toBe(true);
    // The task's two failed attempts and the flow's failure, printed.
    expect(printed.map((line) => line.split("\n")[0])).toEqual([
      expect.stringContaining("flaky"),
      expect.stringContaining("flaky"),
      expect.stringContaining("Flow orders failed"),
    ]);
    env = { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "https://example.com/services/x" };
    await expect(flow.run({ clock: virtualClock() })).rejects.toThrow(/The secret "SLACK_WEBHOOK_URL" points at example\.com/);
  });

  it("refuses, when created, a whenMissing that is no state handler, or one with a webhookUrl that is never missing", () => {
    expect(() => slackNotifier({ whenMissing: "console" as never })).toThrow(/`whenMissing` must be a state handler such as consoleNotifier\(\)/);
    expect(() => slackNotifier({ webhookUrl: slack.url, whenMissing: consoleNotifier() })).toThrow(/`whenMissing` applies when the destination is read from a secret/);
  });
});

describe("the scaffold's flow (templates/init/flows/orders.ts) evaluated as in Lambda", () => {
  it("with only FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL set, posts its retry alert to Slack", async () => {
    // The emulator's Secrets Manager stand-in on 127.0.0.1 serves the ARN through the real SDK client.
    const fn = { environment: { FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL: ARN } } as unknown as SynthesizedFunction;
    const stopServing = serveStackSecrets([fn], { env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: slack.url } });
    const lambdaEnv: Record<string, string> = {
      ...LAMBDA,
      FLOWHOOKS_SECRET_ARN_SLACK_WEBHOOK_URL: ARN,
      // The emulator's marker: a loopback Slack stand-in is allowed.
      FLOWHOOKS_EMULATOR: "1",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: await localSecretsManager(),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    };
    const saved = Object.fromEntries(Object.keys(lambdaEnv).map((k) => [k, process.env[k]]));
    delete process.env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL;
    Object.assign(process.env, lambdaEnv);
    try {
      const { ordersFlow } = await import("../../templates/init/flows/orders");
      const before = slack.accepted().length;
      const state = await ordersFlow.run({ clock: virtualClock(), parameters: { flakyAttempts: 1 } });
      expect(state.isSuccessful()).toBe(true);
      const posted = slack.accepted().slice(before).map((body) => body.blocks[0].text.text as string);
      expect(posted).toEqual(["Task fetchOrders failed in flow orders", expect.stringMatching(/^Task fetchOrders is retrying \(attempt 1 of 3\)/)]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      stopServing();
    }
  });
});

describe("snsNotifier({ topicArnSecret })", () => {
  it("is checked before the flow starts: a missing or malformed topic ARN stops flow.run() with one error naming the variable", async () => {
    let env: Record<string, string> = {};
    const secrets = createSecrets({ env: new Proxy({}, { get: (_t, k) => env[k as string] }) });
    const published: unknown[] = [];
    const client = {
      send: async (command: unknown) => {
        published.push(command);
        return { MessageId: `m-${published.length}` };
      },
    };
    const ran: string[] = [];
    const flow = new Flow({ name: "sns-orders", alerts: [snsNotifier({ topicArnSecret: "ALERT_TOPIC_ARN", secrets, client })] }, () => {
      task({ name: "work" }, () => void ran.push("work"))();
    });
    const missing = await errorOf(flow.run());
    expect(missing).toBeInstanceOf(SecretNotFoundError);
    expect(missing.message).toContain("export FLOWHOOKS_SECRET_ALERT_TOPIC_ARN=");
    env = { FLOWHOOKS_SECRET_ALERT_TOPIC_ARN: "not-an-arn" };
    await expect(flow.run()).rejects.toThrow(/The secret "ALERT_TOPIC_ARN" does not hold an SNS topic ARN/);
    expect(ran).toEqual([]);
    env = { FLOWHOOKS_SECRET_ALERT_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:alerts" };
    const ok = await flow.run();
    expect(ok.isSuccessful()).toBe(true);
    expect(ran).toEqual(["work"]);
    expect(published.length).toBeGreaterThan(0);
  });
});
