/** `flowhooks graph` of a flow with a flowRun task: the task's node names the flow it runs. */
import { describe, expect, it } from "vitest";
import { Flow, flowRun, parameter, task } from "../../lib/index";
import { toDot, toMermaid } from "../../lib/cli/index";

function nightly() {
  const extract = task({ name: "extract" }, (day: string) => day);
  const etl = new Flow({ name: "etl" }, () => void extract(parameter("day")));
  const report = task({ name: "report" }, (x: unknown) => x);
  return new Flow({ name: "nightly" }, () => void report(flowRun(etl, { parameters: { day: "d" }, maxRetries: 1 })()));
}

describe("flowhooks graph with a sub-flow", () => {
  it("Mermaid and DOT show which flow a flowRun task runs, beside its retries", () => {
    expect(toMermaid(nightly())).toContain('t0["run-etl<br/>retries: 1<br/>sub-flow: etl"]');
    expect(toDot(nightly())).toContain("run-etl\nretries: 1\nsub-flow: etl");
  });
});
