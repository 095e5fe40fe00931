import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { App, CfnResource, Duration, NestedStack, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { AwsSolutionsChecks } from "cdk-nag";
import { validateDefinition, CompileError, type AslDefinition } from "../../lib/compile/index";
import { FlowStateMachine } from "../../lib/cdk/index";
import { MAX_TEMPLATE_BYTES } from "../../lib/cdk/flow-state-machine";
import { Flow, task, type Task } from "../../lib/index";
import { runLocally } from "../compile/local-run";
import { deployedDefinition, flowStack, layeredFlow, ordersFlow, sampleArn } from "../helpers/cdk";

type States = Record<string, Record<string, unknown>>;
function allStates(states: States): [string, Record<string, unknown>][] {
  return Object.entries(states).flatMap(([name, s]) =>
    s.Type === "Parallel" ? (s.Branches as { States: States }[]).flatMap((b) => allStates(b.States)) : [[name, s]],
  );
}

describe("FlowStateMachine", () => {
  const { app, construct, template: synth } = flowStack(ordersFlow());
  const template = synth();
  const names = ["load", "enrich", "price", "save", "notify"];

  it("creates one Lambda function per task on nodejs24.x, each told its task", () => {
    template.resourceCountIs("AWS::Lambda::Function", 5);
    for (const name of names) {
      template.hasResourceProperties("AWS::Lambda::Function", {
        FunctionName: construct.taskFunctions[name]!.functionName === undefined ? Match.anyValue() : Match.stringLikeRegexp(`-${name}$`),
        Runtime: "nodejs24.x",
        Handler: "index.task",
        Environment: { Variables: Match.objectLike({ FLOWHOOKS_TASK: name }) },
      });
    }
  });

  it("gives a task function the task's memory and a timeout just above the task's timeoutSeconds", () => {
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ FLOWHOOKS_TASK: "enrich" }) }, MemorySize: 512 });
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ FLOWHOOKS_TASK: "price" }) }, Timeout: 35, MemorySize: 256 });
    template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ FLOWHOOKS_TASK: "load" }) }, Timeout: 300 });
  });

  it("runs every task function with one shared role", () => {
    template.resourceCountIs("AWS::IAM::Role", 2); // the task role and the state machine's
    const roles = new Set(Object.values(template.findResources("AWS::Lambda::Function")).map((f) => JSON.stringify(f.Properties.Role)));
    expect(roles.size).toBe(1);
  });

  it("lets the task role write logs, traces and the objects of its results bucket (and list it) only", () => {
    const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith("FlowTaskRole")),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    expect(statements.flatMap((s) => s.Action).sort()).toEqual([
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]);
    const bucketId = construct.node.findChild("Results").node.defaultChild as CfnResource;
    const s3 = statements.find((s) => [s.Action].flat().includes("s3:PutObject"))!;
    expect(s3.Resource).toEqual({ "Fn::Join": ["", [{ "Fn::GetAtt": [Stack.of(construct).getLogicalId(bucketId), "Arn"] }, "/*"]] });
    // Listing is on the bucket itself: a missing key (a retry's carried state never written) reads as NoSuchKey, not AccessDenied.
    const list = statements.find((s) => [s.Action].flat().includes("s3:ListBucket"))!;
    expect(list.Resource).toEqual({ "Fn::GetAtt": [Stack.of(construct).getLogicalId(bucketId), "Arn"] });
  });

  it("keeps large results in an encrypted, TLS-only, private bucket whose objects expire, and tells each task function where it is", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: "Enabled" })] },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ FLOWHOOKS_RESULTS_BUCKET: { Ref: Match.stringLikeRegexp("^FlowResults") }, FLOWHOOKS_RESULT_THRESHOLD_BYTES: "512" }) },
    });
  });

  it("deploys a Standard workflow", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", { StateMachineType: "STANDARD" });
  });

  it("lets the state machine invoke exactly its task functions", () => {
    const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith("FlowStateMachineRole")),
    );
    const invoke = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
      .filter((s) => [s.Action].flat().some((a) => a.startsWith("lambda:")));
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Action).toBe("lambda:InvokeFunction");
    const functionNames = Object.values(template.findResources("AWS::Lambda::Function")).map((f) => f.Properties.FunctionName as string);
    expect([invoke[0]!.Resource].flat().map(sampleArn).sort()).toEqual(
      functionNames.map((n) => `arn:aws:lambda:us-east-1:123456789012:function:${n}`).sort(),
    );
  });

  it("compiles task retries to the task state's Retry block", () => {
    const price = allStates(deployedDefinition(template, app.outdir).States).find(([n]) => n === "price")![1];
    expect((price.Retry as unknown[])[0]).toEqual({
      ErrorEquals: ["flowhooks.Retrying"],
      IntervalSeconds: 2,
      MaxAttempts: 3,
      BackoffRate: 3,
      MaxDelaySeconds: 60,
      JitterStrategy: "FULL",
    });
  });

  it("catches every error on every task state (a loop's flowhooks.Looped first, back to the state)", () => {
    const tasks = allStates(deployedDefinition(template, app.outdir).States).filter(([, s]) => s.Type === "Task");
    expect(tasks.map(([n]) => n).sort()).toEqual([...names].sort());
    for (const [name, state] of tasks) expect(state.Catch).toEqual([expect.objectContaining({ ErrorEquals: ["flowhooks.Looped"], Next: `${name}.Loop` }), expect.objectContaining({ ErrorEquals: ["States.ALL"] })]);
  });

  it("invokes each task's own function from its task state", () => {
    const functionNames = Object.values(template.findResources("AWS::Lambda::Function")).map((f) => f.Properties.FunctionName as string);
    for (const [name, state] of allStates(deployedDefinition(template, app.outdir).States).filter(([, s]) => s.Type === "Task")) {
      const arn = (state.Parameters as { FunctionName: string }).FunctionName;
      expect(arn).toMatch(new RegExp(`^arn:aws:lambda:us-east-1:123456789012:function:fh-[0-9a-f]{8}-${name}$`));
      expect(functionNames).toContain(arn.split(":").at(-1));
    }
  });

  it("deploys a definition that runs the flow in aws-local-stepfunctions with the real task code", async () => {
    const run = await runLocally(ordersFlow(), { orderId: "o-7" }, { definition: deployedDefinition(template, app.outdir) });
    expect(run.error).toBeUndefined();
    expect(run.invocations.sort()).toEqual([...names].sort());
    const saved = run.events.find((e) => e.task === "save" && e.newState.type === "Success");
    expect(saved?.newState.result).toEqual({ id: "o-7", p: 10 });
  });

  it("deploys a definition that asl-validator accepts", () => {
    expect(() => validateDefinition("orders", deployedDefinition(template, app.outdir) as AslDefinition)).not.toThrow();
  });

  it("logs to CloudWatch Logs (level ALL) and traces with X-Ray by default", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties("AWS::Lambda::Function", { TracingConfig: { Mode: "Active" } });
  });

  it("turns logging and tracing off by option", () => {
    const t = flowStack(ordersFlow(), { logging: false, tracing: false }).template();
    t.hasResourceProperties("AWS::StepFunctions::StateMachine", { LoggingConfiguration: Match.absent(), TracingConfiguration: { Enabled: false } });
    t.hasResourceProperties("AWS::Lambda::Function", { TracingConfig: Match.absent() });
    t.resourceCountIs("AWS::Logs::LogGroup", 0);
  });
});

