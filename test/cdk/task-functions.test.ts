import { describe, expect, it } from "vitest";
import { App, Duration, Size, Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { FlowStateMachine } from "../../lib/cdk/index";
import { flowStack, ordersFlow } from "../helpers/cdk";

type Resource = { Properties: Record<string, any> };

/** The task function whose FLOWHOOKS_TASK is `name`. */
function taskFunction(template: Template, name: string): Resource {
  const found = Object.values(template.findResources("AWS::Lambda::Function")).filter(
    (f) => (f as Resource).Properties.Environment?.Variables?.FLOWHOOKS_TASK === name,
  );
  expect(found).toHaveLength(1);
  return found[0] as Resource;
}

/** Every action and resource in the inline policies attached to `roleRef` (a `{ Ref }` or a `Fn::GetAtt`). */
function policyStatementsOf(template: Template, role: unknown): { Action: string | string[]; Resource: unknown }[] {
  const logicalId = (role as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"]?.[0];
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === logicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const env = (name: string) => ({ Environment: { Variables: Match.objectLike({ FLOWHOOKS_TASK: name }) } });

describe("task function options", () => {
  it("runs task functions on arm64 by default, and on x86_64 when taskDefaults says so", () => {
    flowStack(ordersFlow()).template().hasResourceProperties("AWS::Lambda::Function", { ...env("load"), Architectures: ["arm64"] });
    flowStack(ordersFlow(), { taskDefaults: { architecture: lambda.Architecture.X86_64 } })
      .template()
      .hasResourceProperties("AWS::Lambda::Function", { ...env("load"), Architectures: ["x86_64"] });
  });

  it("lets tasks[name] win over taskDefaults, and the task's own memorySize and timeoutSeconds win over both", () => {
    // ordersFlow: enrich has memorySize 512; price has timeoutSeconds 30.
    const template = flowStack(ordersFlow(), {
      taskDefaults: { memorySize: 1024, timeout: Duration.minutes(1), architecture: lambda.Architecture.X86_64 },
      tasks: {
        load: { memorySize: 2048, architecture: lambda.Architecture.ARM_64 },
        enrich: { memorySize: 3008 },
        price: { timeout: Duration.minutes(10) },
      },
    }).template();
    template.hasResourceProperties("AWS::Lambda::Function", { ...env("load"), MemorySize: 2048, Timeout: 60, Architectures: ["arm64"] });
    template.hasResourceProperties("AWS::Lambda::Function", { ...env("enrich"), MemorySize: 512 });
    template.hasResourceProperties("AWS::Lambda::Function", { ...env("price"), MemorySize: 1024, Timeout: 35 });
    template.hasResourceProperties("AWS::Lambda::Function", { ...env("save"), MemorySize: 1024, Timeout: 60, Architectures: ["x86_64"] });
  });

  it("merges environment key by key across levels, beside flowhooks' own variables", () => {
    const template = flowStack(ordersFlow(), {
      alerts: {},
      taskDefaults: { environment: { TABLE: "orders", STAGE: "prod" } },
      tasks: { load: { environment: { TABLE: "orders-archive", BUCKET: "raw" } } },
    }).template();
    expect(taskFunction(template, "load").Properties.Environment.Variables).toEqual({
      TABLE: "orders-archive",
      STAGE: "prod",
      BUCKET: "raw",
      FLOWHOOKS_TASK: "load",
      FLOWHOOKS_EVENT_BUS: expect.stringMatching(/^flowhooks-[0-9a-f]{12}$/),
      FLOWHOOKS_RESULTS_BUCKET: expect.anything(),
      FLOWHOOKS_RESULT_THRESHOLD_BYTES: "512",
    });
    expect(taskFunction(template, "save").Properties.Environment.Variables).toMatchObject({ TABLE: "orders", STAGE: "prod" });
  });

  it("refuses an environment variable that would override flowhooks' own, naming it", () => {
    expect(() => flowStack(ordersFlow(), { tasks: { load: { environment: { FLOWHOOKS_TASK: "x" } } } })).toThrow(
      /`tasks\.load\.environment` sets FLOWHOOKS_TASK; variables starting with FLOWHOOKS_ are flowhooks' own and cannot be overridden/,
    );
    expect(() => flowStack(ordersFlow(), { taskDefaults: { environment: { AWS_REGION: "eu-west-1" } } })).toThrow(/sets AWS_REGION, which Lambda reserves/);
  });

  it("refuses tasks entries for names the flow does not have, listing the known ones", () => {
    expect(() => flowStack(ordersFlow(), { tasks: { lod: { memorySize: 512 } } })).toThrow(
      /`tasks` names `lod`, which is not a task of the flow; use one of: load, enrich, price, save, notify\./,
    );
  });

  it("validates every level's values at synth, naming the value and the fix", () => {
    expect(() => flowStack(ordersFlow(), { tasks: { load: { memorySize: 64 } } })).toThrow(/`tasks\.load\.memorySize` is 64; Lambda takes a whole number of MB from 128 to 10240/);
    expect(() => flowStack(ordersFlow(), { tasks: { save: { timeout: Duration.minutes(16) } } })).toThrow(/`tasks\.save\.timeout` is 16 minutes; .*15 minutes/);
    expect(() => flowStack(ordersFlow(), { taskDefaults: { ephemeralStorageSize: Size.gibibytes(20) } })).toThrow(/ephemeralStorageSize` is 20480 MiB; Lambda takes Size\.mebibytes\(512\)/);
    expect(() => flowStack(ordersFlow(), { tasks: { load: { reservedConcurrentExecutions: -1 } } })).toThrow(/reservedConcurrentExecutions` is -1/);
    expect(() => flowStack(ordersFlow(), { tasks: { load: { runtime: lambda.Runtime.PYTHON_3_12 } } })).toThrow(/python3\.12; flowhooks needs Node\.js 22 or newer/);
    const stack = new Stack();
    const layers = Array.from({ length: 6 }, (_, i) => lambda.LayerVersion.fromLayerVersionArn(stack, `L${i}`, `arn:aws:lambda:us-east-1:123456789012:layer:l${i}:1`));
    expect(() => flowStack(ordersFlow(), { taskDefaults: { layers } })).toThrow(/lists 6 layers; Lambda allows 5/);
    expect(() => flowStack(ordersFlow(), { tasks: { load: { securityGroups: [] } } })).toThrow(/task `load` gets `vpcSubnets` or `securityGroups` without `vpc`; set `vpc` too/);
    expect(() => flowStack(ordersFlow(), { tasks: { load: { ownRole: "yes" as never } } })).toThrow(/ownRole` must be true or false/);
  });

  it("places a task in a VPC with its subnets and security groups, and lets its role manage ENIs", () => {
    const made = flowStackWith((s) => {
      const vpc = new ec2.Vpc(s, "Vpc", { maxAzs: 2, natGateways: 1 });
      const sg = new ec2.SecurityGroup(s, "Sg", { vpc });
      return { tasks: { load: { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [sg] } } };
    });
    const t = made.template();
    t.hasResourceProperties("AWS::Lambda::Function", {
      ...env("load"),
      VpcConfig: { SubnetIds: Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp("VpcPrivateSubnet") })]), SecurityGroupIds: [Match.objectLike({ "Fn::GetAtt": Match.arrayWith([Match.stringLikeRegexp("^Sg")]) })] },
    });
    expect(taskFunction(t, "save").Properties.VpcConfig).toBeUndefined();
    t.hasResourceProperties("AWS::IAM::Role", {
      ManagedPolicyArns: Match.arrayWith([Match.objectLike({ "Fn::Join": Match.arrayWith([Match.arrayWith([":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"])]) })]),
    });
  });

  it("passes layers, ephemeral storage, reserved concurrency and tracing through to the function", () => {
    const made = flowStackWith((s) => ({
      taskDefaults: { layers: [lambda.LayerVersion.fromLayerVersionArn(s, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:shared:3")] },
      tasks: { load: { ephemeralStorageSize: Size.gibibytes(2), reservedConcurrentExecutions: 5, tracing: lambda.Tracing.PASS_THROUGH } },
    }));
    const t = made.template();
    t.hasResourceProperties("AWS::Lambda::Function", {
      ...env("load"),
      Layers: ["arn:aws:lambda:us-east-1:123456789012:layer:shared:3"],
      EphemeralStorage: { Size: 2048 },
      ReservedConcurrentExecutions: 5,
      TracingConfig: { Mode: "PassThrough" },
    });
    t.hasResourceProperties("AWS::Lambda::Function", { ...env("save"), Layers: ["arn:aws:lambda:us-east-1:123456789012:layer:shared:3"], TracingConfig: { Mode: "Active" } });
  });

  it("keeps a task's logs for logRetention in its own log group, or writes to the log group given", () => {
    const made = flowStackWith((s) => ({
      tasks: { load: { logRetention: logs.RetentionDays.TWO_WEEKS }, save: { logGroup: new logs.LogGroup(s, "Shared", { retention: logs.RetentionDays.ONE_DAY }) } },
    }));
    const t = made.template();
    const loadName = taskFunction(t, "load").Properties.FunctionName as string;
    t.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: `/aws/lambda/${loadName}`, RetentionInDays: 14 });
    t.hasResourceProperties("AWS::Lambda::Function", { ...env("save"), LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp("^Shared") } } });
    // The shared role may write to the log group given (it is outside the /aws/lambda/<prefix>* it may write to anyway).
    const save = taskFunction(t, "save");
    const actions = policyStatementsOf(t, save.Properties.Role).flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(["logs:CreateLogStream", "logs:PutLogEvents"]));
    // A task's log group replaces the defaults' retention (one choice), rather than clashing with it.
    const overriding = flowStackWith((s) => ({
      taskDefaults: { logRetention: logs.RetentionDays.TWO_WEEKS },
      tasks: { save: { logGroup: new logs.LogGroup(s, "Own") } },
    })).template();
    overriding.hasResourceProperties("AWS::Lambda::Function", { ...env("save"), LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp("^Own") } } });
    expect(() => flowStackWith((s) => ({ tasks: { load: { logRetention: logs.RetentionDays.ONE_DAY, logGroup: new logs.LogGroup(s, "G") } } }))).toThrow(
      /both `logRetention` and `logGroup`/,
    );
  });
});

describe("bundling options in the template", () => {
  it("turns on source maps in every task function and the handler Lambda with bundling.sourceMap, keeping the user's NODE_OPTIONS", () => {
    const template = flowStack(ordersFlow(), { bundling: { sourceMap: true }, tasks: { load: { environment: { NODE_OPTIONS: "--max-old-space-size=200" } } } }).template();
    expect(taskFunction(template, "save").Properties.Environment.Variables.NODE_OPTIONS).toBe("--enable-source-maps");
    expect(taskFunction(template, "load").Properties.Environment.Variables.NODE_OPTIONS).toBe("--max-old-space-size=200 --enable-source-maps");
    // The handler Lambda runs the same asset (the flow's own state handlers): its traces are mapped too.
    const withAlerts = flowStack(ordersFlow(), { bundling: { sourceMap: true }, alerts: {} }).template();
    withAlerts.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.events", Environment: { Variables: Match.objectLike({ NODE_OPTIONS: "--enable-source-maps" }) } });
  });

  it("refuses bundling values esbuild cannot take, naming the fix", () => {
    expect(() => flowStack(ordersFlow(), { bundling: { define: { BUILD: 42 as never } } })).toThrow(/`bundling\.define\.BUILD` is number; define values are code as a string/);
    expect(() => flowStack(ordersFlow(), { bundling: { nodeModules: ["pg@8"] } })).toThrow(/give package names without versions/);
  });
});

describe("permissions per task", () => {
  it("returns the shared role from grantPrincipal for a task without ownRole, and refuses unknown names, listing the tasks", () => {
    const { construct } = flowStack(ordersFlow());
    expect(construct.grantPrincipal("load")).toBe(construct.taskRole);
    expect(construct.grantPrincipal("save")).toBe(construct.taskRole);
    expect(() => construct.grantPrincipal("lod")).toThrow(/grantPrincipal\("lod"\) names no task of the flow; use one of: load, enrich, price, save, notify\./);
  });

  it("gives an ownRole task a role of its own; a grant to it is in no other task's policy", () => {
    const { stack, construct, template } = flowStack(ordersFlow(), { tasks: { load: { ownRole: true } } });
    const bucket = new s3.Bucket(stack, "Raw");
    bucket.grantRead(construct.grantPrincipal("load"));
    expect(construct.grantPrincipal("load")).not.toBe(construct.taskRole);
    const t = template();
    const loadRole = taskFunction(t, "load").Properties.Role;
    const bucketRef = (s: { Resource: unknown }) => JSON.stringify(s.Resource).includes('"Raw');
    expect(policyStatementsOf(t, loadRole).some(bucketRef)).toBe(true);
    for (const other of ["enrich", "price", "save", "notify"]) {
      const role = taskFunction(t, other).Properties.Role;
      expect(JSON.stringify(role)).not.toBe(JSON.stringify(loadRole));
      expect(policyStatementsOf(t, role).some(bucketRef)).toBe(false);
    }
  });

  it("gives an own role the shared role's base permissions: logs, X-Ray, events for alerts, the flow's secrets", () => {
    const t = flowStack(ordersFlow(), { tasks: { load: { ownRole: true } }, alerts: {} }).template();
    const base = (role: unknown) =>
      policyStatementsOf(t, role)
        .flatMap((s) => [s.Action].flat())
        .sort();
    const shared = base(taskFunction(t, "save").Properties.Role);
    expect(base(taskFunction(t, "load").Properties.Role)).toEqual(shared);
    expect(shared).toEqual(expect.arrayContaining(["logs:PutLogEvents", "xray:PutTraceSegments", "events:PutEvents", "s3:GetObject", "s3:PutObject"]));
    // The event bus denies PutEvents to every role off its role path: the own role is on it.
    const bus = Object.values(t.findResources("AWS::Events::EventBus"))[0]!;
    const admitted = JSON.stringify(bus.Properties.Policy.Statement[0].Condition.ArnNotLike);
    const loadRole = taskFunction(t, "load").Properties.Role as { "Fn::GetAtt": [string, string] };
    const path = t.toJSON().Resources[loadRole["Fn::GetAtt"][0]].Properties.Path as string;
    expect(path).toMatch(/^\/flowhooks\/flowhooks-[0-9a-f]{12}\/$/);
    expect(admitted).toContain(`:role${path}*`);

    const withSecret = flowStackWith((s) => ({
      tasks: { load: { ownRole: true } },
      secrets: { API_KEY: secretsmanager.Secret.fromSecretNameV2(s, "Key", "api-key") },
    })).template();
    const readsSecret = (role: unknown) => policyStatementsOf(withSecret, role).some((st) => [st.Action].flat().includes("secretsmanager:GetSecretValue"));
    expect(readsSecret(taskFunction(withSecret, "load").Properties.Role)).toBe(true);
    expect(readsSecret(taskFunction(withSecret, "save").Properties.Role)).toBe(true);
  });

  it("passes AwsSolutions checks with an own role and a task in a VPC, each deliberate finding acknowledged", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, "FlowStack");
    const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 1, natGateways: 1 });
    Validations.of(vpc).acknowledge({ id: "AwsSolutions::AwsSolutions-VPC7", reason: "A test VPC without flow logs." });
    new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, tasks: { load: { ownRole: true, vpc }, save: { vpc } } });
    expect(() => app.synth()).not.toThrow();
  });

  it("refuses ownRole in taskDefaults, pointing at tasks", () => {
    expect(() => flowStack(ordersFlow(), { taskDefaults: { ownRole: true } as never })).toThrow(/`taskDefaults\.ownRole` is not an option; .*`tasks: \{ name: \{ ownRole: true \} \}`/);
  });
});

/** A flow stack whose props are made with the stack in hand (for VPCs, layers, log groups in it). */
function flowStackWith(makeProps: (stack: Stack) => Parameters<typeof flowStack>[1]) {
  const stack = new Stack(undefined, "FlowStack");
  const props = makeProps(stack);
  const construct = new FlowStateMachine(stack, "Flow", { flow: ordersFlow(), entry: "unused.ts", stubBundling: true, ...props });
  return { stack, construct, template: () => Template.fromStack(stack) };
}