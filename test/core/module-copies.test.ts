/**
 * A user's app may load flowhooks twice (its CommonJS build through `require` and its ESM build
 * through `import`). Objects of one copy must be recognised by the other.
 */
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as ours from "../../lib/core/index";

let theirs: typeof ours;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowhooks-copy-"));
  const src = join(import.meta.dirname, "../../lib/core");
  for (const f of readdirSync(src)) cpSync(join(src, f), join(dir, f));
  theirs = (await import(join(dir, "index.ts"))) as typeof ours;
  expect(theirs.Failed).not.toBe(ours.Failed);
});

describe("flows, tasks, states and signals are recognised across module copies", () => {
  it("a state from the other copy is an instance of this copy's class and of its parents", () => {
    const failed = new theirs.TriggerFailed("upstream failed");
    expect(failed instanceof ours.TriggerFailed).toBe(true);
    expect(failed instanceof ours.Failed).toBe(true);
    expect(failed instanceof ours.Finished).toBe(true);
    expect(failed instanceof ours.State).toBe(true);
    expect(failed instanceof ours.Success).toBe(false);
    expect(failed instanceof ours.TimedOut).toBe(false);
    expect(new ours.Retrying("again") instanceof theirs.Scheduled).toBe(true);
    expect(new ours.Retrying("again") instanceof theirs.Running).toBe(false);
  });

  it("an error of the other copy's family is caught as this copy's", () => {
    expect(new theirs.FlowDefinitionError("bad flow") instanceof ours.FlowDefinitionError).toBe(true);
    expect(new theirs.FlowDefinitionError("bad flow") instanceof ours.FlowhooksError).toBe(true);
    expect(new theirs.SecretNotFoundError("no secret") instanceof ours.FlowDefinitionError).toBe(false);
  });

  it("plain values and lookalikes are not states", () => {
    expect((null as unknown) instanceof ours.State).toBe(false);
    expect(({ type: "Failed" } as unknown) instanceof ours.Failed).toBe(false);
    expect((new Error("x") as unknown) instanceof ours.Failed).toBe(false);
  });

  it("a lookalike carrying a copied lineage but made by no copy is not a state", () => {
    const lineage = Object.getPrototypeOf(new theirs.Failed("x"))[Symbol.for("flowhooks.lineage")];
    const forged = { [Symbol.for("flowhooks.lineage")]: lineage, type: "Failed" };
    expect((forged as unknown) instanceof ours.Failed).toBe(false);
    expect((forged as unknown) instanceof ours.State).toBe(false);
    expect(new theirs.Failed("x") instanceof ours.Failed).toBe(true);
  });

  it("a user's subclass keeps plain instanceof", () => {
    class Paused extends ours.Pending {}
    expect(new Paused() instanceof Paused).toBe(true);
    expect(new theirs.Pending() instanceof Paused).toBe(false);
    expect(new Paused() instanceof theirs.Pending).toBe(true);
  });

  it("a flow and its tasks from the other copy are flows and tasks here", () => {
    const t = theirs.task(function load() {
      return 1;
    });
    const flow = new theirs.Flow({ name: "copied" }, () => {
      t();
    });
    expect(ours.isFlow(flow)).toBe(true);
    expect(flow instanceof ours.Flow).toBe(true);
    expect(ours.isTask(t)).toBe(true);
    expect(ours.isFlow(t)).toBe(false);
  });

  it("a signal from the other copy is recognised, and handlers may use either copy's classes", async () => {
    expect(new theirs.signals.FAIL("no") instanceof ours.signals.FAIL).toBe(true);
    expect(new theirs.signals.FAIL("no") instanceof ours.signals.RETRY).toBe(false);
    const seen: boolean[] = [];
    const t = theirs.task(
      { stateHandlers: [(_t, _old, next) => void seen.push(next instanceof ours.Failed)] },
      function boom() {
        throw new ours.signals.FAIL("stop");
      },
    );
    const flow = new theirs.Flow({ name: "mixed" }, () => {
      t();
    });
    const state = await flow.run();
    expect(state instanceof ours.Failed).toBe(true);
    expect(seen).toEqual([false, true]);
  });

  it("a state handler of one copy reads the run context that the other copy's runner entered", async () => {
    const seen: (string | undefined)[] = [];
    const t = theirs.task(
      {
        stateHandlers: [
          async () => {
            await new Promise((r) => setImmediate(r));
            seen.push(`${ours.getRunContext()?.flowName} ${ours.getRunContext()?.attempt}`);
          },
        ],
      },
      function one() {
        return 1;
      },
    );
    const state = await new theirs.Flow({ name: "shared-context", tasks: [t] }).run();
    expect(state.isSuccessful()).toBe(true);
    expect(seen).toEqual(["shared-context 1", "shared-context 1"]);
  });
});
