/**
 * The task Lambda's code alone, per invocation, by how many containers run it (section 6's text):
 * records the task invocations of one emulated chain, then replays them straight into the bundled
 * handlers (no engine, no handler Lambda), spread over CONTAINERS containers (default: each its own,
 * as emulated), and prints the median CPU per invocation.
 *
 * `npx tsx bench/task-invocations.ts [TASKS] [ROUNDS]` (TASKS one of section 6's chains, default 100;
 * CONTAINERS=1 runs every invocation in the first function's container, its FLOWHOOKS_TASK set to each task's).
 */
import { fileURLToPath } from "node:url";
import { emulate, prepareEmulation } from "../lib/emulate/index";
import { LocalLambda } from "../lib/emulate/lambda";
import { spread } from "./sections/runner";

const ENTRY = fileURLToPath(new URL("./fixtures/emulate-flow.ts", import.meta.url));
const tasks = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 40);
const target = await prepareEmulation({ entry: ENTRY, flow: `bench-emulate-${tasks}` });

// Record: which container got which event, in one emulated run.
const recorded: { lambda: LocalLambda; event: string }[] = [];
const invoke = LocalLambda.prototype.invoke;
LocalLambda.prototype.invoke = function (this: LocalLambda, event: unknown) {
  if (this.fn.environment.FLOWHOOKS_TASK !== undefined) recorded.push({ lambda: this, event: JSON.stringify(event) });
  return invoke.call(this, event);
};
const result = await emulate({ target, fastRetries: true, write: () => {} });
LocalLambda.prototype.invoke = invoke;
if (result.status !== "SUCCEEDED") throw new Error(`the emulated chain ended ${result.status}`);

// Events go nowhere (the emulator's in-process PutEvents hook, lib/emulate/eventbridge.ts).
(globalThis as Record<symbol, unknown>)[Symbol.for("flowhooks.emulator.putEvents")] = () => undefined;
const containers = Math.min(recorded.length, Number(process.env.CONTAINERS ?? recorded.length));
type Handler = (event: unknown, context: unknown) => Promise<unknown>;
const handlers = await Promise.all(recorded.slice(0, containers).map(async ({ lambda }) => (await lambda.init())[lambda.fn.handler.split(".").pop()!] as Handler));
const context = { functionName: "bench", awsRequestId: "bench", getRemainingTimeInMillis: () => 60_000 };

async function round(): Promise<number> {
  const events = recorded.map((r) => JSON.parse(r.event) as { task: string });
  const cpu = process.cpuUsage();
  for (let i = 0; i < recorded.length; i++) {
    const c = i % containers;
    await recorded[c]!.lambda.run(() => {
      // A container serving several tasks' invocations is told which task each time, as each one's own function would be.
      if (containers < recorded.length) process.env.FLOWHOOKS_TASK = events[i]!.task;
      return handlers[c]!(events[i], context);
    });
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / recorded.length;
}

for (let i = 0; i < 5; i++) await round();
const perInvocation: number[] = [];
for (let i = 0; i < rounds; i++) perInvocation.push(await round());
const s = spread(perInvocation);
console.log(`${recorded.length} task invocations in ${containers} container(s), ${rounds} rounds: median ${s.median.toFixed(1)} µs CPU per invocation (${s.min.toFixed(1)}–${s.max.toFixed(1)})`);
process.exit(0);