describe("FlowStateMachine under cdk-nag", () => {
  function nagSynth(props: Parameters<typeof flowStack>[1] = {}, flow: Flow = ordersFlow()) {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    flowStack(flow, props, app);
    return () => app.synth();
  }

  it("passes AwsSolutions checks, each deliberate finding acknowledged with a reason", () => {
    expect(nagSynth()).not.toThrow();
  });

  it("passes AwsSolutions checks with logging and tracing off", () => {
    expect(nagSynth({ logging: false, tracing: false })).not.toThrow();
  });

  it("passes AwsSolutions checks for a flow split into child state machines, with alerts", () => {
    const synth = nagSynth({ maxDefinitionChars: 3000, alerts: { topic: true } }, layeredFlow(60, 3));
    expect(synth).not.toThrow();
  });

  it("reports an unacknowledged finding (the check is live)", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, "Bare");
    new lambda.Function(stack, "Fn", { runtime: lambda.Runtime.NODEJS_20_X, handler: "index.h", code: lambda.Code.fromInline("exports.h=1") });
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM4|AwsSolutions-L1/);
  });
});

describe("FlowStateMachine limits", () => {
  it("synthesizes a 1,000-task flow with alerts: task functions in nested stacks, the alerts wiring in the parent, every stack under 500 resources", () => {
    const { app, stack, construct } = flowStack(layeredFlow(1000, 20), { alerts: { topic: true } });
    const assembly = app.synth();
    const nested = stack.node.findAll().filter((c): c is Stack => c instanceof Stack && c !== stack);
    expect(nested).toHaveLength(5);
    const parent = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    const parentCount = Object.keys(parent.toJSON().Resources).length;
    expect(parentCount).toBeLessThan(500);
    parent.resourceCountIs("AWS::CloudFormation::Stack", 5);
    // The main state machine and two parts: since every task state catches flowhooks.Looped (about 170 characters with its Pass), this flow's levels take about 1,077,000 characters, past maxDefinitionChars.
    parent.resourceCountIs("AWS::StepFunctions::StateMachine", 3);
    // The handler and the reconciler are the parent's only functions; the queue, DLQ, alarm, table and topic live beside them.
    parent.resourceCountIs("AWS::Lambda::Function", 2);
    parent.resourceCountIs("AWS::SQS::Queue", 2);
    parent.resourceCountIs("AWS::CloudWatch::Alarm", 1);
    parent.resourceCountIs("AWS::DynamoDB::Table", 1);
    parent.resourceCountIs("AWS::SNS::Topic", 1);
    parent.resourceCountIs("AWS::Events::Rule", 3);
    expect(parentCount).toBeLessThan(50);
    for (const n of nested) {
      const t = Template.fromStack(n);
      const count = Object.keys(t.toJSON().Resources).length;
      expect(count).toBeLessThan(500);
      t.resourceCountIs("AWS::Lambda::Function", 200);
    }
    expect(Object.keys(construct.taskFunctions)).toHaveLength(1000);
    // The definition deploys from an S3 asset, so the parent stays far below CloudFormation's 1 MB.
    const files = [`${stack.artifactId}.template.json`, ...nested.map((n) => (n as NestedStack).templateFile)];
    for (const file of files) expect(statSync(join(app.outdir, file)).size).toBeLessThan(MAX_TEMPLATE_BYTES / 2);
    const machine = Object.values(parent.findResources("AWS::StepFunctions::StateMachine"))[0]!.Properties;
    expect(machine.DefinitionString).toBeUndefined();
    expect(machine.DefinitionS3Location).toEqual({ Bucket: expect.anything(), Key: expect.stringMatching(/\.json$/) });
    expect(Object.keys(machine.DefinitionSubstitutions).sort()).toEqual(["AccountId", "Partition", "Region"]);
  });

  it("synthesizes a 5,000-task flow within every limit: child state machines under the definition limit, templates under 1 MB, stacks under 500 resources", () => {
    const chain = new Flow({ name: "chain-5000" }, () => {
      let previous: ReturnType<Task<[number?], number>> | undefined;
      for (let i = 0; i < 5000; i++) {
        const t = task({ name: `step-${i}` }, (x?: number) => (x ?? 0) + 1);
        previous = previous === undefined ? t() : t(previous);
      }
    });
    const { app, stack, construct } = flowStack(chain, { alerts: { topic: true } });
    const assembly = app.synth();
    expect(construct.partStateMachines.length).toBeGreaterThanOrEqual(4);
    for (const part of construct.compiled.parts) expect(JSON.stringify(part.definition).length).toBeLessThan(950_000);
    const parent = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    parent.resourceCountIs("AWS::StepFunctions::StateMachine", 1 + construct.partStateMachines.length);
    parent.resourceCountIs("AWS::CloudFormation::Stack", 25);
    expect(Object.keys(parent.toJSON().Resources).length).toBeLessThan(500);
    const files = readdirSync(app.outdir).filter((f) => f.endsWith(".template.json"));
    expect(files).toHaveLength(26);
    for (const file of files) expect(statSync(join(app.outdir, file)).size).toBeLessThan(MAX_TEMPLATE_BYTES);
    // The main state machine starts the parts and follows them.
    const smRole = stack.resolve(construct.stateMachine.role.roleName);
    const statements = Object.values(parent.findResources("AWS::IAM::Policy"))
      .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify(smRole)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const start = statements.find((st) => [st.Action].flat().includes("states:StartExecution"))!;
    expect([start.Resource].flat()).toEqual(construct.partStateMachines.map((p) => stack.resolve(p.stateMachineArn)));
    expect(statements.some((st) => [st.Action].flat().includes("events:PutRule"))).toBe(true);
  }, 120_000);

  it("refuses a template over CloudFormation's 1 MB, naming the stack and the fix", () => {
    const { app, stack } = flowStack(ordersFlow());
    new CfnResource(stack, "Big", { type: "AWS::CloudFormation::WaitConditionHandle", properties: { Note: "x".repeat(MAX_TEMPLATE_BYTES) } });
    expect(() => app.synth()).toThrow(/Stack FlowStack synthesizes to a \d+-byte template; CloudFormation accepts 1000000.*functionsPerStack/s);
  });

  it("refuses a stack over CloudFormation's 500-resource limit, naming the fix", () => {
    const { app, stack } = flowStack(layeredFlow(450, 10), { functionsPerStack: 450 });
    for (let i = 0; i < 60; i++) new CfnResource(stack, `Filler${i}`, { type: "AWS::CloudFormation::WaitConditionHandle" });
    expect(() => app.synth()).toThrow(/CloudFormation allows 500.*functionsPerStack/s);
  });

  it("refuses a definition over Step Functions' size limit, naming the fix", () => {
    const flow = new Flow({ name: "huge" }, () => {
      for (let i = 0; i < 2500; i++) task({ name: `a-very-long-task-name-that-uses-most-of-the-64-characters-${String(i).padStart(4, "0")}` }, () => i)();
    });
    expect(() => flowStack(flow)).toThrow(CompileError);
    expect(() => flowStack(flow)).toThrow(/Split the flow/);
  });

  it("refuses an Express workflow, naming the fix", () => {
    expect(() => flowStack(ordersFlow(), { stateMachineType: sfn.StateMachineType.EXPRESS } as never)).toThrow(/Standard workflows only.*remove `stateMachineType`/);
  });

  it("refuses a task timeout above what Lambda allows, naming the fix", () => {
    const slow = task({ name: "slow", timeoutSeconds: 1000 }, () => 1);
    expect(() => flowStack(new Flow({ name: "f", tasks: [slow] }))).toThrow(/timeoutSeconds 1000.*lower it/);
  });

  it("refuses a runtime older than the bundle's target", () => {
    expect(() => flowStack(ordersFlow(), { taskDefaults: { runtime: lambda.Runtime.NODEJS_20_X } })).toThrow(/needs Node.js 22 or newer/);
    expect(() => flowStack(ordersFlow(), { taskDefaults: { timeout: Duration.minutes(20) } })).toThrow(/15 minutes/);
  });

  it("refuses a missing entry module unless bundling is stubbed", () => {
    expect(() => new FlowStateMachine(new Stack(new App(), "S"), "F", { flow: ordersFlow(), entry: "does/not/exist.ts" })).toThrow(/does not exist/);
  });
});
