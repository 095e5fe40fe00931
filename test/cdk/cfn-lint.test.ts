/**
 * Every template FlowStateMachine synthesizes passes cfn-lint (AWS's CloudFormation linter, part of
 * these machines' image) with no error: the examples, mapped tasks (inline and Distributed Maps), a 1,000-task chain, a 5,000-task chain (split
 * into child state machines) and a 300-wide fan-out with alerts, parents and nested stacks alike.
 * Without cfn-lint the lint check skips with one line naming the install command (and fails where
 * CI is set); the size check runs everywhere.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { App, Size, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { FlowStateMachine, type FlowStateMachineProps } from "../../lib/cdk/index";
import { MAX_TEMPLATE_BYTES } from "../../lib/cdk/flow-state-machine";
import { Flow, task, type Task } from "../../lib/index";
import { ordersFlow } from "../../examples/deploy/orders";
import { chainFlow } from "../helpers/cdk";
import { describeWithTool } from "../helpers/external-tool";
import { flow as flowStateHandler } from "../../examples/01-flow-state-handler";
import { flow as taskStateHandler } from "../../examples/02-task-state-handler";
import { flow as postToSlack } from "../../examples/03-post-to-slack";
import { flow as retryAlert } from "../../examples/04-retry-alert";
import { flow as specialFailure } from "../../examples/05-special-failure";
import { flow as multipleHandlers } from "../../examples/06-multiple-handlers";
import { flow as callbackFactory } from "../../examples/07-callback-factory";
import { flow as onFailure } from "../../examples/08-on-failure";

/** What to run when cfn-lint is missing. */
const CFN_LINT_INSTALL = "pip install cfn-lint";
const cfnLintInstalled = spawnSync("cfn-lint", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0;
const describeCfnLint = describeWithTool("cfn-lint", cfnLintInstalled, CFN_LINT_INSTALL);

interface Finding {
  Filename: string;
  Level: "Error" | "Warning" | "Informational";
  Message: string;
  Rule: { Id: string };
}

/** `width` tasks in one level, every one of them throwing. */
function failingFanOut(width: number): Flow {
  return new Flow({ name: `fan-out-${width}` }, () => {
    for (let i = 0; i < width; i++) {
      task({ name: `branch-${i}` }, () => {
        throw new Error(`branch ${i} failed`);
      })();
    }
  });
}

/** files → download.map(files) → total: a mapped task, whose children run in an inline or a Distributed Map. */
function mappedFlow(): Flow {
  const files = task({ name: "files" }, () => ["a", "b"]);
  const download = task({ name: "download", mapConcurrency: 10, maxRetries: 2 }, (file: string) => file.length);
  const total = task({ name: "total" }, (sizes: number[]) => sizes.reduce((a, b) => a + b, 0));
  return new Flow({ name: "downloads" }, () => {
    total(download.map(files()));
  });
}

/** FlowStateMachine props that use every task function option (docs/deploying.md, "Configuring task functions"). */
function configuredProps(stack: Stack): Partial<FlowStateMachineProps> {
  const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 1 });
  const layer = lambda.LayerVersion.fromLayerVersionArn(stack, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:shared:3");
  return {
    alerts: {},
    bundling: { sourceMap: true },
    taskDefaults: { environment: { STAGE: "prod" }, layers: [layer], logRetention: logs.RetentionDays.TWO_WEEKS, architecture: lambda.Architecture.X86_64 },
    tasks: {
      loadOrder: { ownRole: true, vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, ephemeralStorageSize: Size.gibibytes(2), reservedConcurrentExecutions: 5 },
      saveOrder: { ownRole: true, tracing: lambda.Tracing.PASS_THROUGH, logGroup: new logs.LogGroup(stack, "SaveLogs", { retention: logs.RetentionDays.ONE_WEEK }) },
    },
  };
}

/** One cloud assembly per shape; returns the paths of every template it wrote. */
function synthesize(root: string, id: string, flows: [string, Flow, Partial<FlowStateMachineProps>?][]): string[] {
  const app = new App({ outdir: join(root, id) });
  const stack = new Stack(app, id);
  for (const [name, flow, props] of flows) {
    new FlowStateMachine(stack, name, { flow, entry: "unused.ts", stubBundling: true, ...props });
  }
  app.synth();
  return readdirSync(app.outdir)
    .filter((f) => f.endsWith(".template.json"))
    .map((f) => join(app.outdir, f));
}

