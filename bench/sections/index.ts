/** The bench sections, in the order they run, each turning its measurements into table rows. */
import { fmt, type Row } from "../table";
import { simulateAlertStorm, type StormResult } from "./alerts";
import { bundleSection } from "./bundles";
import { alertPathCost, type AlertCost } from "./alert-cost";
import { caseCostSection } from "./control-case";
import { loopSection } from "./control-loop";
import { countTransitions, type CostFigure } from "./cost";
import { PRICES } from "../prices";
import { emulationSection } from "./emulate";
import { handlerChainCost, runMemory } from "./runner";
import { runnerSection, scaleSection } from "./runner-rows";
import { synthSection } from "./synth";

export { Pending } from "../pending";

export interface Sizes {
  runnerTasks: number;
  runnerRounds: number;
  /** Workload repeats per timed round in section 1 (short rounds swing ±40% on a shared machine). */
  runnerReps: number;
  /** Flow sizes for the scaling rows. */
  scaleSizes: number[];
  chainTransitions: number;
  initRuns: number;
  synthSizes: number[];
  costSizes: number[];
  /** Chain lengths section 6 emulates (100 carries the goal). */
  emulateSizes: number[];
  emulateRounds: number;
  /** Failing tasks in the alert storm (section 7). */
  alertTasks: number;
  /** Handler concurrencies the storm runs at. */
  alertConcurrencies: number[];
}

export interface SectionOutput {
  rows: Row[];
  data: unknown;
}

export interface Section {
  id: string;
  title: string;
  run(sizes: Sizes): Promise<SectionOutput>;
}

const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

/** Step Functions' limit on a state's input or output, and so on the execution's final output. */
const MAX_PAYLOAD_BYTES = 262_144;

function costRow(f: CostFigure): Row {
  const split = f.childExecutions > 0 ? `, ${fmt.n(f.childTransitions)} of them in ${f.childExecutions} child executions` : ", no split";
  const over = f.finalPayloadBytes > MAX_PAYLOAD_BYTES;
  return {
    section: "5-cost",
    figure: `${fmt.n(f.tasks)}-task ${f.shape}: state transitions per task (success path, as deployed)`,
    value: `${f.transitionsPerTask.toFixed(3)} ($${((f.transitions * PRICES.stateTransition) / f.tasks * 1_000).toFixed(4)} per 1,000 tasks)`,
    baseline: `${fmt.n(f.transitions)} StateEntered / ${fmt.n(f.tasks)} tasks${split}; final output ${fmt.kb(f.finalPayloadBytes)}${over ? " (over 256 KiB: AWS fails the execution)" : ""}`,
    ratio: "",
    goal: "≤ 1.1",
    verdict: over ? "MISSED (payload)" : verdict(f.transitionsPerTask <= 1.1),
  };
}

function alertCostRow(a: AlertCost): Row {
  const per = (v: number) => (v / a.tasks).toFixed(2);
  const usd = (v: number) => `$${(v * 1_000).toFixed(4)}`;
  return {
    section: "5-cost",
    figure: `alerting path per ${a.status === "FAILED" ? "failed" : "succeeded"} task (${a.tasks} independent tasks, Slack webhook), per task`,
    value:
      `${usd(a.alertingUsdPerTask.low)}–${usd(a.alertingUsdPerTask.high)} per 1,000 tasks: ${per(a.customEvents)} PutEvents, ` +
      `${per(a.sqsSends + a.sqsVisibilityChanges)} SQS sends/changes + ${per(2 * a.handlerInvocations.batchesOf10)}–${per(2 * a.handlerInvocations.onePerRecord)} receives/deletes, ` +
      `${per(a.handlerInvocations.batchesOf10)}–${per(a.handlerInvocations.onePerRecord)} handler invocations, ${per(a.dynamoWriteUnits)} DynamoDB WRU, ${per(a.dynamoReadUnits)} RRU`,
    baseline: `workflow ${usd(a.workflowUsdPerTask)} per 1,000 tasks (${per(a.stateTransitions)} transitions, ${per(a.taskInvocations)} task invocations, ${(a.taskGbSeconds / a.tasks).toFixed(4)} GB-s)`,
    ratio: fmt.x(a.alertingUsdPerTask.high / a.workflowUsdPerTask),
    goal: "",
    verdict: "",
  };
}

/** Issue 13's measurements of the handler before grouping (1,000 Failed events + the flow's, same model), by concurrency. */
const STORM_BEFORE: Record<number, string> = {
  5: "4,370 requests, 0 lost, 20.5 min",
  20: "11,820 requests, 0 lost, 49 min",
  50: "21,266 requests, 382 lost, 60.5 min",
  100: "24,902 requests, 642 lost, 60 min",
};

function stormRow(r: StormResult): Row {
  const what = r.mode === "app" ? "Slack app (thread)" : "webhook (digests)";
  return {
    section: "7-alerts",
    figure: `${fmt.n(r.tasks)} failing tasks, concurrency ${r.concurrency}, ${what}`,
    value: `${fmt.n(r.requests)} requests, ${fmt.n(r.messages)} messages${r.updates ? ` + ${r.updates} update${r.updates === 1 ? "" : "s"}` : ""}, ${r.lost} lost, ${r.simulatedSeconds.toFixed(1)} s`,
    baseline: r.tasks === 1000 ? (STORM_BEFORE[r.concurrency] ?? "") : "",
    ratio: "",
    goal: "0 lost, each task named once",
    verdict: verdict(r.lost === 0 && r.duplicated === 0 && r.deliveredOnce === r.tasks && r.timedOut === 0),
  };
}

