/** Live progress of `flowhooks run`, rendered in-process with an injected clock (no real retry waits). */
import { describe, expect, it } from "vitest";
import { Flow, task, type Clock } from "../../lib/index";
import { createProgress, formatTime, type ProgressMode, type ProgressOptions } from "../../lib/cli/index";

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

async function render(mode: ProgressMode, flow: Flow, isTTY = false, options: Partial<ProgressOptions> = {}) {
  const writes: string[] = [];
  const out = { isTTY, write: (text: string) => writes.push(text) };
  const clock = fakeClock();
  const progress = createProgress(flow, { mode, out, now: () => clock.now(), color: false, refreshMs: 0, ...options });
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

/** `list` → `download.map(list)` → `total`: `failing` indexes always fail, `flaky` ones fail their first attempt. */
function mappedFlow(count: number, failing: readonly number[], flaky: readonly number[] = []) {
  const tried = new Set<number>();
  const list = task(function list() {
    return Array.from({ length: count }, (_, i) => i);
  });
  const download = task({ maxRetries: 1, retryDelaySeconds: 5 }, function download(i: number) {
    if (failing.includes(i)) throw new Error(`item ${i} is gone`);
    if (flaky.includes(i) && !tried.has(i)) {
      tried.add(i);
      throw new Error("connection reset");
    }
    return i;
  });
  const total = task(function total(sizes: number[]) {
    return sizes.length;
  });
  return new Flow({ name: "downloads" }, () => {
    total(download.map(list()));
  });
}

describe("run progress of a mapped task", () => {
  it("on a TTY, a 10,000-child map is one live line with counts, its failed children named below it, in a bounded number of frames", async () => {
    const { writes, text } = await render("tty", mappedFlow(10_000, [7, 2507, 5007, 7507]), true);
    // 30,000+ child transitions, redrawn at most every 100 ms: far fewer frames than transitions.
    expect(writes.length).toBeLessThan(200);
    const last = writes.at(-2)!;
    expect(last).toContain("download  ✔ mapped 10000 children: 9996 succeeded, 4 failed");
    expect(last).toContain("    ✖ download[7] failed: Error during execution of task: Error: item 7 is gone");
    expect(last).toContain("    ✖ download[5007] failed:");
    // At most 3 failed children get a line; the rest are counted.
    expect(last).not.toContain("download[7507]");
    expect(last).toContain("    ✖ … and 1 more failed");
    expect(last.split("\n").filter(Boolean)).toHaveLength(8);
    // A frame while the children ran counted them on the task's one line, naming none that succeeded.
    expect(writes.some((w) => /download {2}▶ mapping: \d+ child(ren)? started: \d+ running, \d+ succeeded/.test(w))).toBe(true);
    expect(text).not.toContain("download[1]");
    expect(text).toContain(
      "download: Mapped 10000 children — 9996 succeeded, 4 failed (download[7], download[2507], download[5007], download[7507]); " +
        "4 retried (download[7], download[2507], download[5007], download[7507])",
    );
    expect(text).toMatch(/^download\s+Mapped\s+-\s+/m);
  });

  it("on a TTY, a child waiting to retry gets a countdown line under its task", async () => {
    // Every transition redraws here (the fake clock's 5 s wait passes at once in real time).
    const { writes } = await render("tty", mappedFlow(3, [], [1]), true, { childRedrawMs: 0 });
    const retryFrame = writes.find((w) => w.includes("↻ download[1]"));
    expect(retryFrame).toContain(`    ↻ download[1] retrying: attempt 2 at ${formatTime(new Date("2030-01-02T03:04:10.000Z"))} (in 5 s)`);
    expect(writes.at(-2)).toContain("download  ✔ mapped 3 children: 3 succeeded");
    expect(writes.at(-2)).not.toContain("↻");
  });

  it("without a TTY prints the transitions of children that failed or retried, named t[i], and counts the others", async () => {
    const { text } = await render("plain", mappedFlow(6, [4], [2]));
    const lines = text.split("\n").map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ""));
    expect(lines).toContain("map download: running its children download[0], download[1], …; those that fail, retry or are skipped are printed by name, the others counted");
    expect(lines).toContain('task download[2] Running → Failed("Error during execution of task: Error: connection reset")');
    expect(lines).toContain('task download[2] Retrying → Running("Starting task run.")');
    expect(lines).toContain('task download[2] Running → Success("Task run succeeded.")');
    expect(lines).toContain('task download[4] Running → Failed("Error during execution of task: Error: item 4 is gone")');
    // Children that simply succeeded are not printed one line each.
    expect(lines.filter((l) => !l.startsWith("map download: running")).join("\n")).not.toMatch(/download\[[0135]\]/);
    expect(lines).toContain('task download Pending → Mapped("Mapped 6 children.")');
    expect(lines).toContain("download: Mapped 6 children — 5 succeeded, 1 failed (download[4]); 2 retried (download[2], download[4])");
    // A count line when 5 s of the run's clock passed (here: the retry waits).
    expect(lines).toContain("map download: 6 children started: 1 running, 2 retrying, 3 succeeded");
  });

  it("--json lines of children carry mapIndex, and the summary counts a mapped task's children", async () => {
    const { text } = await render("json", mappedFlow(3, [1]));
    const objects = text.trim().split("\n").map((l) => JSON.parse(l));
    const child = objects.find((o) => o.mapIndex === 1 && o.new.type === "Failed");
    expect(child).toMatchObject({ kind: "task", name: "download", mapIndex: 1, attempt: 1 });
    const parent = objects.find((o) => o.name === "download" && o.new.type === "Mapped");
    expect(parent.mapIndex).toBeUndefined();
    expect(parent.new.result.map((s: { type: string }) => s.type)).toEqual(["Success", "Failed", "Success"]);
    expect(objects.at(-1).tasks[1]).toEqual({
      name: "download",
      state: { type: "Mapped", message: "Mapped 3 children." },
      durationMs: 5000,
      children: { count: 3, succeeded: 2, failed: 1, skipped: 0, other: 0, failedChildren: ["download[1]"], retriedChildren: ["download[1]"] },
    });
  });
});

describe("run progress of a mapped task where every child fails", () => {
  it("without a TTY names at most 50 children, says once that the rest are counted, and the summary still names the failed ones", async () => {
    const { text } = await render("plain", mappedFlow(200, range(200)));
    const named = new Set([...text.matchAll(/^\S+ task download\[(\d+)\]/gm)].map((m) => m[1]));
    expect(named.size).toBe(50);
    expect(text.match(/more than 50 children failed, retried or were skipped; further ones are counted, not printed/g)).toHaveLength(1);
    expect(text).toContain("download: Mapped 200 children — 0 succeeded, 200 failed (download[0], download[1],");
    expect(text).toContain("download[9] and 190 more)");
  });
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

describe("run progress of a mapped task that runs no child", () => {
  it("on a TTY, an empty list shows `mapped 0 children`, and a list that is not one shows the parent's failure", async () => {
    const empty = await render("tty", mappedFlow(0, []), true);
    expect(empty.writes.at(-2)).toContain("download  ✔ mapped 0 children\n");
    expect(empty.text).toContain("download: Mapped 0 children\n");

    const config = task(function config() {
      return { files: 3 };
    });
    const download = task(function download(file: string) {
      return file;
    });
    const notAList = await render("tty", new Flow({ name: "f" }, () => void download.map(config() as never)), true);
    expect(notAList.writes.at(-2)).toContain("download  ✖ failed: Task `download` maps over the result of `config`, which is an object, not an array;");
    expect(notAList.text).not.toContain("download: Mapped");
  });
});
