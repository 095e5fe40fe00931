/**
 * The runner reads a task's fields (retry, trigger, run, stateHandlers) for every task it runs.
 * A task whose callable had its `name` redefined after creation sits in V8's dictionary mode,
 * which made each of those reads ~8x slower; tasks must keep fast properties.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Task, task } from "../../lib/core/task";

const TASK_MODULE = join(import.meta.dirname, "../../lib/core/task.ts");

describe("task objects", () => {
  it("keep V8's fast properties, made from a function, with options, or as a subclass", () => {
    const script = `
      import { Task, task } from ${JSON.stringify(TASK_MODULE)};
      class Load extends Task { run() { return 1; } }
      const made = [task(function load() {}), task({ name: "named", maxRetries: 2 }, () => 1), new Load(), new Task()];
      console.log(JSON.stringify(made.map((t) => %HasFastProperties(t))));
    `;
    const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(out.trim())).toEqual([true, true, true, true]);
  });

  it("carry their name as the callable's own name", () => {
    class Load extends Task {}
    expect(task(function load() {}).name).toBe("load");
    expect(task({ name: "named" }, () => 1).name).toBe("named");
    expect(new Load().name).toBe("Load");
    expect(new Task().name).toBe("Task");
    expect(String(task({ name: "a b" }, () => 1))).toBe("<Task: a b>");
  });
});
