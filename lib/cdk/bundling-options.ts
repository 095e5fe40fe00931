/**
 * The `bundling` prop of `FlowStateMachine`, with `NodejsFunction`'s meanings, turned into esbuild
 * options for the flow's one asset, and `nodeModules` installed beside the bundle without Docker.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { BuildOptions } from "esbuild";
import { FlowDefinitionError } from "../core/errors";

/** How the flow's code is bundled (one asset for every task function and the handler Lambda). */
export interface FlowBundlingOptions {
  /**
   * Modules left out of the bundle, expected in the Lambda environment (the runtime's AWS SDK, or a layer).
   * Replaces the default list.
   * @default ["@aws-sdk/*"] - the AWS SDK v3 the Node.js runtime ships
   */
  readonly externalModules?: string[];
  /**
   * Modules installed with npm into the asset's `node_modules` instead of bundled, at the version
   * of your package-lock.json (else the range in your package.json). flowhooks installs them on this
   * machine, without Docker, so only pure-JavaScript packages fit: a package with native code
   * (`binding.gyp`, `.node` files, per-platform builds) is refused; ship those in a layer built for
   * the functions' architecture on Amazon Linux.
   * @default - none: everything imported is bundled
   */
  readonly nodeModules?: string[];
  /** Minify the bundle (names of classes and functions are kept either way). @default true */
  readonly minify?: boolean;
  /**
   * Write a source map beside the bundle and turn on Node's `--enable-source-maps` in the functions
   * (through NODE_OPTIONS), so stack traces point at your sources.
   * @default false
   */
  readonly sourceMap?: boolean;
  /** Identifiers replaced by constant expressions at bundle time (values are code: `JSON.stringify("text")`). @default - none */
  readonly define?: Record<string, string>;
  /** Code put at the top of the bundle. @default - none */
  readonly banner?: string;
}

/** Checks `bundling` before anything is bundled. */
export function validateBundlingOptions(owner: string, bundling: FlowBundlingOptions | undefined): void {
  if (bundling === undefined) return;
  const list = (name: "externalModules" | "nodeModules") => {
    const value = bundling[name];
    if (value !== undefined && (!Array.isArray(value) || value.some((m) => typeof m !== "string" || m === ""))) {
      throw new FlowDefinitionError(`${owner}: \`bundling.${name}\` must be a list of module names (e.g. ["pg"]).`);
    }
  };
  list("externalModules");
  list("nodeModules");
  for (const name of bundling.nodeModules ?? []) {
    if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) {
      throw new FlowDefinitionError(`${owner}: \`bundling.nodeModules\` lists \`${name}\`; give package names without versions (the version comes from your package-lock.json).`);
    }
  }
  for (const [key, value] of Object.entries(bundling.define ?? {})) {
    if (typeof value !== "string") {
      throw new FlowDefinitionError(`${owner}: \`bundling.define.${key}\` is ${typeof value}; define values are code as a string, e.g. JSON.stringify("text").`);
    }
  }
  if (bundling.banner !== undefined && typeof bundling.banner !== "string") {
    throw new FlowDefinitionError(`${owner}: \`bundling.banner\` must be a string of code.`);
  }
}

/** esbuild settings `bundling` decides; `requireShim` is flowhooks' own banner, kept after the user's. */
export function esbuildOptions(bundling: FlowBundlingOptions | undefined, requireShim: string): Pick<BuildOptions, "external" | "minify" | "sourcemap" | "define" | "banner"> {
  const b = bundling ?? {};
  return {
    external: [...(b.externalModules ?? ["@aws-sdk/*"]), ...(b.nodeModules ?? [])],
    minify: b.minify ?? true,
    sourcemap: b.sourceMap ? true : false,
    ...(b.define ? { define: b.define } : {}),
    banner: { js: b.banner ? `${b.banner}\n${requireShim}` : requireShim },
  };
}

/** NODE_OPTIONS with `--enable-source-maps` when the bundle has a source map (as NodejsFunction sets it). */
export function sourceMapEnvironment(bundling: FlowBundlingOptions | undefined, environment: Record<string, string> | undefined): Record<string, string> {
  if (!bundling?.sourceMap) return {};
  const current = environment?.NODE_OPTIONS;
  if (current?.includes("--enable-source-maps")) return {};
  return { NODE_OPTIONS: current ? `${current} --enable-source-maps` : "--enable-source-maps" };
}

