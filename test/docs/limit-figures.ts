/**
 * The definition sizes docs/limits.md quotes, computed from real synthesized `FlowStateMachine`s
 * (stubbed bundling, alerts with a new topic, as the doc says). `npx tsx test/docs/limit-figures.ts`
 * writes them into the doc between `<!-- figure:NAME -->` and `<!-- /figure -->`;
 * test/docs/limit-figures.test.ts fails when the doc and the code disagree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Flow } from "../../lib/index";
import { chainFlow, flowStack, layeredFlow } from "../helpers/cdk";

export const DOC = fileURLToPath(new URL("../../docs/limits.md", import.meta.url));

/** Characters of each state machine's definition (the main one first, then its parts), as compiled for deployment. */
function machineChars(flow: Flow): number[] {
  const { construct } = flowStack(flow, { alerts: { topic: true } });
  return [construct.compiled.definition, ...construct.compiled.parts.map((p) => p.definition)].map((d) => JSON.stringify(d).length);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Each figure by the name its marker carries, as the doc prints it. */
export function limitFigures(): Record<string, string> {
  const n = (x: number) => x.toLocaleString("en-US");
  const layered = (tasks: number, width: number) => machineChars(layeredFlow(tasks, width));
  const wide1000 = layered(1000, 20);
  const chain1000 = machineChars(chainFlow(1000));
  const perTask = (sum(layered(200, 20)) - sum(layered(100, 20))) / 100;
  return {
    "per-task-chars": n(Math.round(perTask / 10) * 10),
    "layered-1000-chars": n(sum(wide1000)),
    "layered-1000-machines": n(wide1000.length),
    "chain-1000-chars": n(sum(chain1000)),
    "chain-1000-parts": n(chain1000.length - 1),
    "layered-10-chars": n(sum(layered(10, 10))),
    "layered-100-chars": n(sum(layered(100, 10))),
  };
}

const MARKER = /<!-- figure:([a-z0-9-]+) -->([^<]*)<!-- \/figure -->/g;

/** The doc's figures by name, as written. */
export function figuresIn(markdown: string): Record<string, string> {
  return Object.fromEntries([...markdown.matchAll(MARKER)].map((m) => [m[1]!, m[2]!]));
}

/** The doc with every figure replaced by its computed value. */
export function renderFigures(markdown: string, figures: Record<string, string>): string {
  return markdown.replace(MARKER, (whole, name: string) => (name in figures ? `<!-- figure:${name} -->${figures[name]}<!-- /figure -->` : whole));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DOC, renderFigures(readFileSync(DOC, "utf8"), limitFigures()));
  console.log(`wrote the limit figures into ${DOC}`);
}
