/**
 * `flowhooks graph`'s case blocks: each `caseOf(cond, value, …)` is a box (a Mermaid subgraph, a
 * Graphviz cluster) labelled `case <cond> = <value>` around the tasks called in it, nested as the
 * blocks were. The condition's edges into the block stay the dashed ordering edges they are.
 */
import type { FlowNode } from "../core/flow";
import type { Task } from "../core/task";

export interface CaseBlock {
  id: string;
  /** `case isBig = true` */
  label: string;
  /** Ids of the tasks whose innermost block this is. */
  tasks: string[];
  /** Blocks directly inside this one. */
  blocks: CaseBlock[];
}

/** The case blocks of `nodes`, outermost first (those inside another are in its `blocks`). */
export function caseBlocks(nodes: readonly FlowNode[], ids: ReadonlyMap<Task<any, any>, string>): CaseBlock[] {
  const byBlock = new Map<number, CaseBlock>();
  const top: CaseBlock[] = [];
  for (const node of nodes) {
    const guards = node.cases ?? [];
    guards.forEach((guard, depth) => {
      let block = byBlock.get(guard.block);
      if (!block) {
        block = { id: `c${byBlock.size}`, label: `case ${guard.condition.name} = ${describe(guard.value)}`, tasks: [], blocks: [] };
        byBlock.set(guard.block, block);
        (depth === 0 ? top : byBlock.get(guards[depth - 1]!.block)!.blocks).push(block);
      }
      if (depth === guards.length - 1) block.tasks.push(ids.get(node.task)!);
    });
  }
  return top;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Mermaid `subgraph` lines placing already declared task nodes in their blocks. */
export function mermaidCaseLines(blocks: readonly CaseBlock[], label: (parts: string[]) => string, indent = "  "): string[] {
  return blocks.flatMap((b) => [
    `${indent}subgraph ${b.id}[${label([b.label])}]`,
    ...b.tasks.map((t) => `${indent}  ${t}`),
    ...mermaidCaseLines(b.blocks, label, `${indent}  `),
    `${indent}end`,
  ]);
}

/** Graphviz `cluster` subgraphs (dashed boxes) placing already declared task nodes in their blocks. */
export function dotCaseLines(blocks: readonly CaseBlock[], quote: (text: string) => string, indent = "  "): string[] {
  return blocks.flatMap((b) => [
    `${indent}subgraph cluster_${b.id} {`,
    `${indent}  label=${quote(b.label)}; style=dashed;`,
    ...b.tasks.map((t) => `${indent}  ${t};`),
    ...dotCaseLines(b.blocks, quote, `${indent}  `),
    `${indent}}`,
  ]);
}