/** Raised when `nodeModules` cannot be installed; the message says what to change. */
export class NodeModulesError extends FlowDefinitionError {}

/**
 * Installs `modules` into `<outDir>/node_modules` with npm, at the versions the app around `entry`
 * pins (its package-lock.json, else its package.json), and refuses native packages.
 */
export function installNodeModules(outDir: string, entry: string, modules: readonly string[]): void {
  if (modules.length === 0) return;
  const app = findPackageJson(dirname(resolve(entry)));
  if (!app) {
    throw new NodeModulesError(`bundling.nodeModules lists ${modules.join(", ")}, but no package.json was found above ${entry}; add the packages to your app's package.json.`);
  }
  const versions = pinnedVersions(app, modules);
  const manifest = `${JSON.stringify({ name: "flowhooks-bundle", private: true, type: "module", dependencies: versions }, null, 2)}\n`;
  const manifestPath = join(outDir, "package.json");
  // The same bundle folder, synthesized again with the same versions, is installed already.
  const installed = existsSync(manifestPath) && readFileSync(manifestPath, "utf8") === manifest && existsSync(join(outDir, "node_modules"));
  if (!installed) npmInstall(outDir, versions, manifest);
  const native = nativePackages(join(outDir, "node_modules"));
  if (native.length > 0) {
    throw new NodeModulesError(
      `bundling.nodeModules installs native code (${native.join(", ")}). flowhooks installs nodeModules on this machine without Docker, ` +
        "so native code would be built for this machine, not for Lambda's Amazon Linux; put the package in a Lambda layer built for the functions' architecture " +
        "(taskDefaults.layers) and list it in bundling.externalModules, or use a pure-JavaScript package.",
    );
  }
}

function npmInstall(outDir: string, versions: Record<string, string>, manifest: string): void {
  writeFileSync(join(outDir, "package.json"), manifest);
  try {
    execFileSync(
      "npm",
      ["install", "--omit=dev", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error"],
      { cwd: outDir, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", shell: process.platform === "win32" },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n").slice(-3).join(" ");
    throw new NodeModulesError(`Installing bundling.nodeModules (${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(", ")}) with npm failed: ${stderr || String(error)}`, { cause: error });
  }
}

function findPackageJson(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, "package.json");
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

/** The lock file's exact version of each module, else the package.json range. */
function pinnedVersions(packageJsonPath: string, modules: readonly string[]): Record<string, string> {
  const pkg = JSON.parse(readFileSync(packageJsonPath, "utf8")) as Record<string, Record<string, string> | undefined>;
  const lockPath = join(dirname(packageJsonPath), "package-lock.json");
  const lock = existsSync(lockPath) ? (JSON.parse(readFileSync(lockPath, "utf8")) as { packages?: Record<string, { version?: string }> }) : undefined;
  const ranges = { ...pkg.optionalDependencies, ...pkg.peerDependencies, ...pkg.devDependencies, ...pkg.dependencies };
  const versions: Record<string, string> = {};
  for (const name of modules) {
    const version = lock?.packages?.[`node_modules/${name}`]?.version ?? ranges[name];
    if (!version) {
      throw new NodeModulesError(`bundling.nodeModules lists \`${name}\`, which ${packageJsonPath} does not depend on; \`npm install ${name}\` first, so its version is pinned.`);
    }
    versions[name] = version;
  }
  return versions;
}

/** Installed packages with native code or per-platform builds. */
export function nativePackages(nodeModules: string): string[] {
  const found: string[] = [];
  const visit = (dir: string, name: string) => {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { gypfile?: boolean; os?: unknown; cpu?: unknown };
    if (pkg.gypfile || pkg.os || pkg.cpu || existsSync(join(dir, "binding.gyp")) || hasNodeFile(dir, 4)) found.push(name);
  };
  if (!existsSync(nodeModules)) return found;
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith(".")) continue;
    const path = join(nodeModules, entry);
    if (entry.startsWith("@")) for (const sub of readdirSync(path)) visit(join(path, sub), `${entry}/${sub}`);
    else if (existsSync(join(path, "package.json"))) visit(path, entry);
  }
  return found;
}

function hasNodeFile(dir: string, depth: number): boolean {
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules") continue;
    const path = join(dir, entry);
    if (entry.endsWith(".node")) return true;
    if (depth > 0 && statSync(path).isDirectory() && hasNodeFile(path, depth - 1)) return true;
  }
  return false;
}
