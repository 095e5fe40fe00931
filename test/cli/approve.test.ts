/** `flowhooks run --approve all|none`: the real bin in a subprocess (stdin is not a terminal). */
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli";

const FIXTURE = "test/cli/fixtures/approval.ts";

describe.concurrent("flowhooks run --approve", () => {
  it("--approve all resumes the paused task and the flow succeeds", async () => {
    const { code, stdout } = await runCli(["run", FIXTURE, "--approve", "all"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ task deploy Pending → Paused\("Waiting for approval\."\)$/m);
    expect(stdout).toMatch(/ task deploy Paused → Resume\("Approval given to resume\."\)$/m);
    expect(stdout).toMatch(/ task deploy Running → Success\("Task run succeeded\."\)$/m);
  });

  it("--approve none rejects the task: Cancelled, and the body never runs", async () => {
    const { stdout } = await runCli(["run", FIXTURE, "--approve", "none"]);
    expect(stdout).toMatch(/ task deploy Paused → Cancelled\("Rejected: --approve none"\)$/m);
    expect(stdout).not.toMatch(/ task deploy \w+ → Running/);
  });

  it("without --approve and no terminal to ask on, the run stops with an error naming the option", async () => {
    const { code, stderr } = await runCli(["run", FIXTURE]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/waits for approval .*--approve all\|none/);
  });

  it("--approve with another word is a usage error", async () => {
    const { code, stderr } = await runCli(["run", FIXTURE, "--approve", "yes"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--approve takes all or none, got "yes"/);
  });
});
