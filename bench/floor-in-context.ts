/**
 * How much of the runner's distance from the floor is the run context alone: section 1's floor
 * (10,000-task chain) run plain, and inside one `AsyncLocalStorage` context, which makes Node 22
 * run promise hooks on every promise. `node_modules/.bin/node --import tsx bench/floor-in-context.ts [als]`.
 */
import { withRunContext } from "../lib/core/context";
import { benchFlow, floorLoop } from "./sections/runner";
const als = process.argv[2] === "als";
const bench = benchFlow("chain", 10_000);
const once = () => (als ? withRunContext({ flowName: "f", executionId: "x", runtime: "local" }, () => floorLoop(bench)) : floorLoop(bench));
for (let i = 0; i < 5; i++) await once();
const cpu: number[] = [];
for (let r = 0; r < 5; r++) { const c = process.cpuUsage(); for (let i = 0; i < 10; i++) await once(); const u = process.cpuUsage(c); cpu.push((u.user + u.system) / 10000); }
cpu.sort((a, b) => a - b); console.log(als ? "floor inside AsyncLocalStorage:" : "floor:", cpu[2]!.toFixed(2), "ms", cpu.map((x) => x.toFixed(1)).join(" "));
