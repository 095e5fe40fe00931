/** `flowhooks emulate [FILE]`: synthesize (the flow's own stack, or without FILE the user's CDK app), run the deployed artifact locally, print live lines and the timeline. */
import type { Flow } from "../core/flow";
import { childName } from "../core/map";
import { checkParameters } from "../core/runner";
import { EXIT, UsageError } from "../cli/errors";
import { formatDuration, formatTransition } from "../cli/format";
import { loadFlows, selectFlow } from "../cli/load";
import { parseParams } from "../cli/params";
import { approver } from "../cli/run";
import { isManualOnly } from "../core/triggers";
import type { ApproveFunction } from "../core/attempt";
import { renderTimeline } from "../cli/timeline";
import type { Output } from "../cli/progress";
import { alertSubject } from "../notify/alert";
import { slackAppTarget } from "../notify/slack-app";
import { webhookUrlProblem } from "../notify/slack";
import { checkReportPath, writeRunReport } from "../run-report/index";

import { emulate, prepareAppEmulation, type EmulateOptions, type EmulationEngine, type EmulationResult, type EmulatorEvent } from "./emulate";
import { MotoEngine, MotoUnsupportedError } from "./moto/engine";
import { MOTO_INSTALL, MotoUnavailableError } from "./moto/server";

