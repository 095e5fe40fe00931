/** Live progress of `flowhooks run`, rendered in-process with an injected clock (no real retry waits). */
import { describe, expect, it } from "vitest";
import { Flow, task, type Clock } from "../../lib/index";
import { createProgress, formatTime, type ProgressMode } from "../../lib/cli/index";

function fakeClock(start = new Date("2030-01-02T03:04:05.000Z")): Clock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
  };
}

function flakyFlow() {
  let calls = 0;
  const fetchRates = task({ maxRetries: 2, retryDelaySeconds: 5 }, function fetchRates() {
    if (++calls < 2) throw new Error("rate limited");
    return 1.1;
  });
  const store = task(function store(rate: number) {
    return rate;
  });
  return new Flow({ name: "rates" }, () => {
    store(fetchRates());
  });
}

async function render(mode: ProgressMode, flow: Flow, isTTY = false) {
  const writes: string[] = [];
  const out = { isTTY, write: (text: string) => writes.push(text) };
  const clock = fakeClock();
  const progress = createProgress(flow, { mode, out, now: () => clock.now(), color: false, refreshMs: 0 });
  const final = await flow.run({ clock, onTransition: (e) => progress.onTransition(e) });
  progress.finish(final);
  return { writes, text: writes.join(""), final, clock };
}

describe("run progress", () => {
  it("on a TTY redraws one line per task in place, showing the retry's next attempt and time", async () => {
    const { writes, text } = await render("tty", flakyFlow(), true);
    // The first frame lists every task as pending before anything ran.
    expect(writes[0]).toContain("fetchRates  ○ pending");
    expect(writes[0]).toContain("store       ○ pending");
    // Later frames move the cursor up over the 3-line block (flow + 2 tasks) and rewrite it.
    expect(writes.slice(1, -1).every((w) => w.startsWith("\x1b[3A"))).toBe(true);
    const retryFrame = writes.find((w) => w.includes("↻ retrying"));
    expect(retryFrame).toContain(`↻ retrying: attempt 2 at ${formatTime(new Date("2030-01-02T03:04:10.000Z"))} (in 5 s)`);
    expect(writes.some((w) => w.includes("▶ running (attempt 1)"))).toBe(true);
    const lastFrame = writes.at(-2)!;
    expect(lastFrame).toContain("fetchRates  ✔ succeeded after 2 attempts");
    expect(lastFrame).toContain('Flow rates: Success("All reference tasks succeeded.")');
    expect(text).toMatch(/^fetchRates\s+Success\s+2\s+5\.00 s$/m);
    expect(text).toMatch(/^store\s+Success\s+1\s+0 ms$/m);
  });

  it("a failed task shows its state and message on its line", async () => {
    const boom = task(function boom() {
      throw new Error("disk full");
    });
    const { writes, final } = await render("tty", new Flow({ name: "f", tasks: [boom] }), true);
    expect(final.isFailed()).toBe(true);
    expect(writes.at(-2)).toContain('boom  ✖ failed: Error during execution of task: Error: disk full');
  });

  it("without a TTY prints one line per transition with the retry's next attempt time", async () => {
    const { text } = await render("plain", flakyFlow());
    const t = (iso: string) => formatTime(new Date(iso));
    const lines = text.split("\n");
    expect(lines.slice(0, 8)).toEqual([
      `${t("2030-01-02T03:04:05.000Z")} flow rates Scheduled → Running("Running flow.")`,
      `${t("2030-01-02T03:04:05.000Z")} task fetchRates Pending → Running("Starting task run.")`,
      `${t("2030-01-02T03:04:05.000Z")} task fetchRates Running → Failed("Error during execution of task: Error: rate limited")`,
      `${t("2030-01-02T03:04:05.000Z")} task fetchRates Failed → Retrying("Retrying Task (after attempt 1 of 3)") next attempt at ${t("2030-01-02T03:04:10.000Z")}`,
      `${t("2030-01-02T03:04:10.000Z")} task fetchRates Retrying → Running("Starting task run.")`,
      `${t("2030-01-02T03:04:10.000Z")} task fetchRates Running → Success("Task run succeeded.")`,
      `${t("2030-01-02T03:04:10.000Z")} task store Pending → Running("Starting task run.")`,
      `${t("2030-01-02T03:04:10.000Z")} task store Running → Success("Task run succeeded.")`,
    ]);
    expect(text).not.toContain("\x1b[");
  });

  it("--json lines carry the attempt and serialised states, the Retrying one with runCount and startTime", async () => {
    const { text } = await render("json", flakyFlow());
    const objects = text.trim().split("\n").map((l) => JSON.parse(l));
    const retrying = objects.find((o) => o.new?.type === "Retrying");
    expect(retrying).toEqual({
      kind: "task",
      name: "fetchRates",
      attempt: 1,
      old: expect.objectContaining({ type: "Failed" }),
      new: { type: "Retrying", message: "Retrying Task (after attempt 1 of 3)", runCount: 1, startTime: "2030-01-02T03:04:10.000Z" },
      at: "2030-01-02T03:04:05.000Z",
    });
    expect(objects.at(-1)).toMatchObject({
      kind: "summary",
      durationMs: 5000,
      tasks: [
        { name: "fetchRates", attempts: 2, durationMs: 5000 },
        { name: "store", attempts: 1, durationMs: 0 },
      ],
    });
  });
});
