import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli";

/** Each case: one line on stderr naming the fix, nothing run, exit 2 (docs/cli.md). */
describe.concurrent("an invalid Slack webhook is bad input: one line, exit 2", () => {
  it("flowhooks run, with a webhook secret that is not Slack's", async () => {
    const { code, stdout, stderr } = await runCli(["run", "test/fixtures/cdk-app/flows/orders.ts"], {
      env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "https://example.com/services/T0/B0/x" },
    });
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^flowhooks: The secret "SLACK_WEBHOOK_URL" points at example\.com, which is not Slack's/)]);
    expect(code).toBe(2);
  });

  it("flowhooks emulate, with --slack-webhook-url that is no URL, before synthesizing anything", async () => {
    const { code, stdout, stderr } = await runCli(["emulate", "test/fixtures/cdk-app/flows/orders.ts", "--slack-webhook-url", "hooks.slack.com/services/x"]);
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^flowhooks: --slack-webhook-url is not a valid https URL; pass a Slack Incoming Webhook URL/)]);
    expect(code).toBe(2);
  });

  it("flowhooks emulate, with FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL on a host that is not Slack's", async () => {
    const { code, stderr } = await runCli(["emulate", "--app", "cdk.out-never-made"], { env: { FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL: "https://example.com/services/x" } });
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^flowhooks: FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL points at example\.com/)]);
    expect(stderr).not.toContain("/services/x");
    expect(code).toBe(2);
  });
});
