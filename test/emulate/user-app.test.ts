import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretNotFoundError } from "../../lib/core/errors";
import { UsageError } from "../../lib/cli/errors";
import { emulate, findFlowStateMachines, prepareAppEmulation, prepareEmulation, selectConstruct, synthesizeApp } from "../../lib/emulate/index";
import { runCli } from "../cli/run-cli";
import { startFakeSlack, startFakeSlackApi, type FakeSlack } from "../helpers/fake-slack";
import { errorOf } from "../notify/reject";

const appDir = join(import.meta.dirname, "..", "fixtures", "cdk-app");

/** The fixture app's cloud assembly, synthesized once by running its cdk.json `app` command (tsx), as `cdk synth` does. */
let assembly: string;
let slack: FakeSlack;

beforeAll(async () => {
  assembly = await synthesizeApp({ cwd: appDir });
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack?.close();
});

describe("flowhooks emulate in the user's CDK app", () => {
  it("finds every FlowStateMachine of the app by its assembly metadata", () => {
    const found = findFlowStateMachines(assembly);
    expect(found.map((f) => [f.path, f.metadata.flow, f.stackName])).toEqual([
      ["FixtureStack/Orders", "fixture-orders", "FixtureStack"],
      ["OtherStack/Other", "fixture-other", "OtherStack"],
    ]);
    expect(found[0]!.metadata).toMatchObject({ entry: join(appDir, "flows", "orders.ts"), secrets: ["SLACK_WEBHOOK_URL"], alerts: { topic: true, slackWebhookSecret: false } });
  });

  it("asks for --construct when there are several, listing them", () => {
    const found = findFlowStateMachines(assembly);
    expect(() => selectConstruct(found)).toThrow(UsageError);
    expect(() => selectConstruct(found)).toThrow(/2 FlowStateMachines; choose one with --construct PATH:\s+FixtureStack\/Orders \(flow fixture-orders\)\s+OtherStack\/Other/);
    expect(selectConstruct(found, "Other").path).toBe("OtherStack/Other");
    expect(selectConstruct(found, "fixture-orders").path).toBe("FixtureStack/Orders");
    expect(() => selectConstruct(found, "Nope")).toThrow(/No FlowStateMachine matches --construct Nope; pass one of these paths/);
  });

  it("emulates the construct as synthesized, with its props: its secret reaches notifiers in every task function, and downstream tasks end TriggerFailed", async () => {
    const target = await prepareAppEmulation({ cwd: appDir, app: assembly, construct: "FixtureStack/Orders" });
    // Only this construct's functions, with the construct's taskDefaults.
    const tasks = [...target.synthesized.functions.values()].filter((f) => f.environment.FLOWHOOKS_TASK);
    expect(tasks.map((f) => [f.environment.FLOWHOOKS_TASK, f.memorySize, f.timeoutSeconds]).sort()).toEqual([
      ["load", 512, 20],
      ["save", 512, 20],
    ]);
    const result = await emulate({ target, fastRetries: true, slackWebhookUrl: slack.url });
    const last = (name: string) => result.transitions.filter((t) => t.kind === "task" && t.name === name).at(-1)!.newState;
    expect(last("load").toJSON()).toMatchObject({ type: "Failed" });
    expect(last("save").toJSON()).toMatchObject({ type: "TriggerFailed" });
    expect(result.flowState?.isFailed()).toBe(true);
    // The flow's slackNotifier posted from the task functions (load's Failed, save's TriggerFailed) and the handler Lambda (the flow's Failed).
    const titles = slack.accepted().map((body) => JSON.stringify(body));
    expect(titles.some((t) => t.includes("save") && t.includes("TriggerFailed"))).toBe(true);
    expect(titles.some((t) => t.includes("load") && t.includes("the warehouse is closed"))).toBe(true);
  });

  it("a Slack app given to the emulator (--slack-channel and a bot token) posts nothing for a stack without alerts.slack", async () => {
    const target = await prepareAppEmulation({ cwd: appDir, app: assembly, construct: "FixtureStack/Orders" });
    const api = await startFakeSlackApi();
    try {
      const result = await emulate({ target, fastRetries: true, slackWebhookUrl: slack.url, slackApp: { botToken: api.token, channel: "C0ALERTS01", apiBaseUrl: api.url }, write: () => undefined });
      expect(result.flowState?.isFailed()).toBe(true);
      // The stack alerts by SNS only: no thread, and no alert reported as sent to a Slack app.
      expect(api.calls).toEqual([]);
      expect(result.alerts.filter((a) => a.channel.startsWith("slack"))).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it("refuses, before anything runs, a construct secret with no local value, naming the variable", async () => {
    const target = await prepareAppEmulation({ cwd: appDir, app: assembly, construct: "FixtureStack/Orders" });
    const error = await errorOf(emulate({ target }));
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error.message).toContain("export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…   (FlowStateMachine secrets.SLACK_WEBHOOK_URL");
    expect(error.message).toContain("--slack-webhook-url");
  });

  it("emulate FILE gives its own stack's functions the secrets the flow's notifiers read, served from the local value", async () => {
    const target = await prepareEmulation({ entry: join(appDir, "flows", "orders.ts") });
    await expect(emulate({ target })).rejects.toThrow(/export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…/);
    const result = await emulate({ target, fastRetries: true, slackWebhookUrl: slack.url });
    const save = result.transitions.filter((t) => t.kind === "task" && t.name === "save").at(-1)!.newState;
    expect(save.toJSON()).toMatchObject({ type: "TriggerFailed" });
  });

  it("the CLI without FILE emulates the construct --construct names, from --app, with the construct's secret served to its functions", async () => {
    const { code, stdout, stderr } = await runCli(["emulate", "--app", assembly, "--construct", "FixtureStack/Orders", "--fast-retries", "--slack-webhook-url", slack.url, "--json"]);
    expect(stderr).toBe("");
    const summary = JSON.parse(stdout) as { transitions: { kind: string; name: string; newState: { type: string; message?: string } }[] };
    const last = (name: string) => summary.transitions.filter((t) => t.kind === "task" && t.name === name).at(-1)!.newState;
    expect(last("load").type).toBe("Failed");
    expect(last("save")).toMatchObject({ type: "TriggerFailed" });
    expect(code).toBe(1);
  });

  it("the CLI without FILE, in the app's folder (an empty stack beside the flow's): the flow's slackNotifier posts to the Slack stand-in with the secret the stack gives; the function sees the stack's environment and nothing of the host's", async () => {
    const own = await startFakeSlack();
    try {
      const { code, stdout, stderr } = await runCli(["emulate", "--construct", "FixtureStack/Orders", "--fast-retries", "--slack-webhook-url", own.url, "--json"], {
        cwd: appDir,
        env: { FLOWHOOKS_FIXTURE_HOST_ONLY: "set on the host only" },
      });
      expect(stderr).toBe("");
      expect(code).toBe(1);
      const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as { alerts: { channel: string }[] };
      const posts = own.accepted().map((body) => JSON.stringify(body));
      // Each failed attempt of load and save's TriggerFailed from the task functions, the flow's Failed from the handler Lambda:
      // the flow's notifier only, no built-in digest (the stack configures no alerts.slackWebhookSecret).
      expect(own.accepted().map((body) => body.blocks[0].text.text)).toEqual([
        "Task load failed in flow fixture-orders",
        "Task load failed in flow fixture-orders",
        "Task save did not run: its trigger failed in flow fixture-orders",
        "Flow fixture-orders failed",
      ]);
      const load = posts.find((p) => p.includes("the warehouse is closed"));
      expect(load).toContain("table fixture-orders-table");
      expect(load).toContain("host-only variable invisible");
      expect(summary.alerts.every((a) => a.channel !== "slack")).toBe(true);
    } finally {
      await own.close();
    }
  });

  it("the CLI without FILE and without --construct lists the app's FlowStateMachines and exits 2", async () => {
    const { code, stderr } = await runCli(["emulate", "--app", assembly]);
    expect(stderr).toContain("choose one with --construct PATH: FixtureStack/Orders (flow fixture-orders) OtherStack/Other (flow fixture-other)");
    expect(code).toBe(2);
  });
});
