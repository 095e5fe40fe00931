/**
 * `flowhooks run --report` and `--json` list the alerts a local run's notifiers delivered
 * (`flow.run({ onAlert })`), and only those: a post Slack refused is not listed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelNotifier, Failed, Flow, flowRun, NotificationError, Success, task, type Alert, type AlertEvent } from "../../lib/index";
import { runCommand } from "../../lib/cli/run";
import { virtualClock } from "../../lib/core/clock";
import { startFakeSlack, type FakeSlack } from "../helpers/fake-slack";

const fixture = join(import.meta.dirname, "fixtures/alerts.ts");
let slack: FakeSlack;
let dir: string;

beforeAll(async () => {
  slack = await startFakeSlack();
  process.env.FLOWHOOKS_TEST_SLACK_URL = slack.url;
  dir = mkdtempSync(join(tmpdir(), "run-alerts-"));
});
afterAll(async () => {
  delete process.env.FLOWHOOKS_TEST_SLACK_URL;
  await slack.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `flowhooks run fixtures/alerts.ts --json --report …`: its exit code, summary line and page. */
async function runWithReport(name: string) {
  let stdout = "";
  const path = join(dir, `${name}.html`);
  const code = await runCommand({ file: fixture, json: true, report: path, clock: virtualClock(), out: { write: (t: string) => ((stdout += t), true) } });
  const lines = stdout.trim().split("\n");
  return { code, summary: JSON.parse(lines[lines.length - 1]!), html: readFileSync(path, "utf8") };
}

describe("flowhooks run lists the alerts its notifiers sent", () => {
  it("a console alert and a Slack post that succeeded are both in --json's summary and in the report", async () => {
    const posted = slack.requests.length;
    const { code, summary, html } = await runWithReport("sent");
    expect(code).toBe(0);
    expect(slack.requests.length - posted).toBe(1);
    expect(summary.alerts).toEqual([
      { channel: "console", subject: "task load", state: expect.objectContaining({ type: "Success" }), at: expect.any(String) },
      { channel: "slack", subject: "task load", state: expect.objectContaining({ type: "Success" }), at: expect.any(String) },
    ]);
    expect(html.match(/<tr class="alert">/g)).toHaveLength(2);
    expect(html).toMatch(/<tr class="alert">.*?<td>console<\/td><td>task load<\/td>/);
    expect(html).toMatch(/<tr class="alert">.*?<td>slack<\/td><td>task load<\/td>/);
    expect(html).not.toContain("does not record the alerts");
    // The webhook's secret path never reaches the page.
    expect(html).not.toContain(slack.token);
  });

  it("a Slack post that was refused is not listed; the console alert sent before it is", async () => {
    slack.replies.push({ status: 404, body: "no_service" });
    const { code, summary, html } = await runWithReport("refused");
    expect(code).toBe(1);
    expect(summary.alerts.map((a: AlertEvent) => a.channel)).toEqual(["console"]);
    expect(html.match(/<tr class="alert">/g)).toHaveLength(1);
    expect(html).not.toMatch(/<td>slack<\/td>/);
  });
});

describe("flow.run({ onAlert })", () => {
  /** A channel whose nth send fails when `fails[n]` is true (an injected fault). */
  function faultyChannel(fails: readonly boolean[]) {
    let n = 0;
    const delivered: string[] = [];
    const channel = {
      name: "faulty",
      async send(alert: Alert) {
        if (fails[n++]) throw new NotificationError("injected: the channel refused the alert");
        delivered.push(alert.kind === "flow" ? `flow ${alert.flow}` : `task ${alert.task}`);
      },
    };
    return { channel, delivered };
  }

  it("hears exactly the alerts the channel accepted, whichever sends fail (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), async (fails, width) => {
        const { channel, delivered } = faultyChannel(fails);
        // One channel for every task and the flow: a refused send fails that task (and so the flow).
        const notify = () => channelNotifier(channel, { onlyStates: [Success, Failed] });
        const tasks = Array.from({ length: width }, (_, i) => task({ name: `t${i}`, stateHandlers: [notify()] }, () => i));
        const flow = new Flow({ name: "prop", stateHandlers: [notify()] }, () => {
          for (const t of tasks) t();
        });
        const heard: AlertEvent[] = [];
        await flow.run({ onAlert: (a) => heard.push(a), clock: virtualClock(), maxConcurrency: 1 }).catch(() => undefined);
        expect(heard.map((a) => a.subject)).toEqual(delivered);
        expect(heard.every((a) => a.channel === "faulty" && a.at instanceof Date)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("is told of alerts sent inside a sub-flow run by flowRun", async () => {
    const { channel } = faultyChannel([]);
    const inner = new Flow({ name: "inner", stateHandlers: [channelNotifier(channel, { onlyStates: [Success] })] }, () => {
      task(() => 1)();
    });
    const outer = new Flow({ name: "outer" }, () => {
      flowRun(inner)();
    });
    const heard: AlertEvent[] = [];
    await outer.run({ onAlert: (a) => heard.push(a), clock: virtualClock() });
    expect(heard.map((a) => `${a.channel} ${a.subject} ${a.state.name}`)).toEqual(["faulty flow inner Success"]);
  });

  it("a run without a listener sends its alerts as before", async () => {
    const { channel, delivered } = faultyChannel([]);
    const flow = new Flow({ name: "quiet", stateHandlers: [channelNotifier(channel, { onlyStates: [Success] })] }, () => {
      task(() => 1)();
    });
    expect((await flow.run({ clock: virtualClock() })).isSuccessful()).toBe(true);
    expect(delivered).toEqual(["flow quiet"]);
  });
});
