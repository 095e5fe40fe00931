/** `flowhooks run --approve all|none`: the real bin in a subprocess (stdin is not a terminal). */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { approver } from "../../lib/cli/run";
import { task } from "../../lib/index";
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

describe("asking on a terminal", () => {
  const deploy = task(function deploy() {});
  const terminal = (typed: string) => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = new PassThrough();
    let shown = "";
    out.on("data", (c: Buffer) => (shown += c.toString()));
    setImmediate(() => input.write(typed));
    return { input, out, shown: () => shown };
  };

  it("asks about the task by name; y approves, any other answer is the reason to reject", async () => {
    const yes = terminal("y\n");
    expect(await approver(undefined, yes.input, yes.out)!(deploy, undefined)).toBe(true);
    expect(yes.shown()).toContain("deploy is waiting for approval");
    const no = terminal("the change window is closed\n");
    expect(await approver(undefined, no.input, no.out)!(deploy, undefined)).toBe("the change window is closed");
  });

  it("asks nothing when stdin is not a terminal (the run then names --approve)", () => {
    expect(approver(undefined, new PassThrough(), new PassThrough())).toBeUndefined();
  });
});
