/** The bench sections, in the order they run, each turning its measurements into table rows. */
import { fmt, type Row } from "../table";
import { simulateAlertStorm, type StormResult } from "./alerts";
import { bundleSection } from "./bundles";
import { countTransitions } from "./cost";
import { loopSection } from "./control-loop";
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
    title: "state transitions per task (success path)",
    async run(sizes) {
      const figures = [];
      for (const shape of ["chain", "fan-out", "diamond"] as const) {
        for (const n of sizes.costSizes) figures.push(await countTransitions(shape, n));
      }
      return {
        rows: figures.map((f) => ({
          section: "5-cost",
          figure: `${fmt.n(f.tasks)}-task ${f.shape}: transitions per task`,
          value: f.transitionsPerTask.toFixed(3),
          baseline: `${fmt.n(f.transitions)} StateEntered / ${fmt.n(f.tasks)} tasks`,
          ratio: "",
          goal: "≤ 1.1",
          verdict: verdict(f.transitionsPerTask <= 1.1),
        })),
        data: figures,
      };
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