function lint(files: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("cfn-lint", ["--format", "json", "--", ...files]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("cfn-lint on the synthesized templates", () => {
  let templates: string[] = [];

  beforeAll(() => {
    const root = mkdtempSync(join(tmpdir(), "flowhooks-cfn-lint-"));
    const examplesApp = new App({ outdir: join(root, "Examples") });
    const examples = new Stack(examplesApp, "Examples");
    const slack = secretsmanager.Secret.fromSecretNameV2(examples, "Slack", "flowhooks/slack-webhook");
    const entries: [string, Flow, Partial<FlowStateMachineProps>][] = [
      ["Orders", ordersFlow, { alerts: { topic: true, slackWebhookSecret: slack } }],
      ["FlowStateHandler", flowStateHandler, { alerts: {} }],
      ["TaskStateHandler", taskStateHandler, {}],
      ["PostToSlack", postToSlack, { secrets: { SLACK_WEBHOOK_URL: slack } }],
      ["RetryAlert", retryAlert, { alerts: { slackWebhookSecret: slack, on: ["Retrying", "Failed"] } }],
      ["SpecialFailure", specialFailure, { logging: false, tracing: false }],
      ["MultipleHandlers", multipleHandlers, {}],
      ["CallbackFactory", callbackFactory, {}],
      ["OnFailure", onFailure, { alerts: { topic: true } }],
      // Every task function option at once: own role, VPC, layers, storage, concurrency, logs, tracing, arm64.
      ["Configured", ordersFlow, configuredProps(examples)],
      // A mapped task: both Maps (auto, with alerts), the inline Map alone, the Distributed Map forced.
      ["MappedAuto", mappedFlow(), { alerts: { topic: true } }],
      ["MappedInline", mappedFlow(), { tasks: { download: { mapMode: "inline" } } }],
      ["MappedDistributed", mappedFlow(), { tasks: { download: { mapMode: "distributed" } } }],
    ];
    for (const [id, flow, props] of entries) new FlowStateMachine(examples, id, { flow, entry: "unused.ts", stubBundling: true, ...props });
    examplesApp.synth();
    templates = [
      ...readdirSync(examplesApp.outdir).filter((f) => f.endsWith(".template.json")).map((f) => join(examplesApp.outdir, f)),
      ...synthesize(root, "Chain1000", [["Chain", chainFlow(1000), { alerts: { topic: true } }]]),
      ...synthesize(root, "Chain5000", [["Chain", chainFlow(5000), { alerts: { topic: true } }]]),
      ...synthesize(root, "FanOut300", [["FanOut", failingFanOut(300), { alerts: { topic: true } }]]),
    ];
  }, 300_000);

  it("synthesizes every shape's parent and nested templates under CloudFormation's 1,000,000 bytes", () => {
    expect(templates.filter((t) => t.endsWith(".nested.template.json")).length).toBeGreaterThanOrEqual(32);
    const over = templates.filter((file) => statSync(file).size >= MAX_TEMPLATE_BYTES);
    expect(over).toEqual([]);
  });

  describeCfnLint("cfn-lint", () => {
    it("finds no cfn-lint error in any template", async () => {
      // Two processes (the machine's two cores), each linting every other template.
      const halves = [templates.filter((_, i) => i % 2 === 0), templates.filter((_, i) => i % 2 === 1)];
      const runs = await Promise.all(halves.map((files) => lint(files)));
      for (const run of runs) {
        // Exit codes are a bit mask (2 errors, 4 warnings, 8 informational); 1 means cfn-lint itself failed.
        expect(run.status === 1 ? run.stderr : "").toBe("");
      }
      const findings = runs.flatMap((run) => JSON.parse(run.stdout || "[]") as Finding[]);
      const errors = findings.filter((f) => f.Level === "Error").map((f) => `${f.Filename}: ${f.Rule.Id} ${f.Message}`);
      expect(errors).toEqual([]);
    }, 600_000);
  });
});
