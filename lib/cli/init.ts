/**
 * `flowhooks init [DIR]`: scaffolds a new CDK app in the cdk-init layout (bin/, lib/, flows/, test/,
 * cdk.json) as an ESM TypeScript app run with tsx and tested with vitest, with an example flow, its
 * stack and a test of its state handler. The files are the package's `templates/init/` folder, as
 * they are (readable and type-checked), plus a package.json written here with the versions this
 * flowhooks release was built and tested with.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { PACKAGE_ROOT } from "../package";
import { UsageError } from "./errors";

export interface InitOptions {
  /** The folder to create the app in (new, or empty). @default "." (the current folder) */
  dir?: string;
  /** What DIR is relative to. @default process.cwd() */
  cwd?: string;
  /**
   * The `flowhooks` dependency of the new app: a semver range, a tarball's or folder's path
   * (relative paths are resolved against `cwd`), or any other spec npm takes (a git URL).
   * @default "^<this package's version>"
   */
  packageSpec?: string;
}

export interface InitResult {
  /** The app's folder, absolute. */
  dir: string;
  /** The files written, relative to `dir`, sorted. */
  files: string[];
  /** The app's package.json name. */
  name: string;
}

type PackageJson = {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

/** Templates are stored under names npm keeps: npm drops `.gitignore` from packages. */
const RENAMED: Record<string, string> = { gitignore: ".gitignore" };

/** Ranges used when flowhooks' own package.json does not name a package (each tried together with this release). */
const FALLBACK_RANGES: Record<string, string> = {
  "aws-cdk-lib": "^2.276.0",
  constructs: "^10.8.1",
  "aws-cdk": "^2.1148.1",
  typescript: "^5.9.3",
  tsx: "^4.23.15",
  vitest: "^5.1.1",
  "@types/node": "^22.19.0",
};

/** An npm package name from a folder name: `My App` → `my-app`. */
export function appPackageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|-+$/g, "");
  return name === "" ? "flowhooks-app" : name.slice(0, 214);
}

/** The new app's package.json. */
export function appPackageJson(name: string, own: PackageJson, packageSpec?: string): Record<string, unknown> {
  const range = (pkg: string) => own.peerDependencies?.[pkg] ?? own.dependencies?.[pkg] ?? own.devDependencies?.[pkg] ?? FALLBACK_RANGES[pkg]!;
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      test: "tsc && vitest run",
      typecheck: "tsc",
      synth: "cdk synth",
      deploy: "cdk deploy",
      flow: "flowhooks run flows/orders.ts",
      emulate: "flowhooks emulate --fast-retries",
    },
    dependencies: {
      "aws-cdk-lib": range("aws-cdk-lib"),
      constructs: range("constructs"),
      flowhooks: packageSpec ?? `^${own.version ?? "0.1.0"}`,
    },
    devDependencies: {
      "@types/node": range("@types/node"),
      "aws-cdk": range("aws-cdk"),
      tsx: range("tsx"),
      typescript: range("typescript"),
      vitest: range("vitest"),
    },
    engines: { node: ">=22.12.0" },
  };
}

function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(root, path) : [relative(root, path)];
  });
}

/**
 * `--package` as the new app's package.json must say it. npm reads a `file:` path relative to that
 * package.json, not to where `init` ran, so a path (`./flowhooks-0.1.0.tgz`, `../flowhooks`,
 * `file:../x.tgz`) is resolved against `cwd` into an absolute `file:` spec, and must exist.
 * Anything else (a range, a tag, a git URL) is npm's to read, unchanged.
 */
export function resolvePackageSpec(spec: string, cwd: string): string {
  const path = spec.startsWith("file:") ? spec.slice("file:".length) : /^(\.{1,2}[\\/]|[\\/]|~[\\/])|\.(tgz|tar\.gz)$/i.test(spec) ? spec : undefined;
  if (path === undefined) return spec;
  const absolute = path.startsWith("~/") && process.env.HOME ? join(process.env.HOME, path.slice(2)) : resolve(cwd, path);
  if (!existsSync(absolute)) {
    throw new UsageError(`--package ${spec}: ${absolute} does not exist; pass the tarball \`npm pack\` wrote (e.g. --package ./flowhooks-0.1.0.tgz) or a folder holding flowhooks' package.json.`);
  }
  return `file:${absolute}`;
}

/** Writes the new app; refuses a DIR that holds anything (other than `.git`). */
export function initApp(options: InitOptions = {}): InitResult {
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.dir ?? ".");
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file; pass a new folder: flowhooks init my-app.`);
    const present = readdirSync(dir).filter((name) => name !== ".git");
    if (present.length > 0) {
      const shown = present.slice(0, 5).join(", ") + (present.length > 5 ? ", …" : "");
      throw new UsageError(`${dir} is not empty (${shown}); flowhooks init writes a new app, so pass a new or empty folder: flowhooks init my-app.`);
    }
  }
  if (options.packageSpec !== undefined && options.packageSpec.trim() === "") {
    throw new UsageError("--package needs a spec npm takes: a range (^0.1.0), or a tarball's path (./flowhooks-0.1.0.tgz).");
  }
  const packageSpec = options.packageSpec === undefined ? undefined : resolvePackageSpec(options.packageSpec.trim(), cwd);
  const root = PACKAGE_ROOT;
  const templates = join(root, "templates", "init");
  if (!existsSync(templates)) throw new Error(`flowhooks' templates are missing (${templates}); reinstall flowhooks.`);
  const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;
  const name = appPackageName(dir);

  const files: string[] = [];
  for (const file of listFiles(templates)) {
    const target = join(dirname(file), RENAMED[basename(file)] ?? basename(file));
    const text = readFileSync(join(templates, file), "utf8").replaceAll("{{name}}", name);
    mkdirSync(dirname(join(dir, target)), { recursive: true });
    writeFileSync(join(dir, target), text);
    files.push(target);
  }
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(appPackageJson(name, own, packageSpec), null, 2)}\n`);
  files.push("package.json");
  return { dir, files: files.sort(), name };
}

/** What `flowhooks init` prints: what was written and what to do next. */
export function initReport(result: InitResult, cwd: string = process.cwd()): string {
  const where = relative(cwd, result.dir) || ".";
  return [
    `Created the CDK app ${result.name} in ${where}:`,
    ...result.files.map((f) => `  ${f}`),
    "",
    "Next:",
    ...(where === "." ? [] : [`  cd ${where}`]),
    "  npm install",
    "  npm test                             # type-check, then test the flow's state handler",
    "  npx flowhooks run flows/orders.ts    # run the flow here",
    "  npx cdk synth                        # offline, no AWS credentials needed",
    "  npx flowhooks emulate --fast-retries # run what would deploy, locally",
    "",
  ].join("\n");
}
