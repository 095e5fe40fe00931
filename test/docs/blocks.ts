/** The ```ts blocks of a markdown document, for test/docs/code-blocks.test.ts and the tests that run docs' samples. */

export interface Block {
  doc: string;
  /** 1-based number of the ```ts block in its document. */
  index: number;
  /** 1-based line of the block's first code line in the document. */
  line: number;
  code: string;
  /** The module system the block is compiled for: CommonJS unless its fence says `esm`. */
  module: "commonjs" | "esm";
}

/** ```ts / ```typescript fenced blocks, in order, without the ones marked `nocompile`; `esm` marks ES module blocks. */
export function extractBlocks(doc: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  let index = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const end = lines.findIndex((l, j) => j > i && l.trim() === fence);
    const stop = end === -1 ? lines.length : end;
    index++;
    if (!/\bnocompile\b/.test(open[4]!)) {
      blocks.push({ doc, index, line: i + 2, code: lines.slice(i + 1, stop).join("\n"), module: /\besm\b/.test(open[4]!) ? "esm" : "commonjs" });
    }
    i = stop;
  }
  return blocks;
}
