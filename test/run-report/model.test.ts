import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Mapped, Pending, Retrying, Running, Scheduled, Success, TriggerFailed } from "../../lib/index";
import type { TimelineTransition } from "../../lib/cli/index";
import { UsageError } from "../../lib/cli/errors";
import { runCommand } from "../../lib/cli/run";
import { forgetSecretValues, MASK, registerSecretValue } from "../../lib/core/mask";
import { historyCommand } from "../../bin/commands/history";
import { crashedTaskHistory, EXECUTION_ARN } from "../fixtures/index";
import { buildReportModel, checkReportPath, renderReportHtml } from "../../lib/run-report/index";
import { DETAIL_TASKS, GANTT_ROWS, isRewritten } from "../../lib/run-report/model";

const at = (ms: number) => new Date(Date.UTC(2030, 0, 1, 12, 0, 0, ms));
const retried: TimelineTransition[] = [
  { kind: "flow", name: "orders", oldState: new Scheduled(), newState: new Running("Running flow."), at: at(0) },
  { kind: "task", name: "load", attempt: 1, oldState: new Pending(), newState: new Running("Starting task run."), at: at(0) },
  { kind: "task", name: "load", attempt: 1, oldState: new Running(), newState: new Failed("boom"), at: at(1000) },
  { kind: "task", name: "load", attempt: 1, oldState: new Failed("boom"), newState: new Retrying("Retrying Task (after attempt 1 of 2)", { runCount: 1, startTime: at(3000) }), at: at(1000) },
  { kind: "task", name: "load", attempt: 2, oldState: new Retrying(), newState: new Running("Starting task run."), at: at(3000) },
  { kind: "task", name: "load", attempt: 2, oldState: new Running(), newState: new Failed("boom again"), at: at(4000) },
  { kind: "task", name: "report", attempt: 1, oldState: new Pending(), newState: new TriggerFailed("upstream failed"), at: at(4000) },
  { kind: "flow", name: "orders", oldState: new Running(), newState: new Failed("Some reference tasks failed."), at: at(5000) },
];

function manyTasks(n: number): TimelineTransition[] {
  const out: TimelineTransition[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ kind: "task", name: `t${i}`, attempt: 1, oldState: new Pending(), newState: new Running(), at: at(i) });
    out.push({ kind: "task", name: `t${i}`, attempt: 1, oldState: new Running(), newState: i % 100 === 0 ? new Failed("x") : new Success(), at: at(i + 5) });
  }
  return out;
}

