/**
 * moto's AWS APIs on a loopback port: the second, independent cloud (moto 5, its Step Functions run by
 * LocalStack's ASL interpreter). Started on a free port and stopped by whoever started it.
 *
 * moto calls Lambda for `arn:aws:states:::lambda:invoke` on the port its own process reads from
 * `MOTO_PORT`; `lambdaPort` sets it, so a server of ours on that port can answer invocations.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { FlowhooksError } from "../../core/errors";

/** What to run when moto is missing. */
export const MOTO_INSTALL = 'pip install "moto[server]"';

export class MotoUnavailableError extends FlowhooksError {}

export interface MotoServer {
  /** `http://127.0.0.1:PORT`: the endpoint for the AWS SDK clients (`endpoint` or `AWS_ENDPOINT_URL`). */
  readonly endpoint: string;
  readonly port: number;
  /** Forgets every resource (moto 5.2.1 needs it between Step Functions executions). */
  reset(): Promise<void>;
  /** Sets moto's own configuration (`POST /moto-api/config`). */
  configure(config: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** The port moto's Step Functions calls for Lambda invocations (its `MOTO_PORT`). @default - moto's own port */
  readonly lambdaPort?: number;
  /** Run Step Functions definitions (LocalStack's interpreter) instead of only storing them. @default true */
  readonly executeStateMachines?: boolean;
  /** How long to wait for the server to answer. @default 30000 */
  readonly startTimeoutMs?: number;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The command that starts moto's server here, or undefined when moto is not installed. */
export function motoCommand(): string[] | undefined {
  const server = onPath("moto_server");
  if (server && spawnSync(server, ["--help"], { stdio: "ignore", timeout: 20_000 }).status === 0) return [server];
  const python = onPath("python3");
  if (python && spawnSync(python, ["-c", "import moto.server, flask"], { stdio: "ignore", timeout: 20_000 }).status === 0) {
    return [python, "-m", "moto.server"];
  }
  return undefined;
}

/** A port no one listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new MotoUnavailableError(`moto's server exited (code ${child.exitCode}) before answering: ${log().trim().split("\n").pop() ?? ""}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new MotoUnavailableError(`moto's server did not answer on ${endpoint} within ${timeoutMs} ms.`);
}

/** Starts moto's server on a free loopback port; throws MotoUnavailableError (naming the install command) without moto. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const command = motoCommand();
  if (!command) throw new MotoUnavailableError(`moto's server is not installed here; install it with: ${MOTO_INSTALL}`);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { ...process.env, MOTO_PORT: String(options.lambdaPort ?? port) };
  const child = spawn(command[0]!, [...command.slice(1), "-H", "127.0.0.1", "-p", String(port)], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  await waitUntilUp(endpoint, child, options.startTimeoutMs ?? 30_000, () => stderr);
  const post = async (path: string, body?: unknown) => {
    const response = await fetch(`${endpoint}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new MotoUnavailableError(`moto answered ${response.status} to POST ${path}: ${(await response.text()).slice(0, 300)}`);
  };
  const configure = (config: Record<string, unknown>) => post("/moto-api/config", config);
  const execute = options.executeStateMachines ?? true;
  if (execute) await configure({ stepfunctions: { execute_state_machine: true } });
  return {
    endpoint,
    port,
    configure,
    async reset() {
      await post("/moto-api/reset");
      if (execute) await configure({ stepfunctions: { execute_state_machine: true } });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 2_000).unref();
      }),
  };
}
