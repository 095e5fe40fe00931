/**
 * Lambda functions run in-process from their bundled code in the cloud assembly: one module
 * instance per function (a warm container, kept across emulations in a process), the function's
 * environment and nothing of the host's for all of its work (container-env.ts), a Lambda-shaped
 * context, and its Timeout enforced as Lambda does (`Sandbox.Timedout`).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { SynthesizedFunction } from "./synth";
import { containerEnv, runInContainer, type ContainerEnv } from "./container-env";
import { AssemblyError } from "./errors";
import { instantiateBundle } from "./bundle-code";

/**
 * The variables the Lambda runtime sets in every function
 * (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * as the emulator can give them. `TZ` is left out: in-process, the host's time zone applies anyway.
 */
export function lambdaRuntimeEnv(fn: SynthesizedFunction): Record<string, string> {
  return {
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${process.versions.node.split(".")[0]}.x`,
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `emulator/[$LATEST]${fn.functionName}`,
    LAMBDA_TASK_ROOT: fn.assetDir,
    LANG: "en_US.UTF-8",
    // Notifiers may post to a loopback stand-in for Slack here, never in a deployed Lambda.
    FLOWHOOKS_EMULATOR: "1",
  };
}

/** How an invocation ended, as the Lambda service reports it to Step Functions. */
export type InvocationOutcome =
  | { ok: true; payload: unknown; durationMs: number; /** The response's size as Lambda returns it (UTF-8 JSON). */ bytes: number }
  | { ok: false; errorType: string; errorMessage: string; trace: string[]; timedOut: boolean; durationMs: number };

const containers = new Map<string, Promise<Record<string, unknown>>>();

/** Each function's module URL, made once per process: every emulation makes its containers anew, and `pathToFileURL` costs ~40 µs (500 functions: 20 ms a run). */
const urls = new Map<string, Map<string, string>>();

/** The URL of a function's module: the query string gives each function its own module instance, as each has its own container. */
function containerUrl(assetDir: string, functionName: string): string {
  let byName = urls.get(assetDir);
  if (!byName) urls.set(assetDir, (byName = new Map()));
  let url = byName.get(functionName);
  if (url === undefined) byName.set(functionName, (url = `${pathToFileURL(join(assetDir, "index.mjs")).href}?fn=${encodeURIComponent(functionName)}`));
  return url;
}

/** The context's legacy callbacks (done, fail, succeed): no-ops here, one function for all. */
const noop = () => undefined;

/** A Lambda function of the assembly, run in this process. */
export class LocalLambda {
  /** This container's environment, for its init and every invocation (see container-env.ts). */
  private readonly env: ContainerEnv;
  /** The container's module once its init has finished: later invocations need not wait for it again. */
  private module?: Record<string, unknown>;

  constructor(
    readonly fn: SynthesizedFunction,
    /** Variables every function sees besides Lambda's and its own (the region, the event bus). */
    extraEnv: Record<string, string> = {},
  ) {
    this.env = containerEnv({ ...lambdaRuntimeEnv(fn), ...extraEnv, ...fn.environment });
  }

  /** Runs `fn(...args)` as code of this container: `process.env` is the function's environment throughout, awaits included. */
  run<T, A extends unknown[]>(fn: (...args: A) => T, ...args: A): T {
    return runInContainer(this.env, fn, ...args);
  }

  /** Runs the function's bundle once (its init phase), with its environment: its own module instance of the bundle's shared code (bundle-code.ts). */
  init(): Promise<Record<string, unknown>> {
    if (!this.fn.assetDir) {
      throw new AssemblyError(`Function ${this.fn.functionName} has no code asset (was it synthesized with stubBundling?); the emulator runs bundled code only.`);
    }
    const url = containerUrl(this.fn.assetDir, this.fn.functionName);
    let loading = containers.get(url);
    if (!loading) {
      const file = join(this.fn.assetDir, "index.mjs");
      // The bundle's code compiled once and run here as this container's own module (bundle-code.ts), else imported as a module of its own.
      loading = this.run(async () => (await instantiateBundle(file)) ?? ((await import(url)) as Record<string, unknown>));
      containers.set(url, loading);
      loading.catch(() => containers.delete(url));
    }
    return loading;
  }

  /** One invocation: the handler's result, or the error Lambda would report (its own, or `Sandbox.Timedout`). */
  async invoke(event: unknown): Promise<InvocationOutcome> {
    const mod = (this.module ??= await this.init());
    const exportName = this.fn.handler.split(".").pop()!;
    const handler = mod[exportName];
    const started = Date.now();
    if (typeof handler !== "function") {
      return {
        ok: false,
        errorType: "Runtime.HandlerNotFound",
        errorMessage: `index.${exportName} is undefined or not exported`,
        trace: [],
        timedOut: false,
        durationMs: 0,
      };
    }
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    const requestId = randomUUID();
    const context = {
      functionName: this.fn.functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: this.fn.arn,
      memoryLimitInMB: String(this.fn.memorySize),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.fn.functionName}`,
      logStreamName: `emulator/[$LATEST]${requestId.replace(/-/g, "")}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, started + timeoutMs - Date.now()),
      done: noop,
      fail: noop,
      succeed: noop,
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const running = Promise.resolve(this.run(handler as (e: unknown, c: unknown) => unknown, event, context));
      const result = await Promise.race([running, timedOut]);
      if (result === "timeout") {
        // Lambda stops the container here; in-process the body may go on, but its result is dropped.
        running.catch(() => undefined);
        return {
          ok: false,
          errorType: "Sandbox.Timedout",
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${this.fn.timeoutSeconds.toFixed(2)} seconds`,
          trace: [],
          timedOut: true,
          durationMs: Date.now() - started,
        };
      }
      // Lambda returns JSON: what cannot be serialized would not reach Step Functions either. Serialized
      // once: its size is what the response limits are checked against (limits.ts).
      const text = result === undefined ? "null" : JSON.stringify(result);
      return { ok: true, payload: JSON.parse(text), bytes: Buffer.byteLength(text), durationMs: Date.now() - started };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      return {
        ok: false,
        errorType: e.name || "Error",
        errorMessage: e.message,
        trace: (e.stack ?? "").split("\n"),
        timedOut: false,
        durationMs: Date.now() - started,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
