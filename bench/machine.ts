/** The machine a run was measured on, so numbers are read in context. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

export interface Machine {
  cpuModel: string;
  nproc: number;
  memory: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other processes share the CPUs. */
  loadAverage1m: number;
}

function freeH(): string {
  try {
    const mem = execFileSync("free", ["-h"], { encoding: "utf8" }).split("\n").find((l) => l.startsWith("Mem:"));
    if (mem) return `${mem.trim().split(/\s+/)[1]} total (free -h)`;
  } catch {
    // `free` is not everywhere; fall back to what node knows.
  }
  return `${(totalmem() / 2 ** 30).toFixed(1)} GiB total`;
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) cpuModel = line.split(":")[1]!.trim();
  } catch {
    // Not Linux: os.cpus() is good enough.
  }
  return {
    cpuModel,
    nproc: cpus().length,
    memory: freeH(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
}
