/**
 * Section 6: a flow through `flowhooks emulate`'s engine (bundled task Lambdas in-process, events
 * routed to the handler Lambda's code) against the same deployed ASL run bare in
 * aws-local-stepfunctions with no-op tasks: what the emulator's fidelity costs per run.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { StateMachine } from "aws-local-stepfunctions";
import { median } from "../measure";
import { Pending } from "../pending";
import { fmt } from "../table";
import { successHandlers } from "./cost";
import type { SectionOutput } from "./index";

const EMULATE_INDEX = fileURLToPath(new URL("../../lib/emulate/index.ts", import.meta.url));
const ENTRY = fileURLToPath(new URL("../fixtures/emulate-flow.ts", import.meta.url));
const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";

type Json = Record<string, any>;
interface EmulateModule {
  prepareEmulation(options: { entry: string; flow?: string }): Promise<{ prepared: { definition: Json; taskStates: Map<string, Json> } }>;
  emulate(options: { target: unknown; fastRetries?: boolean; write?: (text: string) => void }): Promise<{ status: string; statesEntered: string[] }>;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The prepared definition with every Task state answered at once: a Lambda with a successful task's output, PutEvents with success. */
async function runBare(definition: Json, taskStates: Map<string, Json>): Promise<number> {
  const handlers: Record<string, () => unknown> = {};
  const lambdaStates = [...taskStates].filter(([, s]) => s.Resource === LAMBDA_INVOKE || String(s.Resource).startsWith("arn:aws:lambda:"));
  const success = successHandlers(lambdaStates.map(([name]) => name));
  for (const [name, state] of taskStates) {
    handlers[name] = success[name] ?? (() => ({ Entries: [{ EventId: "bench" }], FailedEntryCount: 0 }));
    // The task output is what the Lambda returned; the invoke integration wraps it in Payload.
    if (success[name] && state.Resource !== LAMBDA_INVOKE) handlers[name] = () => success[name]!().Payload;
  }
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
  const start = process.hrtime.bigint();
  const execution = machine.run({}, {
    overrides: { taskResourceLocalHandlers: handlers as never },
    context: { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:bench:run" } } as never,
  });
  await execution.result;
  return ms(start);
}

export async function emulationSection(tasks: number, rounds = 5): Promise<SectionOutput> {
  if (!existsSync(EMULATE_INDEX)) throw new Pending("lib/emulate (the emulator behind `flowhooks emulate`) does not exist yet");
  const { prepareEmulation, emulate } = (await import(EMULATE_INDEX)) as EmulateModule;
  const flowName = tasks >= 100 ? "bench-emulate-100" : "bench-emulate-10";
  const n = tasks >= 100 ? 100 : 10;

  let start = process.hrtime.bigint();
  const target = await prepareEmulation({ entry: ENTRY, flow: flowName });
  const prepareMs = ms(start);
  const { definition, taskStates } = target.prepared;

  const emulated: number[] = [];
  const bare: number[] = [];
  let statesEntered = 0;
  // The first round of each warms module loading and Lambda containers; it is not counted.
  for (let i = 0; i <= rounds; i++) {
    start = process.hrtime.bigint();
    const result = await emulate({ target, fastRetries: true, write: () => {} });
    const emulateMs = ms(start);
    if (result.status !== "SUCCEEDED") throw new Error(`the emulated ${flowName} ended ${result.status}`);
    statesEntered = result.statesEntered.length;
    const bareMs = await runBare(definition, taskStates);
    if (i > 0) {
      emulated.push(emulateMs);
      bare.push(bareMs);
    }
  }
  const emulateMs = median(emulated);
  const bareMs = median(bare);
  return {
    rows: [
      {
        section: "6-emulate",
        figure: `${n}-task chain through the emulator, median of ${rounds}`,
        value: fmt.ms(emulateMs),
        baseline: `${fmt.ms(bareMs)} same ASL, no-op tasks`,
        ratio: fmt.x(emulateMs / bareMs),
        goal: "",
        verdict: "",
      },
      {
        section: "6-emulate",
        figure: `${n}-task chain: synthesize + bundle for the emulator (once)`,
        value: fmt.ms(prepareMs),
        baseline: "",
        ratio: "",
        goal: "",
        verdict: "",
      },
    ],
    data: { tasks: n, rounds, emulateMs, bareMs, prepareMs, statesEntered, emulateRuns: emulated, bareRuns: bare },
  };
}