describe("the run report's model", () => {
  afterEach(() => forgetSecretValues());

  it("draws each attempt of a retried task as its own bar, with the wait between them as a wait bar", () => {
    const model = buildReportModel({ source: "run", flow: "orders", transitions: retried });
    const load = model.rows.find((r) => r.name === "load")!;
    expect(load.segments.map((s) => [s.kind, s.startMs, s.endMs, s.state])).toEqual([
      ["attempt", 0, 1000, "Failed"],
      ["wait", 1000, 3000, "Retrying"],
      ["attempt", 3000, 4000, "Failed"],
    ]);
    expect(load).toMatchObject({ family: "failed", attempts: 2 });
  });

  it("marks retries, trigger failures and the flow's two transitions", () => {
    const model = buildReportModel({ source: "run", flow: "orders", transitions: retried });
    expect(model.taskStates.load!.marks).toContain("retried: 2 attempts");
    expect(model.taskStates.report).toMatchObject({ family: "failed", state: "TriggerFailed", marks: ["trigger failed"] });
    expect(model.flowTransitions.map((t) => `${t.from} → ${t.to}`)).toEqual(["Scheduled → Running", "Running → Failed"]);
    expect(model.flowState).toBe("Failed");
  });

  it("masks registered secrets in task names, messages and alert subjects", () => {
    registerSecretValue("hunter2-secret");
    const withSecret: TimelineTransition[] = [
      { kind: "task", name: "load", attempt: 1, oldState: new Pending(), newState: new Running(), at: at(0) },
      { kind: "task", name: "load", attempt: 1, oldState: new Running(), newState: new Failed("token hunter2-secret refused"), at: at(1) },
      { kind: "task", name: "for-hunter2-secret", attempt: 1, oldState: new Pending(), newState: new Running(), at: at(0) },
      { kind: "task", name: "for-hunter2-secret", attempt: 1, oldState: new Running(), newState: new Success(), at: at(1) },
    ];
    const alerts = [{ channel: "slack", subject: "task load hunter2-secret", state: new Failed("hunter2-secret"), at: at(2) }];
    const html = renderReportHtml(buildReportModel({ source: "emulate", flow: "f", transitions: withSecret, alerts }));
    expect(html).not.toContain("hunter2-secret");
    expect(html).toContain(`token ${MASK} refused`);
  });

  it("flags a state a state handler put where the runner proposes none", () => {
    expect(isRewritten(new Running(), new Running("still going"))).toBe(true);
    expect(isRewritten(new Retrying(), new Success())).toBe(true);
    expect(isRewritten(new Running(), new Success())).toBe(false);
    expect(isRewritten(new Pending(), new TriggerFailed())).toBe(false);
  });

  it("summarises a 10,000-child map in one row with its counts and a histogram", () => {
    const transitions: TimelineTransition[] = [];
    const children = [];
    for (let i = 0; i < 10_000; i++) {
      const end = i === 7 ? new Failed("bad item") : new Success();
      transitions.push({ kind: "task", name: "m", mapIndex: i, attempt: 1, oldState: new Pending(), newState: new Running(), at: at(i) });
      transitions.push({ kind: "task", name: "m", mapIndex: i, attempt: 1, oldState: new Running(), newState: end, at: at(i + 3) });
      children.push(end);
    }
    transitions.push({ kind: "task", name: "m", oldState: new Pending(), newState: new Mapped("Mapped 10000 children.", { result: children }), at: at(10_010) });
    const model = buildReportModel({ source: "run", flow: "f", transitions });
    expect(model.rows).toHaveLength(1);
    expect(model.rows[0]).toMatchObject({ kind: "map", children: { count: 10_000, succeeded: 9_999, failed: 1 } });
    expect(model.rows[0]!.histogram!.bins.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(model.details[0]!.notableChildren).toEqual(["m[7] failed"]);
  });

  it("groups the tasks beyond the row limit per final state, and details the failed ones first", () => {
    const model = buildReportModel({ source: "run", flow: "f", transitions: manyTasks(10_000) });
    const groups = model.rows.filter((r) => r.kind === "group");
    expect(model.rows.length - groups.length).toBe(GANTT_ROWS);
    expect(groups.map((g) => g.name)).toEqual(["98 more tasks ended Failed", "9702 more tasks ended Success"]);
    expect(model.details).toHaveLength(DETAIL_TASKS);
    expect(model.details.filter((d) => d.family === "failed")).toHaveLength(100);
    expect(model.detailsOmitted).toBe(10_000 - DETAIL_TASKS);
  });

  it("escapes task names and messages, and the page loads nothing from anywhere", () => {
    const evil: TimelineTransition[] = [
      { kind: "task", name: "<img src=x>", attempt: 1, oldState: new Pending(), newState: new Running(), at: at(0) },
      { kind: "task", name: "<img src=x>", attempt: 1, oldState: new Running(), newState: new Failed("<script>alert(1)</script>"), at: at(1) },
    ];
    const html = renderReportHtml(buildReportModel({ source: "run", flow: "f", transitions: evil }));
    expect(html).not.toMatch(/<img|<script/);
    expect(html).not.toMatch(/\b(src|href)=["']?https?:/);
    expect(html).toContain("default-src 'none'");
  });
});

describe("--report paths and inputs", () => {
  const dir = mkdtempSync(join(tmpdir(), "report-path-"));
  afterEach(() => chmodSync(dir, 0o755));

  it("refuses a folder that does not exist, naming the mkdir that fixes it", () => {
    expect(() => checkReportPath(join(dir, "nope/run.html"))).toThrow(/does not exist; create it \(mkdir -p /);
  });

  it("refuses a path that is not .html", () => {
    expect(() => checkReportPath(join(dir, "run.txt"))).toThrow(/ending in \.html/);
  });

  it.skipIf(process.getuid?.() === 0)("refuses a folder it cannot write to", () => {
    chmodSync(dir, 0o555);
    expect(() => checkReportPath(join(dir, "run.html"))).toThrow(/not writable/);
  });

  it("refuses an existing file it cannot write to (even as root: a folder is not a file)", () => {
    const sub = join(dir, "is-a-dir.html");
    rmSync(sub, { recursive: true, force: true });
    writeFileSync(join(dir, "x"), "");
    expect(() => checkReportPath(join(dir, "x", "run.html"))).toThrow(/is not a folder/);
  });

  it("flowhooks run checks the report path before it loads or runs the flow (exit 2)", async () => {
    // The flow file does not exist either: the report's error comes first, so nothing was loaded.
    const error = await runCommand({ file: join(dir, "missing-flow.ts"), report: join(dir, "nope/run.html"), out: { write: () => true } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/--report .*does not exist/);
  });

  it("flowhooks history --report refuses an execution with no transitions in its history (exit 2) and writes nothing", async () => {
    const path = join(dir, "empty.html");
    const arn = "arn:aws:states:eu-west-1:123456789012:execution:orders:run-1";
    const error = await historyCommand({ executionArn: arn, report: path, sfn: { send: async () => ({ events: [] }) } as never, out: { write: () => true } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/no flowhooks transitions in its history/);
    expect(existsSync(path)).toBe(false);
  });

  it("flowhooks history --report links each task to the execution in the Step Functions console, retries as bars", async () => {
    const path = join(dir, "history.html");
    const code = await historyCommand({ executionArn: EXECUTION_ARN, report: path, sfn: { send: async () => ({ events: crashedTaskHistory() }) } as never, out: { write: () => true } });
    expect(code).toBe(0);
    const html = readFileSync(path, "utf8");
    const region = EXECUTION_ARN.split(":")[3];
    const link = `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(EXECUTION_ARN)}`;
    expect(html).toContain(`<details data-task="load"><summary>`);
    expect(html.match(/<details data-task="[^"]+"><summary>.*?<\/summary> <a href="([^"]+)"/g)).toHaveLength(2);
    expect(html).toContain(`href="${link.replace(/&/g, "&amp;")}"`);
    expect(html.match(/data-kind="attempt" data-attempt="\d"/g)!.length).toBeGreaterThanOrEqual(3);
  });

  it("--report with --json: stdout stays JSON lines only, the page goes to the file", async () => {
    const path = join(dir, "json.html");
    let stdout = "";
    const { virtualClock } = await import("../../lib/core/clock");
    await runCommand({ file: join(import.meta.dirname, "../../examples/09-mapping.ts"), json: true, report: path, clock: virtualClock(), out: { write: (t: string) => ((stdout += t), true) } });
    const lines = stdout.trim().split("\n");
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(JSON.parse(lines[lines.length - 1]!).kind).toBe("summary");
    expect(readFileSync(path, "utf8")).toMatch(/^<!doctype html>/);
  });

  it("a report written by flowhooks run holds every task and the DAG coloured by final state", async () => {
    const path = join(dir, "run.html");
    const root = join(import.meta.dirname, "../..");
    const { virtualClock } = await import("../../lib/core/clock");
    const code = await runCommand({ file: join(root, "examples/08-on-failure.ts"), report: path, clock: virtualClock(), out: { write: () => true } });
    expect(code).toBe(1);
    const html = readFileSync(path, "utf8");
    // Graphviz writes the hyphens as entities; the browser reads them as `task-node s-failed`.
    expect(html).toMatch(/class="node task&#45;node s&#45;failed"/);
    expect(html).toContain('data-task="divide"');
  });
});
