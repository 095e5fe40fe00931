/**
 * The CLI as users meet it: the real bin in a subprocess (stdout is a pipe, so not a TTY).
 * Spawns run concurrently; each costs about half a second for tsx to start.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli";

const F = "test/cli/fixtures";
const PLAIN_LINE = /^\d\d:\d\d:\d\d\.\d{3} (task|flow) \S+ \w+ → \w+\(.*\)/;

describe.concurrent("flowhooks run", () => {
  it("runs a flow, prints one line per transition when stdout is not a TTY, and exits 0", async () => {
    const { code, stdout, stderr } = await runCli(["run", `${F}/hello.ts`]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    const transitions = lines.filter((l) => PLAIN_LINE.test(l));
    // 2 flow transitions + 2 per task (Pending → Running → Success) for 3 tasks
    expect(transitions).toHaveLength(8);
    expect(transitions[0]).toMatch(/ flow hello Scheduled → Running\("Running flow\."\)$/);
    expect(transitions).toContainEqual(expect.stringMatching(/ task total Running → Success\("Task run succeeded\."\)$/));
    expect(transitions[7]).toMatch(/ flow hello Running → Success\("All reference tasks succeeded\."\)$/);
    expect(stdout).toMatch(/^extract\s+Success\s+1\s+\d+ ms$/m);
    expect(stdout).not.toContain("\x1b[");
  });

  it("exits 1 when the flow's final state is failed", async () => {
    const { code, stdout } = await runCli(["run", `${F}/failing.ts`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/ task load Running → Failed\("Error during execution of task: Error: warehouse unreachable"\)$/m);
    expect(stdout).toMatch(/ task report Pending → TriggerFailed\(/m);
    expect(stdout).toMatch(/ flow failing Running → Failed\("Some reference tasks failed\."\)$/m);
  });

  it("--json prints one parseable object per transition, then a summary, and --param reaches the task", async () => {
    const { code, stdout } = await runCli(["run", `${F}/hello.ts`, "--json", "--param", "n=4"]);
    expect(code).toBe(0);
    const objects = stdout.trim().split("\n").map((line) => JSON.parse(line));
    const transitions = objects.filter((o) => o.kind !== "summary");
    expect(transitions.map((o) => `${o.kind} ${o.name} ${o.old.type}→${o.new.type}`)).toEqual([
      "flow hello Scheduled→Running",
      "task extract Pending→Running",
      "task extract Running→Success",
      "task total Pending→Running",
      "task total Running→Success",
      "task report Pending→Running",
      "task report Running→Success",
      "flow hello Running→Success",
    ]);
    const totalDone = transitions.find((o) => o.name === "total" && o.new.type === "Success");
    expect(totalDone).toMatchObject({ attempt: 1, new: { message: "Task run succeeded.", result: 10 } });
    expect(new Date(totalDone.at).toISOString()).toBe(totalDone.at);
    const summary = objects.at(-1);
    expect(summary).toMatchObject({ kind: "summary", flow: "hello", state: { type: "Success" } });
    expect(summary.tasks.map((t: { name: string; attempts: number }) => [t.name, t.attempts])).toEqual([
      ["extract", 1],
      ["total", 1],
      ["report", 1],
    ]);
  });
});

describe.concurrent("flowhooks run with a mapped task", () => {
  it("names children t[i], prints only those that failed or retried, and ends with a summary line per mapped task", async () => {
    const { code, stdout, stderr } = await runCli(["run", `${F}/mapped.ts`]);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    const lines = stdout.split("\n").map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ""));
    expect(lines).toContain('task download[4] Running → Failed("Error during execution of task: Error: file-4.csv is gone")');
    expect(lines).toContain('task download[2] Retrying → Running("Starting task run.")');
    expect(lines).toContain('task download[2] Running → Success("Task run succeeded.")');
    expect(lines.filter((l) => /^task download\[\d+\]/.test(l)).every((l) => /^task download\[[24]\]/.test(l))).toBe(true);
    expect(lines).toContain('task download Pending → Mapped("Mapped 6 children.")');
    expect(lines).toContain('task total Pending → TriggerFailed("Trigger was "all_successful" but some of the upstream tasks failed.")');
    expect(stdout).toMatch(/^download\s+Mapped\s+-\s+\d/m);
    expect(lines).toContain("download: Mapped 6 children — 5 succeeded, 1 failed (download[4]); 2 retried (download[2], download[4])");
  });

  it("--param reaches the list it maps over: an empty list maps no children and the reducer gets []", async () => {
    const { code, stdout } = await runCli(["run", `${F}/mapped.ts`, "--json", "--param", "n=0"]);
    expect(code).toBe(0);
    const objects = stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(objects.filter((o) => o.mapIndex !== undefined)).toEqual([]);
    expect(objects.find((o) => o.name === "total" && o.new.type === "Success").new.result).toBe(0);
    expect(objects.at(-1).tasks[1]).toMatchObject({ name: "download", state: { type: "Mapped", message: "Mapped 0 children." }, children: { count: 0 } });
  });
});

describe.concurrent("flowhooks graph", () => {
  it("--format mermaid prints the tasks as nodes and the data edges between them", async () => {
    const { code, stdout } = await runCli(["graph", `${F}/retries.ts`, "--format", "mermaid"]);
    expect(code).toBe(0);
    const lines = stdout.split("\n").map((l) => l.trim());
    expect(lines[0]).toBe("flowchart TD");
    expect(lines).toContain('t0["fetchRates<br/>retries: 2"]');
    expect(lines).toContain('t1["store"]');
    expect(lines).toContain('t2["audit<br/>trigger: any_failed"]');
    expect(lines).toContain("t0 --> t1");
    expect(lines).toContain("t0 -.-> t2");
    expect(lines).toContain("class t1 reference");
  });

  it("--format svg renders the graph with Graphviz (WebAssembly, no system package)", async () => {
    const { code, stdout } = await runCli(["graph", `${F}/retries.ts`, "--format", "svg"]);
    expect(code).toBe(0);
    expect(stdout).toContain("<svg");
    expect(stdout).toContain(">fetchRates</text>");
  });

  it("draws a mapped task as one node marked [map], with the edge it maps over marked map", async () => {
    const { code, stdout } = await runCli(["graph", `${F}/mapped-graph.ts`, "--format", "mermaid"]);
    expect(code).toBe(0);
    const lines = stdout.split("\n").map((l) => l.trim());
    expect(lines).toContain('t1[["download [map]<br/>mapConcurrency: 10"]]');
    expect(lines).toContain("t0 ==>|map| t1");
    expect(lines).toContain("p0 --> t1");
    expect(lines).toContain("t2 ==>|flatten| t3");
  });
});

describe.concurrent("errors a newcomer hits print one line with the fix and exit 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["file not found", ["run", `${F}/missing.ts`], /File test\/cli\/fixtures\/missing\.ts not found; pass the path of a module/],
    ["no flow exported", ["run", `${F}/no-flow.ts`], /no-flow\.ts exports no flow; export one: `export const flow = new Flow\(\.\.\.\)`/],
    ["several flows without --flow", ["run", `${F}/two-flows.ts`], /exports 2 flows \(first, second\); choose one with --flow NAME/],
    ["--param without =", ["run", `${F}/hello.ts`, "--param", "n"], /--param "n" is not of the form name=value; write it as --param n=value/],
    ["an unknown parameter", ["run", `${F}/hello.ts`, "--param", "m=2"], /Flow `hello` has no parameter `m`; its parameters are: `n`/],
    ["an unknown option", ["graph", `${F}/hello.ts`, "--fromat", "dot"], /unknown option '--fromat'.*see "flowhooks graph --help"/],
    [
      "a notifier's secret not set, before any task runs",
      ["run", "test/fixtures/cdk-app/flows/orders.ts"],
      /^flowhooks: Secret "SLACK_WEBHOOK_URL" is not set\. For local runs, set it in the environment: export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=…/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const { code, stdout, stderr } = await runCli(args);
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(message)]);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  }

  it("--verbose adds the stack trace", async () => {
    const { code, stderr } = await runCli(["run", `${F}/missing.ts`, "--verbose"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/\n\s+at loadFlows /);
  });
});
