/**
 * A bundle's code compiled once per process, run once per container as that container's module.
 *
 * Each emulated function is its own container with its own module state, as deployed. Importing the
 * bundle once per function (`index.mjs?fn=…`) gives that, but also gives V8 one copy of every
 * function per container: each copy warms up alone, and with a hundred task functions most never
 * leave the interpreter. Here the bundle is compiled once, as a function whose body is the module's
 * body, and each container calls it: every container still gets its own module scope (its own
 * variables, clients, caches, the exports it hands Lambda), while the compiled code and what V8
 * learns running it are shared, as in one warm Lambda container serving many invocations.
 *
 * The body is esbuild's IIFE form of the bundle (esbuild made the bundle), in strict mode as the
 * module is, with `import.meta` the bundle file's, `import()` (the AWS SDK clients) resolved from
 * the bundle's folder by Node's own loader, and no CommonJS names (`module`, `exports`, `__dirname`
 * are as undefined as in the module). A bundle whose meaning that form could change is imported as a
 * module per container instead: top-level await, `import.meta.resolve`, or a static import of a
 * package (an `externalModules` / `nodeModules` entry, which ESM resolves with the "import" condition).
 *
 * The flowhooks runtime is a chunk of its own beside `index.mjs` (lib/cdk/bundle.ts), which
 * `index.mjs` imports: it is imported as a module, once per process, and every container's
 * `index.mjs` gets that one instance — as every container's `import` of it would (ESM loads a file
 * once). So the runtime's classes are the same in every container and the code shared by all of them
 * sees one shape per class, not a hundred (with a class copy per container, each property access in
 * the shared code went megamorphic: BENCHMARKS.md section 6, fourth pass);
 * only the flow's own module (the user's code and what only it imports) is per container.
 */
import { transformSync } from "esbuild";
import { readFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

/** The module's body: given `require` for its builtin imports and its `import.meta`, it returns its exports. */
type ModuleBody = (require: NodeJS.Require, meta: object) => Record<string, unknown>;

/** The stand-in for `import.meta` inside the body (esbuild `define`): a name no bundle declares. */
const META = "__flowhooks_import_meta";
/** The variable esbuild's IIFE form assigns the module's exports to. */
const EXPORTS = "__flowhooks_exports";

/** Each bundle file's body, or `undefined` when it is imported as a module instead. */
const bodies = new Map<string, ModuleBody | undefined>();
/** Whether the loader's notice filter is in place (once per process, whichever bundle is compiled first). */
let quieted = false;

/**
 * Node says once per process, on stderr, that `USE_MAIN_CONTEXT_DEFAULT_LOADER` (Node's own loader
 * for `import()` in compiled code) is experimental. That line would land in the user's emulation
 * output as if their code had caused it: it alone is left out, and the filter then removes itself.
 */
function quietLoaderNotice(): void {
  const emit = process.emitWarning;
  const filter = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (String(warning).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) {
      if (process.emitWarning === filter) process.emitWarning = emit;
      return;
    }
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  process.emitWarning = filter;
}

/** A chunk of the bundle itself (`./runtime-<hash>.mjs`), as the IIFE form writes its import. */
const CHUNK = /^\.\/[\w.-]+\.mjs$/;

/**
 * What the IIFE form's static imports (`require("…")`) name: whether one is a package (not a
 * builtin, not one of the bundle's own chunks), and the chunks.
 */
function staticImports(code: string): { packages: boolean; chunks: string[] } {
  let packages = false;
  const chunks = new Set<string>();
  for (const [, specifier] of code.matchAll(/\brequire\("([^"]+)"\)/g)) {
    if (CHUNK.test(specifier!)) chunks.add(specifier!);
    else if (!isBuiltin(specifier!)) packages = true;
  }
  return { packages, chunks: [...chunks] };
}

/** The bundle's own chunks each compiled bundle imports, by specifier. */
const chunksOf = new Map<string, string[]>();

/** The bundle at `file` compiled once, or `undefined` when its meaning needs it imported as a module. */
function moduleBody(file: string): ModuleBody | undefined {
  if (bodies.has(file)) return bodies.get(file);
  let body: ModuleBody | undefined;
  const source = readFileSync(file, "utf8");
  if (!source.includes("import.meta.resolve")) {
    let code: string | undefined;
    try {
      code = transformSync(source, { format: "iife", globalName: EXPORTS, loader: "js", platform: "node", define: { "import.meta": META }, logLevel: "silent", sourcefile: file }).code;
    } catch {
      // Top-level await has no IIFE form.
    }
    const imports = code === undefined ? undefined : staticImports(code);
    if (code !== undefined && imports && !imports.packages) {
      chunksOf.set(file, imports.chunks);
      if (!quieted) {
        quieted = true;
        quietLoaderNotice();
      }
      try {
        body = vm.compileFunction(`"use strict";${code}\nreturn ${EXPORTS};`, ["require", META], {
          filename: file,
          importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER as unknown as vm.CompileFunctionOptions["importModuleDynamically"],
        }) as ModuleBody;
      } catch {
        // Code strict mode refuses inside a function body: importing it as a module reports the error as Lambda would.
      }
    }
  }
  bodies.set(file, body);
  return body;
}

/**
 * A new instance of the bundle at `file`: its module body run once, as a container's init phase
 * (call it inside the container), and the exports it made; the bundle's chunks are imported first,
 * once per process (ESM's own cache), and shared. `undefined` when the bundle must be imported as a
 * module of its own instead.
 */
export async function instantiateBundle(file: string): Promise<Record<string, unknown> | undefined> {
  const body = moduleBody(file);
  if (!body) return undefined;
  // Imported, not left to `require` (Node 22 loads ESM through require() only with a warning): the
  // same module instance either way, ESM's cache is the process's.
  const chunks = new Map<string, unknown>();
  for (const specifier of chunksOf.get(file) ?? []) chunks.set(specifier, await import(pathToFileURL(join(dirname(file), specifier)).href));
  const own = createRequire(file);
  const require = ((specifier: string) => (chunks.has(specifier) ? chunks.get(specifier) : own(specifier))) as NodeJS.Require;
  return body.call(undefined, require, { url: pathToFileURL(file).href, filename: file, dirname: dirname(file) });
}
