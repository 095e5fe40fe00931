/** `flowhooks emulate [FILE]`: runs the synthesized state machine locally with the bundled Lambdas and alerts. */
import type { Command } from "commander";
import { emulateCommand } from "../../lib/emulate/command";

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command("emulate")
    .description(
      "Synthesize and run locally what would deploy: the definition, the bundled task Lambdas, the handler Lambda and its alerts. " +
        "Without FILE, in a CDK app's folder: the app's own FlowStateMachine, with its props",
    )
    .argument("[file]", "module that exports the flow (.ts or .js); leave out to synthesize the CDK app in this folder")
    .option("--flow <name>", "which flow to emulate when the module exports several")
    .option("--app <cmd>", "without FILE: the command that synthesizes the app (default: cdk.json's \"app\")")
    .option("--construct <path>", "without FILE: which FlowStateMachine when the app has several (its construct path, e.g. OrdersStack/Orders)")
    .option("--param <key=value>", "a flow parameter; the value is parsed as JSON when it parses (repeatable)", collect, [])
    .option("--fast-retries", "wait 0 ms between retries instead of the deployed retry delays (the output says by how much)")
    .option("--slack-webhook-url <url>", "send alerts to this Slack Incoming Webhook, grouped per execution (default: FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL)")
    .option("--slack-channel <id>", "send alerts as a Slack app, one thread per execution in this channel (bot token: FLOWHOOKS_SECRET_SLACK_BOT_TOKEN)")
    .option("--slack-api-url <url>", "the Slack Web API for --slack-channel (default https://slack.com/api; a loopback URL for a stand-in)")
    .option("--approve <all|none>", "answer each task that waits for approval (triggers.manualOnly): all approves, none rejects (default: ask on the terminal)")
    .option("--json", "print one JSON summary instead of the timeline")
    .option("--report <file.html>", "also write the run as one self-contained HTML page (DAG, timeline, alerts, per-task details)")

    .option("--engine <name>", "what runs the definition: default (aws-local-stepfunctions) or moto (moto's Step Functions, needs pip install \"moto[server]\"); default: default")
    .option("--moto-endpoint <url>", "with --engine moto: a running moto server to use (started with MOTO_PORT=<port>, that port exported as MOTO_PORT here)")
    .addHelpText(
      "after",
      "\nEngines: default runs the definition in aws-local-stepfunctions; moto runs it on moto's Step Functions (a second, independent interpreter).\n" +
        "Alerts go to Slack when a webhook is given, to SNS when AWS_ENDPOINT_URL_SNS is set, else to the console.\n" +
        "Secrets the stack gives its functions are served locally from FLOWHOOKS_SECRET_<NAME>.\n" +
        "Exit code: 0 when the flow succeeded, 1 when it failed, 2 on a usage error.\n\nExamples:\n  flowhooks emulate examples/04-retry-alert.ts --fast-retries\n  flowhooks emulate examples/04-retry-alert.ts --fast-retries --engine moto\n  flowhooks emulate --construct OrdersStack/Orders --fast-retries   (in a CDK app's folder)",
    )
    .action(async (file: string | undefined, opts: { flow?: string; app?: string; construct?: string; param: string[]; fastRetries?: boolean; slackWebhookUrl?: string; slackChannel?: string; slackApiUrl?: string; json?: boolean; engine?: string; motoEndpoint?: string; report?: string; approve?: string }) => {

      process.exitCode = await emulateCommand({
        file,
        flow: opts.flow,
        app: opts.app,
        construct: opts.construct,
        params: opts.param,
        fastRetries: opts.fastRetries,
        slackWebhookUrl: opts.slackWebhookUrl,
        slackChannel: opts.slackChannel,
        slackApiUrl: opts.slackApiUrl,
        json: opts.json,
        report: opts.report,

        engine: opts.engine,
        motoEndpoint: opts.motoEndpoint,
        approve: opts.approve,
      });
    });
}
