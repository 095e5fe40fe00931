/**
 * Section 6's subjects, each alone in its own process: the emulator (`emulate()` on a prepared
 * target) or the same deployed ASL run bare in aws-local-stepfunctions with every Task answered at
 * once. Alone, so the bare run never pays for hooks the emulator turned on.
 *
 * `node --import tsx bench/emulate-child.ts MODE ASSEMBLY FLOW WARMUP ROUNDS` (MODE prepare: synthesize and
 * bundle FLOW once in this fresh process; ASSEMBLY, WARMUP and ROUNDS are ignored)
 * prints one JSON line: CPU and wall ms of each timed run.
 */
import { fileURLToPath } from "node:url";
import { StateMachine } from "aws-local-stepfunctions";
import { emulate, prepareEmulation } from "../lib/emulate/index";
import { successHandlers } from "./sections/cost";

const ENTRY = fileURLToPath(new URL("./fixtures/emulate-flow.ts", import.meta.url));
const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
type Json = Record<string, any>;

/** The prepared definition with every Task state answered at once: a Lambda with a successful task's output, PutEvents with success. */
function bareRunner(definition: Json, taskStates: Map<string, Json>): () => Promise<unknown> {
  const handlers: Record<string, () => unknown> = {};
  const lambdaStates = [...taskStates].filter(([, s]) => s.Resource === LAMBDA_INVOKE || String(s.Resource).startsWith("arn:aws:lambda:"));
  const success = successHandlers(lambdaStates.map(([name]) => name));
  for (const [name, state] of taskStates) {
    handlers[name] = success[name] ?? (() => ({ Entries: [{ EventId: "bench" }], FailedEntryCount: 0 }));
    // The task output is what the Lambda returned; the invoke integration wraps it in Payload.
    if (success[name] && state.Resource !== LAMBDA_INVOKE) handlers[name] = () => success[name]!().Payload;
  }
  // Made once, as the emulator now makes its machine once per target.
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
  // Task payloads read `$$.Execution.Id` (result keys and events name the execution).
  const context = { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:run" } };
  return () => machine.run({}, { overrides: { taskResourceLocalHandlers: handlers as never }, context: context as never }).result;
}

async function main(): Promise<void> {
  const [mode, assembly, flow, warmup, rounds] = process.argv.slice(2) as [string, string, string, string, string];
  if (mode === "prepare") {
    // Synthesize and bundle in a fresh process, as `flowhooks emulate` does on every start.
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await prepareEmulation({ entry: ENTRY, flow });
    const used = process.cpuUsage(cpu);
    process.stdout.write(`${JSON.stringify({ mode, flow, cpuMs: [(used.user + used.system) / 1000], wallMs: [Number(process.hrtime.bigint() - wall) / 1e6] })}\n`);
    return;
  }
  const target = await prepareEmulation({ entry: ENTRY, flow, assembly });
  const once =
    mode === "bare"
      ? bareRunner(target.prepared.definition, target.prepared.taskStates)
      : async () => {
          const result = await emulate({ target, fastRetries: true, write: () => {} });
          if (result.status !== "SUCCEEDED") throw new Error(`the emulated ${flow} ended ${result.status}`);
        };
  for (let i = 0; i < Number(warmup); i++) await once();
  const cpuMs: number[] = [];
  const wallMs: number[] = [];
  for (let i = 0; i < Number(rounds); i++) {
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await once();
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
    wallMs.push(Number(process.hrtime.bigint() - wall) / 1e6);
  }
  process.stdout.write(`${JSON.stringify({ mode, flow, cpuMs, wallMs })}\n`);
}

await main();
