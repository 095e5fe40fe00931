/**
 * Every ```ts block in README.md and docs/*.md type-checks against the real package, so the docs
 * cannot drift from the API. Blocks compile as they would in an app made by `cdk init app
 * --language typescript` (CommonJS: no top-level `await`; strict, noImplicitReturns), with
 * `flowhooks` → lib/index.ts and `flowhooks/cdk` → lib/cdk/index.ts. A block that needs an ES
 * module says so in its fence (```ts esm: compiled as module ESNext); a block fenced
 * ```ts nocompile is skipped (for fragments that cannot stand alone). Blocks are written under
 * .flowhooks/doc-blocks/ (gitignored).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { extractBlocks, type Block } from "./blocks";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = join(root, ".flowhooks", "doc-blocks");

/**
 * Where a block is written: a block whose first line names its file (`// flows/orders.ts`) sits at
 * that path in its document's app folder, so the document's blocks import each other as an app's
 * files do (`import { flow } from "../flows/orders"`); any other block is a file of its own.
 */
function blockPaths(list: readonly Block[]): Map<Block, string> {
  const out = new Map<Block, string>();
  const taken = new Set<string>();
  for (const b of list) {
    const folder = join(outDir, b.module, b.doc.replace(/[^A-Za-z0-9]+/g, "-"));
    const named = /^\/\/ ((?:[\w.-]+\/)*[\w.-]+\.(?:ts|mts|cts))\b/.exec(b.code)?.[1];
    const file = named && !taken.has(join(folder, named)) ? join(folder, named) : join(folder, `block-${b.index}.ts`);
    taken.add(file);
    out.set(b, file);
  }
  return out;
}

const docs = [
  ...(readdirSync(root).includes("README.md") ? ["README.md"] : []),
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
const blocks = docs.flatMap((doc) => extractBlocks(doc, readFileSync(join(root, doc), "utf8")));
// ESM blocks sit under a folder whose package.json says "type": "module"; CommonJS ones under one that says "commonjs".
const paths = blockPaths(blocks);
const fileOf = (b: Block) => paths.get(b)!;

/** What `cdk init app --language typescript` puts in tsconfig.json (module CommonJS for its NodeNext in a package without "type"). */
const CDK_INIT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2022.d.ts"],
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  // NodeNext (what cdk init sets) implies it; `import fs from "node:fs"` works there.
  esModuleInterop: true,
  strict: true,
  noImplicitAny: true,
  strictNullChecks: true,
  noImplicitThis: true,
  alwaysStrict: true,
  noImplicitReturns: true,
  experimentalDecorators: true,
  strictPropertyInitialization: false,
  skipLibCheck: true,
  isolatedModules: true,
  resolveJsonModule: true,
  types: ["node"],
  noEmit: true,
};

let problems = new Map<string, string[]>();

function compile(files: string[], options: ts.CompilerOptions): readonly ts.Diagnostic[] {
  return ts.getPreEmitDiagnostics(ts.createProgram(files, options));
}

beforeAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  const byFile = new Map<string, Block>();
  for (const b of blocks) {
    const file = fileOf(b);
    mkdirSync(dirname(file), { recursive: true });
    // `export {}` makes each block its own module, so blocks may reuse names.
    writeFileSync(file, `${b.code}\nexport {};\n`);
    byFile.set(file, b);
  }
  for (const module of ["commonjs", "esm"] as const) {
    mkdirSync(join(outDir, module), { recursive: true });
    writeFileSync(join(outDir, module, "package.json"), `${JSON.stringify({ type: module === "esm" ? "module" : "commonjs" })}\n`);
  }
  const packagePaths = {
    flowhooks: [join(root, "lib", "index.ts")],
    "flowhooks/cdk": [join(root, "lib", "cdk", "index.ts")],
  };
  const repoConfig = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  })!;
  const filesOf = (module: Block["module"]) => [...byFile].filter(([, b]) => b.module === module).map(([f]) => f);
  const diagnostics = [
    ...compile(filesOf("commonjs"), { ...CDK_INIT_OPTIONS, paths: packagePaths }),
    ...compile(filesOf("esm"), { ...repoConfig.options, noEmit: true, paths: packagePaths }),
  ];
  problems = new Map(docs.map((d) => [d, []]));
  for (const d of diagnostics) {
    const block = d.file ? byFile.get(d.file.fileName) : undefined;
    if (d.file && !block) continue; // errors inside lib/ are reported by `tsc -p .`, not here
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!block) {
      problems.get(docs[0]!)!.push(`compiler: TS${d.code} ${text}`);
      continue;
    }
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    problems
      .get(block.doc)!
      .push(`${block.doc} block ${block.index} (line ${block.line + line}, ${block.module}, ${relative(root, d.file!.fileName)}): TS${d.code} ${text}`);
  }
}, 180_000);

describe("TypeScript code blocks in the docs compile", () => {
  for (const doc of docs) {
    const count = blocks.filter((b) => b.doc === doc).length;
    it(`${doc} (${count} block${count === 1 ? "" : "s"})`, () => {
      expect(problems.get(doc)).toEqual([]);
    });
  }
});

describe("the CommonJS setting", () => {
  it("refuses top-level await as a cdk init app's tsc does (TS1378), where an `esm` block may use it", () => {
    const dir = join(outDir, "self-check");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "tla.ts");
    writeFileSync(file, "await Promise.resolve(1);\nexport {};\n");
    expect(compile([file], CDK_INIT_OPTIONS).map((d) => d.code)).toContain(1378);
    expect(compile([file], { ...CDK_INIT_OPTIONS, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler })).toEqual([]);
  });
});

describe("block extraction", () => {
  it("finds ts blocks with their numbers, lines and module system, and skips ones marked nocompile", () => {
    const md = ["# t", "```ts", "const a = 1;", "```", "```sh", "ls", "```", "```ts nocompile", "broken(", "```", "```typescript esm", "let b = 2;", "```"].join("\n");
    expect(extractBlocks("x.md", md)).toEqual([
      { doc: "x.md", index: 1, line: 3, code: "const a = 1;", module: "commonjs" },
      { doc: "x.md", index: 3, line: 12, code: "let b = 2;", module: "esm" },
    ]);
  });
});
