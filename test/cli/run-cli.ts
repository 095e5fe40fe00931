/** Runs the real `flowhooks` bin as a subprocess, the way `npx flowhooks …` does. */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const node = join(repoRoot, "node_modules", ".bin", "node");
const bin = join(repoRoot, "bin", "flowhooks.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `cwd`: where it runs (default the repository); `env`: variables set on top of this process's. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...options.env };
    delete env.FORCE_COLOR;
    const child = spawn(node, [bin, ...args], { cwd: options.cwd ?? repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

