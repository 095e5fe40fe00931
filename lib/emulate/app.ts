/**
 * `flowhooks emulate` in the user's CDK app: synthesizes the app the way `cdk synth` does (the
 * `app` command of cdk.json, or `--app`, run as a child process with `CDK_OUTDIR` and
 * `CDK_CONTEXT_JSON`; no AWS credentials, no network) and finds the FlowStateMachine constructs in
 * the cloud assembly by the metadata each leaves there (lib/cdk/assembly-metadata.ts).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../cli/errors";
import { FLOW_STATE_MACHINE_METADATA, type FlowStateMachineMetadata } from "../cdk/assembly-metadata";
import { AssemblyError } from "./errors";

export interface SynthesizeAppOptions {
  /** The app's folder (where cdk.json is). @default process.cwd() */
  cwd?: string;
  /**
   * The command that prints the app's cloud assembly (as `cdk --app`), or a cloud assembly folder
   * synthesized before. @default - cdk.json's `app`
   */
  app?: string;
  /** Where the cloud assembly goes. @default - a new folder under the OS temp dir */
  outdir?: string;
}

type Json = Record<string, any>;

function readJson(file: string): Json | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix it as \`cdk synth\` would need.`);
  }
}

/**
 * The context the CDK CLI gives an app: cdk.json's and cdk.context.json's `context`, plus its
 * defaults (path and asset metadata on, every stack bundled, and version reporting on unless
 * cdk.json says `"versionReporting": false`: it adds each stack's CDKMetadata resource, which is
 * what makes a stack left empty, as `cdk init` writes it, a valid template).
 */
export function appContext(cwd: string, cdkJson: Json | undefined): Record<string, unknown> {
  return {
    ...(readJson(join(cwd, "cdk.context.json")) ?? {}),
    ...((cdkJson?.context as Json | undefined) ?? {}),
    "aws:cdk:enable-path-metadata": true,
    "aws:cdk:enable-asset-metadata": true,
    "aws:cdk:bundling-stacks": ["**"],
    ...(cdkJson?.versionReporting === false ? {} : { "aws:cdk:version-reporting": true }),
  };
}

/** Longest line of an app's output kept in an error (longer ones are minified code a stack trace printed). */
const MAX_LINE_CHARS = 300;

/**
 * What went wrong in a failed app's output, as one line: its error lines (`ERROR …` validation
 * findings, `SomeError: …`, CDK's `«Name» …`), else its last line; never a dump of minified code.
 */
export function appFailureLine(output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l !== "" && l.length <= MAX_LINE_CHARS);
  const errors = lines.filter((l) => /^(ERROR\b|«\w+»|(\w+\.)?\w*Error\b:?)/.test(l) && !l.startsWith("at "));
  const chosen = [...new Set(errors.length > 0 ? errors : lines.slice(-1))].join(" ");
  return chosen.length > 2 * MAX_LINE_CHARS ? `${chosen.slice(0, 2 * MAX_LINE_CHARS)}…` : chosen || "no output";
}