export interface EmulateCommandOptions {
  /** The module that exports the flow. @default - the FlowStateMachine of the CDK app in `cwd` */
  file?: string;
  /** Which exported flow (flow name or export name); without FILE, like `construct`. @default - the only exported flow */
  flow?: string;
  /** Without FILE: the command that synthesizes the app (as `cdk --app`). @default - cdk.json's `app` */
  app?: string;
  /** Without FILE: which FlowStateMachine (its path, the end of its path, or its flow's name). @default - the app's only one */
  construct?: string;
  /** `k=v` strings from `--param`. @default [] */
  params?: string[];
  /** Shorten retry waits to 0 ms. @default false */
  fastRetries?: boolean;
  /** One JSON summary instead of text. @default false */
  json?: boolean;
  /** Slack webhook for alerts. @default - FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL */
  slackWebhookUrl?: string;
  /** A Slack app's channel id: alerts as one thread per execution (bot token from FLOWHOOKS_SECRET_SLACK_BOT_TOKEN). @default - none */
  slackChannel?: string;
  /** The Slack Web API for `slackChannel`. @default "https://slack.com/api" */
  slackApiUrl?: string;
  /** Also write the run as one HTML page here (lib/run-report). @default - no report */
  report?: string;
  /** Where output goes. @default process.stdout */
  out?: Output;
  /** Resolve FILE against this directory. @default process.cwd() */
  cwd?: string;
  /**
   * A cloud assembly the emulator synthesized earlier from FILE, read instead of synthesizing
   * (a hidden testing aid). @default - FLOWHOOKS_EMULATE_ASSEMBLY, else synthesized now
   */
  assembly?: string;
  /** What interprets the definition: `default` (aws-local-stepfunctions) or `moto` (moto's Step Functions). @default "default" */
  engine?: string;
  /** With the moto engine: a running moto server to use instead of starting one. @default - a server started on a free loopback port */
  motoEndpoint?: string;
  /**
   * `--approve all|none`: approve every task that waits for approval (`triggers.manualOnly`), or
   * reject each. @default - ask on the terminal when stdin is one; otherwise a flow with such a task is refused, naming this option
   */
  approve?: string;
  /** Where the approval question is read from. @default process.stdin */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The line that says how retry waits were changed. */
export function retryWaitsLine(result: EmulationResult): string | undefined {
  const { deployedMs, emulatedMs, shortened } = result.retryWaits;
  if (!shortened || deployedMs === 0) return undefined;
  return `retry waits shortened: ${formatDuration(deployedMs)} → ${emulatedMs === 0 ? "0 s" : formatDuration(emulatedMs)} (--fast-retries; deployed, Step Functions waits the full time)`;
}

function describe(event: EmulatorEvent): string | undefined {
  switch (event.type) {
    case "transition": {
      const t = event.transition;
      // A mapped task's child is named `t[i]`, as alerts and `flowhooks run` name it.
      const who = t.kind === "flow" ? `flow ${t.name}` : `task ${childName(t.name, t.mapIndex)}${t.attempt ? ` #${t.attempt}` : ""}`;
      const where = event.source === "handler-lambda" ? " (handler Lambda)" : "";
      return `${who}: ${formatTransition(t.oldState, t.newState)}${where}`;
    }
    case "alert":
      return event.channel === "console" ? undefined : `alert sent to ${event.channel}: ${alertSubject(event.alert)} ${String(event.alert.newState)}`;
    case "log":
      return event.level === "warn" || event.level === "error" ? `handler Lambda ${event.level}: ${event.message}` : undefined;
    case "dead-letter":
      return `handler Lambda gave up on an event (${event.envelope["detail-type"]}); in AWS it would sit in the dead-letter queue`;
  }
}

/** The Slack app `--slack-channel` asks for, its bot token from the environment as locally for every secret. */
function slackAppOption(options: EmulateCommandOptions): { botToken: string; channel: string; apiBaseUrl?: string } | undefined {
  if (options.slackChannel === undefined) {
    if (options.slackApiUrl !== undefined) throw new UsageError("--slack-api-url needs --slack-channel (the channel id the Slack app posts to).");
    return undefined;
  }
  const botToken = process.env.FLOWHOOKS_SECRET_SLACK_BOT_TOKEN?.trim();
  if (!botToken) {
    throw new UsageError("--slack-channel needs the app's bot token: export FLOWHOOKS_SECRET_SLACK_BOT_TOKEN=xoxb-… (the Bot User OAuth Token).");
  }
  const app = { botToken, channel: options.slackChannel, apiBaseUrl: options.slackApiUrl };
  try {
    slackAppTarget(app);
  } catch (error) {
    throw new UsageError(`--slack-channel/--slack-api-url: ${(error as Error).message.replace(/^slackAppTarget: /, "")}`);
  }
  return app;
}

/**
 * The webhook the emulation would serve for the stack's Slack secrets (`--slack-webhook-url`, else
 * FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL), checked before anything is synthesized: a bad one is one line, exit 2.
 */
export function checkSlackWebhook(flag: string | undefined, env: Record<string, string | undefined> = process.env): void {
  const [value, where] = flag !== undefined ? [flag, "--slack-webhook-url"] : [env.FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL, "FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL"];
  if (value === undefined || (flag === undefined && value === "")) return;
  const problem = webhookUrlProblem(value.trim());
  if (problem !== undefined) {
    throw new UsageError(
      `${where} ${problem}; pass a Slack Incoming Webhook URL (https://hooks.slack.com/services/…) or a stand-in on 127.0.0.1 (http://127.0.0.1:PORT/…).`,
    );
  }
}

/** The engine `--engine` / `--moto-endpoint` ask for; undefined for the default engine. */
export function engineOption(options: Pick<EmulateCommandOptions, "engine" | "motoEndpoint">, env: NodeJS.ProcessEnv = process.env): EmulationEngine | undefined {
  const engine = options.engine ?? (options.motoEndpoint !== undefined ? "moto" : "default");
  if (engine !== "default" && engine !== "moto") throw new UsageError(`--engine ${engine} is not an engine; use --engine default (aws-local-stepfunctions) or --engine moto (moto's Step Functions).`);
  if (engine === "default") {
    if (options.motoEndpoint !== undefined) throw new UsageError("--moto-endpoint is for the moto engine; leave out --engine default, or leave out --moto-endpoint.");
    return undefined;
  }
  if (options.motoEndpoint === undefined) return new MotoEngine();
  if (!/^https?:\/\/[^/]+/.test(options.motoEndpoint)) throw new UsageError(`--moto-endpoint ${options.motoEndpoint} is not a URL; give the server's, e.g. --moto-endpoint http://127.0.0.1:5000.`);
  const lambdaPort = Number(env.MOTO_PORT);
  if (!env.MOTO_PORT || !Number.isInteger(lambdaPort) || lambdaPort <= 0) {
    throw new UsageError(
      "--moto-endpoint needs the port that server calls for Lambda: start it as `MOTO_PORT=5005 moto_server -p 5000` and export MOTO_PORT=5005 here too (the emulator serves that port).",
    );
  }
  return new MotoEngine({ endpoint: options.motoEndpoint, lambdaPort });
}

/** Runs the emulation on the engine asked for; moto's absence or limits are usage errors (exit 2) naming the fix. */
async function emulateOn(engine: EmulationEngine | undefined, options: EmulateOptions): Promise<EmulationResult> {
  try {
    return await emulate({ ...options, engine });
  } catch (error) {
    if (error instanceof MotoUnavailableError) throw new UsageError(`--engine moto: ${error.message.includes(MOTO_INSTALL) ? error.message : `${error.message} (install it with: ${MOTO_INSTALL})`}`);
    if (error instanceof MotoUnsupportedError) throw new UsageError(error.message);
    throw error;
  } finally {
    await engine?.close();
  }
}

/** Runs the emulation and resolves to the exit code: 0 when the flow did not fail, 1 when it did. */
export async function emulateCommand(options: EmulateCommandOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const write = (line: string) => void out.write(`${line}\n`);
  checkSlackWebhook(options.slackWebhookUrl);
  const slackApp = slackAppOption(options);
  const reportPath = options.report === undefined ? undefined : checkReportPath(options.report, options.cwd);

  const approve = approver(options.approve, options.input ?? process.stdin, process.stderr);
  const engine = engineOption(options);
  const parameters = parseParams(options.params);
  let run: Pick<EmulateOptions, "target" | "entry" | "flow" | "assembly">;
  let flowObject: Flow;
  if (options.file === undefined) {
    if (!options.json) write(`Synthesizing the CDK app${options.app ? ` (${options.app})` : ""}…`);
    const target = await prepareAppEmulation({ cwd: options.cwd, app: options.app, construct: options.construct ?? options.flow });
    checkParameters(target.flow, parameters);
    flowObject = target.flow;
    if (!options.json) write(`Emulating ${target.construct.path} (flow ${target.flow.name}) as synthesized, with its props.`);
    run = { target };
  } else {
    if (options.app !== undefined || options.construct !== undefined) {
      throw new UsageError("--app and --construct choose a FlowStateMachine of a CDK app; leave out FILE to use them, or leave them out to emulate FILE.");
    }
    const flow = selectFlow(await loadFlows(options.file, options.cwd), options.file, options.flow);
    checkParameters(flow, parameters);
    flowObject = flow;
    const assembly = options.assembly ?? (process.env.FLOWHOOKS_EMULATE_ASSEMBLY || undefined);
    if (!options.json) write(assembly ? `Reading flow ${flow.name}'s synthesized assembly ${assembly}…` : `Synthesizing and bundling flow ${flow.name}…`);
    run = { entry: options.cwd ? `${options.cwd}/${options.file}` : options.file, flow, assembly };
  }
  refuseUnanswerable(flowObject, approve);
  const result = await emulateOn(engine, {
    ...run,
    parameters,
    approve: approve && ((task: string) => approve(flowObject.graph().byName.get(task)!.task, undefined) as true | string | PromiseLike<true | string>),
    fastRetries: options.fastRetries,
    slackWebhookUrl: options.slackWebhookUrl,
    slackApp,
    write: options.json ? () => undefined : write,
    onEvent: options.json
      ? undefined
      : (event) => {
          const line = describe(event);
          if (line) write(line);
        },
  });
  const failed = result.status !== "SUCCEEDED" || Boolean(result.flowState?.isFailed());
  if (reportPath) {
    const alerts = result.alerts.map((a) => ({ channel: a.channel, subject: alertSubject(a.alert), state: a.alert.newState, at: a.alert.at }));
    await writeRunReport({ path: reportPath, source: "emulate", flow: flowObject.name, flowObject, transitions: result.transitions, alerts });
  }
  if (options.json) {
    write(
      JSON.stringify({
        executionArn: result.executionArn,
        status: result.status,
        error: result.error,
        cause: result.cause,
        flowState: result.flowState?.toJSON(),
        statesEntered: result.statesEntered,
        transitions: result.transitions.map((t) => ({ ...t, oldState: t.oldState.toJSON(), newState: t.newState.toJSON(), at: t.at.toISOString() })),
        alerts: result.alerts.map((a) => ({ channel: a.channel, subject: alertSubject(a.alert), attempt: a.alert.attempt, state: a.alert.newState.toJSON() })),
        retryWaits: result.retryWaits,
        deadLettered: result.deadLettered.length,
      }),
    );
  } else {
    write("");
    write(renderTimeline(result.transitions));
    write("");
    const waits = retryWaitsLine(result);
    if (waits) write(waits);
    write(`Execution ${result.status}${result.error ? `: ${result.error}${result.cause ? ` (${result.cause})` : ""}` : ""}`);
  }
  return failed ? EXIT.flowFailed : EXIT.ok;
}

/** A flow with a task that waits for approval needs an answer: `--approve`, or a terminal to ask on. */
function refuseUnanswerable(flow: Flow, approve: ApproveFunction | undefined): void {
  if (approve) return;
  const waiting = flow.graph().nodes.filter((n) => isManualOnly(n.task.trigger)).map((n) => n.name);
  if (waiting.length === 0) return;
  throw new UsageError(
    `${waiting.map((n) => `\`${n}\``).join(", ")} ${waiting.length === 1 ? "waits" : "wait"} for approval (triggers.manualOnly) and stdin is not a terminal to ask on; ` +
      "pass --approve all (approve each) or --approve none (reject each).",
  );
}