export const SECTIONS: Section[] = [
  {
    id: "1-runner",
    title: "local runner overhead (each subject in its own process)",
    async run(sizes) {
      return runnerSection(sizes);
    },
  },
  {
    id: "1b-scale",
    title: "local runner: linear from 1k to 100k tasks",
    async run(sizes) {
      return scaleSection(sizes);
    },
  },
  {
    id: "2-chain",
    title: "handler chain and memory",
    async run(sizes) {
      const chain = await handlerChainCost(sizes.chainTransitions, sizes.runnerRounds);
      const memChain = await runMemory("chain", sizes.runnerTasks);
      const memFan = await runMemory("fan-out", sizes.runnerTasks);
      const mem = (m: typeof memChain): Row => ({
        section: "2-chain",
        figure: `heap kept by a ${fmt.n(m.tasks)}-task ${m.shape} run's result`,
        value: `${fmt.kb(m.runBytes)} (${m.bytesPerTask.toFixed(0)} B/task)`,
        baseline: `${fmt.kb(m.bareLoopBytes)} bare loop results`,
        ratio: m.bareLoopBytes > 0 ? fmt.x(m.runBytes / m.bareLoopBytes) : "",
        goal: "",
        verdict: "",
      });
      return {
        rows: [
          {
            section: "2-chain",
            figure: "runStateHandlers, 2 handlers, per transition",
            value: fmt.ns(chain.chainNsPerTransition),
            baseline: `${fmt.ns(chain.directNsPerTransition)} direct calls`,
            ratio: fmt.x(chain.ratio),
            goal: "",
            verdict: "",
          },
          mem(memChain),
          mem(memFan),
        ],
        data: { chain, memory: [memChain, memFan] },
      };
    },
  },
  {
    id: "3-lambda",
    title: "Lambda bundles and init (cold-start proxy)",
    async run(sizes) {
      const r = bundleSection(sizes.initRuns);
      const by = (n: string) => r.figures.find((f) => f.name === n);
      const empty = by("empty")!;
      const rows: Row[] = [];
      const add = (figure: string, value: string, baseline: string, ratio: string, goal: string, ok?: boolean) =>
        rows.push({ section: "3-lambda", figure, value, baseline, ratio, goal, verdict: ok === undefined ? "" : verdict(ok) });
      const user = by("userOnly")!;
      const task = by("task");
      const handler = by("handler");
      if (task && r.taskRuntimeOverheadBytes !== undefined) {
        add("task runtime size over user code", fmt.kb(r.taskRuntimeOverheadBytes), `${fmt.kb(user.bytes)} user code + core`, fmt.x(task.bytes / user.bytes), "< 20 KB", r.taskRuntimeOverheadBytes < 20 * 1024);
      }
      if (handler) add("handler Lambda bundle size", fmt.kb(handler.bytes), `${fmt.kb(user.bytes)} user code + core`, fmt.x(handler.bytes / user.bytes), "< 300 KB", handler.bytes < 300 * 1024);
      for (const f of r.figures) {
        if (f.name === "empty") continue;
        const isGoal = f.name === "task" || f.name === "handler";
        add(`init ${f.name} bundle (${fmt.kb(f.bytes)}), median of ${sizes.initRuns}`, fmt.ms(f.initMs), `${fmt.ms(empty.initMs)} empty handler`, fmt.x(f.initMs / empty.initMs), isGoal ? "< 60 ms" : "", isGoal ? f.initMs < 60 : undefined);
      }
      for (const p of r.pending) rows.push({ section: "3-lambda", figure: `${p.split(":")[0]} bundle`, value: "", baseline: "", ratio: "", goal: "", verdict: `pending: ${p}` });
      return { rows, data: r };
    },
  },
  {
    id: "4-synth",
    title: "CDK synthesis",
    async run(sizes) {
      return synthSection(sizes.synthSizes);
    },
  },
  {
    id: "5-cost",
    title: "what a run costs: state transitions through the split, the alerting path per task",
    async run(sizes) {
      const figures: CostFigure[] = [];
      for (const shape of ["chain", "fan-out"] as const) {
        for (const n of sizes.costSizes) figures.push(await countTransitions(shape, n));
      }
      const alerting: AlertCost[] = [await alertPathCost("bench-alerts-ok"), await alertPathCost("bench-alerts-failed")];
      return { rows: [...figures.map(costRow), ...alerting.map(alertCostRow)], data: { prices: PRICES, transitions: figures, alerting } };
    },
  },
  {
    id: "5b-case",
    title: "state transitions per case block deployed (caseOf / ifElse)",
    async run() {
      return caseCostSection([10, 100]);
    },
  },
  {
    id: "6-emulate",
    title: "emulator vs aws-local-stepfunctions",
    async run(sizes) {
      return emulationSection(sizes.emulateSizes, sizes.emulateRounds);
    },
  },
  {
    id: "7-alerts",
    title: "alert storm against a rate-limited Slack (simulated clock)",
    async run(sizes) {
      const results: StormResult[] = [];
      for (const mode of ["webhook", "app"] as const) {
        for (const concurrency of sizes.alertConcurrencies) results.push(await simulateAlertStorm({ tasks: sizes.alertTasks, concurrency, mode }));
      }
      return { rows: results.map(stormRow), data: results };
    },
  },
  {
    id: "8-loop",
    title: "signals.LOOP deployed: state transitions per iteration",
    async run() {
      return loopSection([3, 100]);
    },
  },
];
