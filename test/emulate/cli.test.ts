import { describe, expect, it } from "vitest";
import { startFakeSlackApi } from "../helpers/fake-slack";
import { runCli } from "../cli/run-cli";
import { assemblyOf, fixtureTarget } from "./helpers";

describe("flowhooks emulate", () => {
  it("prints the timeline and the shortened retry waits, and exits 1 when the flow failed", async () => {
    // The subprocess reads the assembly the other emulator tests share instead of synthesizing it again.
    process.env.FLOWHOOKS_EMULATE_ASSEMBLY = assemblyOf(await fixtureTarget("retries-exhausted"));
    try {
      const { code, stdout } = await runCli(["emulate", "test/emulate/fixtures/retries-exhausted.ts", "--fast-retries"]);
      expect(stdout).toContain("synthesized assembly");
      expect(stdout).toContain("task broken");
      expect(stdout).toMatch(/#3 Running → Failed\("Error during execution of task: Error: the database is down"\)/);
      expect(stdout).toContain("retry waits shortened: 3.00 s → 0 s");
      expect(stdout).toContain("Execution FAILED: flowhooks.FlowFailed");
      expect(code).toBe(1);
    } finally {
      delete process.env.FLOWHOOKS_EMULATE_ASSEMBLY;
    }
  });

  it("--slack-channel with --slack-api-url posts as a Slack app (a fake Web API on 127.0.0.1): one thread, its parent updated", async () => {
    const api = await startFakeSlackApi({ perSecond: 1 });
    process.env.FLOWHOOKS_EMULATE_ASSEMBLY = assemblyOf(await fixtureTarget("retries-exhausted"));
    process.env.FLOWHOOKS_SECRET_SLACK_BOT_TOKEN = api.token;
    try {
      const { code } = await runCli(["emulate", "test/emulate/fixtures/retries-exhausted.ts", "--fast-retries", "--slack-channel", "C0ALERTS01", "--slack-api-url", api.url]);
      expect(code).toBe(1);
      const [parent, ...others] = api.parents();
      expect(others).toEqual([]);
      expect(api.replies(parent!.ts)).toHaveLength(1);
      expect(JSON.stringify(parent!.current)).toContain("Flow retries-exhausted failed: broken");
    } finally {
      delete process.env.FLOWHOOKS_EMULATE_ASSEMBLY;
      delete process.env.FLOWHOOKS_SECRET_SLACK_BOT_TOKEN;
      await api.close();
    }
  });

  it("names a mapped task's children t[i] in its progress lines and in --json transitions (mapIndex)", async () => {
    process.env.FLOWHOOKS_EMULATE_ASSEMBLY = assemblyOf(await fixtureTarget("mapped"));
    try {
      const { code, stdout } = await runCli(["emulate", "test/emulate/fixtures/mapped.ts", "--fast-retries"]);
      expect(code).toBe(0);
      expect(stdout).toContain('task square[2] #1: Running → Failed("Error during execution of task: Error: item 2 is busy")');
      expect(stdout).toContain('task square[2] #2: Running → Success("Task run succeeded.")');
      expect(stdout).toContain('task square #1: Pending → Mapped("Mapped 4 children.")');
      const json = await runCli(["emulate", "test/emulate/fixtures/mapped.ts", "--fast-retries", "--json"]);
      const transitions = JSON.parse(json.stdout).transitions as { name: string; mapIndex?: number }[];
      expect(transitions.filter((t) => t.name === "square" && t.mapIndex !== undefined).map((t) => t.mapIndex).sort()).toEqual([0, 0, 1, 1, 2, 2, 2, 2, 2, 3, 3]);
    } finally {
      delete process.env.FLOWHOOKS_EMULATE_ASSEMBLY;
    }
  });

  it("--slack-channel without the bot token in the environment is a usage error naming the variable", async () => {
    const { code, stderr } = await runCli(["emulate", "test/emulate/fixtures/retries-exhausted.ts", "--slack-channel", "C0ALERTS01"]);
    expect(code).toBe(2);
    expect(stderr).toContain("export FLOWHOOKS_SECRET_SLACK_BOT_TOKEN=xoxb-");
  });
});