/** Synthesizes the app in `cwd` and returns its cloud assembly folder. */
export async function synthesizeApp(options: SynthesizeAppOptions = {}): Promise<string> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const cdkJson = readJson(join(cwd, "cdk.json"));
  const app = options.app ?? (typeof cdkJson?.app === "string" ? cdkJson.app : undefined);
  if (!app) {
    throw new UsageError(
      cdkJson
        ? `${join(cwd, "cdk.json")} has no "app" command; add one (e.g. "app": "npx tsx bin/app.ts") or pass --app CMD.`
        : `No FILE given and no cdk.json in ${cwd}: pass the module that exports the flow (flowhooks emulate flows/orders.ts), ` +
            `run it in your CDK app's folder, or pass --app "npx tsx bin/app.ts".`,
    );
  }
  // `--app cdk.out`, as the CDK CLI takes it: an assembly synthesized before.
  const asFolder = resolve(cwd, app);
  if (existsSync(asFolder) && statSync(asFolder).isDirectory()) {
    if (!existsSync(join(asFolder, "manifest.json"))) throw new UsageError(`${app} is a folder without manifest.json; pass a cloud assembly folder (cdk.out) or a command.`);
    return asFolder;
  }
  const outdir = resolve(options.outdir ?? mkdtempSync(join(tmpdir(), "flowhooks-app-")));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify(appContext(cwd, cdkJson)),
  };
  // The emulator runs the bundled code: placeholder code would not run.
  delete env.FLOWHOOKS_STUB_BUNDLING;
  const { code, output } = await new Promise<{ code: number | null; output: string }>((done, fail) => {
    const child = spawn(app, { cwd, env, shell: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.on("error", fail);
    child.on("close", (exitCode) => done({ code: exitCode, output }));
  });
  if (code !== 0) {
    throw new UsageError(`The app command \`${app}\` failed (exit ${code}) in ${cwd}: ${appFailureLine(output)} Fix the app so \`cdk synth\` passes.`);
  }
  if (!existsSync(join(outdir, "manifest.json"))) {
    throw new UsageError(`The app command \`${app}\` wrote no cloud assembly to CDK_OUTDIR; does it call app.synth() (or end with new App())?`);
  }
  return outdir;
}

/** A FlowStateMachine found in a cloud assembly. */
export interface FoundFlowStateMachine {
  /** The construct's path, e.g. `OrdersStack/Orders`. */
  path: string;
  metadata: FlowStateMachineMetadata;
  /** The (possibly nested, for stages) assembly folder holding its stack. */
  outdir: string;
  /** The stack's artifact id. */
  artifactId: string;
  /** The stack's name as deployed. */
  stackName: string;
  /** The stack's template file, in `outdir`. */
  templateFile: string;
}

/** Every FlowStateMachine of the assembly in `outdir` (stages' nested assemblies included), in path order. */
export function findFlowStateMachines(outdir: string): FoundFlowStateMachine[] {
  const manifest = readJson(join(outdir, "manifest.json"));
  if (!manifest) throw new AssemblyError(`No manifest.json in ${outdir}; it is not a cloud assembly.`);
  const found: FoundFlowStateMachine[] = [];
  for (const [artifactId, artifact] of Object.entries((manifest.artifacts ?? {}) as Record<string, Json>)) {
    if (artifact.type === "cdk:cloud-assembly" && artifact.properties?.directoryName) {
      found.push(...findFlowStateMachines(join(outdir, String(artifact.properties.directoryName))));
      continue;
    }
    if (artifact.type !== "aws:cloudformation:stack") continue;
    const metadata: Record<string, Json[]> = { ...(artifact.metadata ?? {}) };
    if (artifact.additionalMetadataFile) Object.assign(metadata, readJson(join(outdir, String(artifact.additionalMetadataFile))) ?? {});
    for (const [path, entries] of Object.entries(metadata)) {
      for (const entry of entries ?? []) {
        if (entry.type !== FLOW_STATE_MACHINE_METADATA) continue;
        found.push({
          path: path.replace(/^\//, ""),
          metadata: entry.data as FlowStateMachineMetadata,
          outdir,
          artifactId,
          stackName: String(artifact.properties?.stackName ?? artifact.displayName ?? artifactId),
          templateFile: String(artifact.properties?.templateFile ?? `${artifactId}.template.json`),
        });
      }
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The construct to emulate: the only one, or the one `--construct` names (its path, the end of
 * its path, or its flow's name, when that is unique). Anything else is a usage error listing them.
 */
export function selectConstruct(found: readonly FoundFlowStateMachine[], wanted?: string): FoundFlowStateMachine {
  const list = found.map((f) => `  ${f.path} (flow ${f.metadata.flow})`).join("\n");
  if (found.length === 0) {
    throw new UsageError(
      "The app synthesized no FlowStateMachine; add one to a stack (new FlowStateMachine(stack, id, { flow, entry })), or pass the flow's module: flowhooks emulate FILE.",
    );
  }
  if (wanted !== undefined) {
    const w = wanted.replace(/^\//, "");
    const byPath = found.filter((f) => f.path === w);
    const matches = byPath.length > 0 ? byPath : found.filter((f) => f.path.endsWith(`/${w}`) || f.metadata.flow === w);
    if (matches.length === 1) return matches[0]!;
    throw new UsageError(
      `${matches.length === 0 ? `No FlowStateMachine matches --construct ${wanted}` : `--construct ${wanted} matches ${matches.length} FlowStateMachines`}; pass one of these paths:\n${list}`,
    );
  }
  if (found.length > 1) {
    throw new UsageError(`The app has ${found.length} FlowStateMachines; choose one with --construct PATH:\n${list}`);
  }
  return found[0]!;
}
