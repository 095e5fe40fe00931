import { afterEach, describe, expect, it, vi } from "vitest";
import { virtualClock } from "../../lib/index";
import { startFakeSlack } from "../helpers/fake-slack";

async function outputOf(file: string): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
  try {
    const mod = (await import(`../../examples/${file}`)) as { main: (o?: object) => Promise<void> };
    await mod.main({ clock: virtualClock(new Date("2026-01-01T00:00:00Z")) });
  } finally {
    spy.mockRestore();
  }
  return lines.join("\n");
}

describe("the seed guide's samples print what the guide says", () => {
  afterEach(() => {
    delete process.env.SLACK_WEBHOOK_URL;
  });

  it("a flow state handler prints the two flow transitions exactly", async () => {
    expect(await outputOf("01-flow-state-handler.ts")).toBe(
      [
        "Calling my custom state handler on <Flow: name=state-handler-demo>:",
        'Scheduled() to Running("Running flow.")',
        "",
        "Calling my custom state handler on <Flow: name=state-handler-demo>:",
        'Running("Running flow.") to Success("All reference tasks succeeded.")',
        "",
      ].join("\n"),
    );
  });

  it("a task state handler prints the two task transitions exactly", async () => {
    expect(await outputOf("02-task-state-handler.ts")).toBe(
      [
        "Calling my custom state handler on <Task: Task>:",
        'Pending() to Running("Starting task run.")',
        "",
        "Calling my custom state handler on <Task: Task>:",
        'Running("Starting task run.") to Success("Task run succeeded.")',
        "",
      ].join("\n"),
    );
  });

  it("the Slack sample says so and prints when no webhook is set", async () => {
    const out = await outputOf("03-post-to-slack.ts");
    expect(out).toContain("SLACK_WEBHOOK_URL is not set");
    expect(out).toContain('[slack] Task <Task: Task> finished in state Success("Task run succeeded.")');
  });

  it("the retry notifier never posts for a task that never retries", async () => {
    expect(await outputOf("04-retry-alert.ts")).not.toContain("[slack]");
  });

  it("the special failure mode reads the FAIL signal's data", async () => {
    expect(await outputOf("05-special-failure.ts")).toBe("Special failure mode!  Send all the alerts!\na == b == 1");
  });

  it("multiple handlers run in order and the retry succeeds", async () => {
    const out = await outputOf("06-multiple-handlers.ts");
    expect(out.split("\n")).toEqual([
      '1. failure handler: <Task: flaky> is Failed("Error during execution of task: Error: first attempt fails")',
      "2. retry handler: <Task: flaky> will retry",
      'flow ended Success("All reference tasks succeeded.")',
    ]);
  });

  it("callbackFactory posts the retry time", async () => {
    expect(await outputOf("07-callback-factory.ts")).toContain(
      "[slack] Task <Task: flaky> failed and is retrying at 2026-01-01T00:00:01.000Z",
    );
  });

  it("the Slack sample posts to a real webhook on 127.0.0.1 when SLACK_WEBHOOK_URL is set", async () => {
    const slack = await startFakeSlack();
    process.env.SLACK_WEBHOOK_URL = slack.url;
    try {
      const mod = await import("../../examples/03-post-to-slack");
      await mod.main();
    } finally {
      await slack.close();
    }
    expect(slack.accepted()).toEqual([
      { text: 'Task <Task: Task> finished in state Success("Task run succeeded.")' },
    ]);
  });

  it("onFailure reports the task and the flow failure", async () => {
    expect((await outputOf("08-on-failure.ts")).split("\n")).toEqual([
      '<Task: divide> failed: Failed("Error during execution of task: RangeError: division by zero")',
      '<Flow: name=on-failure-demo> failed: Failed("Some reference tasks failed.")',
    ]);
  });
});
