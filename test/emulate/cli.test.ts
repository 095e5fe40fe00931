import { describe, expect, it } from "vitest";
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
});
