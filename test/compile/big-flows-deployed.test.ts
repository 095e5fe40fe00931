/**
 * A large flow that FlowStateMachine can deploy (every state machine within Step Functions' 1 MB
 * definition limit) and whose leaves add up across child state machines: a spine of tasks, each
 * with hundreds of leaves. Its final state gathers every leaf's output, where a single wide level
 * cannot (one level of ~1,200 tasks already fills a state machine's definition).
 */
import { describe, expect, it } from "vitest";
import { compileFlow, MAX_DEFINITION_CHARS } from "../../lib/compile/index";
import { finalReportState } from "../../lib/cdk/flow-state-machine";
import { Flow } from "../../lib/core/flow";
import { task, type TaskRef } from "../../lib/core/task";
import { MAX_STATE_PAYLOAD_BYTES } from "../../lib/emulate/limits";
import { partArn, runSplit, succeeded } from "./run-split";

/** `spine` tasks in a chain, each read by `leaves` tasks no one reads. */
function comb(spine: number, leaves: number): Flow {
  return new Flow({ name: `comb-${spine}x${leaves}` }, () => {
    let previous: TaskRef<unknown> | undefined;
    for (let s = 0; s < spine; s++) {
      const node = task({ name: `s${s}` }, (..._inputs: unknown[]) => s)(...(previous ? [previous] : []));
      for (let l = 0; l < leaves; l++) task({ name: `s${s}l${l}` }, (_input: unknown) => l)(node);
      previous = node;
    }
  });
}

describe("a deployable flow whose leaves add up across child state machines", () => {
  it("runs 2,080 leaves in 4 levels, split into child state machines of under 1 MB each, with every state under 256 KiB (it was 278,932 bytes)", async () => {
    const compiled = compileFlow(comb(4, 520), {
      // As FlowStateMachine compiles it: substitution placeholders for the functions and the parts.
      taskFunctionArn: (name) => `\${FlowhooksTaskFunction${name}}`,
      childStateMachineArn: partArn,
      reportFinalState: (outcome) => finalReportState("comb", outcome, "comb-bus"),
    });
    expect(compiled.parts.length).toBeGreaterThanOrEqual(2);
    for (const d of [compiled.definition, ...compiled.parts.map((p) => p.definition)]) expect(JSON.stringify(d).length).toBeLessThan(MAX_DEFINITION_CHARS);
    const run = await runSplit(compiled, partArn, succeeded);
    expect(run.error).toBeUndefined();
    expect(run.largestStateBytes, run.largestAt).toBeLessThan(MAX_STATE_PAYLOAD_BYTES);
  }, 60_000);
});
