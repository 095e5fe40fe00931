/**
 * The task Lambda's emitter (lambdas/task/emit.ts, PutEvents) against moto's EventBridge, through
 * the rule FlowAlerts deploys (its event pattern read from a synthesized template) to an SQS queue,
 * and the record that arrives read by the handler's parser: a task transition reaches the handler
 * as it left the task, events of other flows' executions do not, and an oversized one arrives bounded.
 */
import { beforeAll, expect, it } from "vitest";
import { App, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { parseRecordBody } from "../../../lib/aws/events";
import { createSecrets, secretArnVariable } from "../../../lib/aws/secrets";
import { FlowAlerts } from "../../../lib/cdk/flow-alerts";
import { eventBridgeEmitter, MAX_TASK_EVENT_BYTES } from "../../../lambdas/task/emit";
import type { TaskStateChangeDetail } from "../../../lambdas/task/payload";
import { describeMoto, motoClientConfig, useMoto, restoreAwsEnvAfterEach } from "../../helpers/moto";

const ACCOUNT = "123456789012";
const STATE_MACHINE = "orders-flow";
const execution = (stateMachine: string, name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:execution:${stateMachine}:${name}`;

/** The flow-events rule's pattern as FlowAlerts renders it into the template, with its references resolved. */
function deployedFlowEventsPattern(): unknown {
  const stack = new Stack(new App(), "Alerts", { env: { account: ACCOUNT, region: "us-east-1" } });
  const stateMachine = new sfn.StateMachine(stack, "Machine", {
    stateMachineName: STATE_MACHINE,
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, "Start")),
  });
  const alerts = new FlowAlerts(stack, "FlowAlerts", {
    flowName: "orders",
    stateMachine,
    eventBus: new events.EventBus(stack, "Bus"),
    code: lambda.Code.fromInline("exports.events = exports.reconcile = async () => {};"),
    alerts: {},
  });
  // Resolved as the template would render it, without synthesizing the app (seconds under load).
  const rendered = stack.resolve((alerts.flowEventsRule.node.defaultChild as events.CfnRule).eventPattern);
  const machineId = stack.getLogicalId(stateMachine.node.defaultChild as sfn.CfnStateMachine);
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!value || typeof value !== "object") return value;
    const v = value as Record<string, unknown>;
    if ("Fn::Join" in v) {
      const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
      return parts.map(resolve).join(sep);
    }
    if ("Ref" in v) return ({ "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT } as Record<string, string>)[v.Ref as string];
    if ("Fn::GetAtt" in v) {
      const [id, attribute] = v["Fn::GetAtt"] as [string, string];
      if (id === machineId && attribute === "Name") return STATE_MACHINE;
      throw new Error(`unresolved Fn::GetAtt ${id}.${attribute} in the rule's pattern`);
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve(rendered);
}

restoreAwsEnvAfterEach();

function detail(overrides: Partial<TaskStateChangeDetail> = {}): TaskStateChangeDetail {
  return {
    flow: "orders",
    task: "load",
    executionArn: execution(STATE_MACHINE, "e1"),
    attempt: 1,
    oldState: { type: "Running" },
    newState: { type: "Failed", message: "load broke", result: { $flowhooksError: { name: "Error", message: "connection refused" } } },
    at: "2026-03-01T12:00:00.000Z",
    ...overrides,
  };
}

describeMoto("task events through moto's EventBridge to the handler's queue", () => {
  const moto = useMoto({ executeStateMachines: false });
  const eventBridge = () => new EventBridgeClient(motoClientConfig(moto.current));
  const sqs = () => new SQSClient(motoClientConfig(moto.current));
  let pattern: unknown;
  let queueUrl: string;

  beforeAll(async () => {
    pattern = deployedFlowEventsPattern();
    queueUrl = (await sqs().send(new CreateQueueCommand({ QueueName: "orders-events" }))).QueueUrl!;
    const queueArn = (await sqs().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    await eventBridge().send(new CreateEventBusCommand({ Name: "flowhooks-orders" }));
    await eventBridge().send(new PutRuleCommand({ Name: "flow-events", EventBusName: "flowhooks-orders", EventPattern: JSON.stringify(pattern) }));
    await eventBridge().send(new PutTargetsCommand({ Rule: "flow-events", EventBusName: "flowhooks-orders", Targets: [{ Id: "queue", Arn: queueArn }] }));
  }, 120_000);

  async function received(): Promise<string[]> {
    const out = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    return (out.Messages ?? []).map((m) => m.Body!);
  }

  it("the deployed rule selects the flow's task events by flow name and by its state machine's executions", () => {
    expect(pattern).toMatchObject({
      source: ["flowhooks"],
      detail: { flow: ["orders"], executionArn: [{ prefix: `arn:aws:states:us-east-1:${ACCOUNT}:execution:${STATE_MACHINE}:` }] },
    });
  });

  it("a task transition put on the bus reaches the handler's queue and parses as the transition that was sent", async () => {
    const sent = detail();
    await eventBridgeEmitter("flowhooks-orders", eventBridge())(sent);
    const bodies = await received();
    expect(bodies).toHaveLength(1);
    expect(parseRecordBody(bodies[0]!)).toMatchObject({ kind: "task-transition", flow: "orders", task: "load", executionArn: sent.executionArn, attempt: 1 });
  });

  it("task events of another flow, or of another state machine's executions, do not reach the queue", async () => {
    const emit = eventBridgeEmitter("flowhooks-orders", eventBridge());
    await emit(detail({ flow: "invoices" }));
    await emit(detail({ executionArn: execution("orders-flow-copy", "e1") }));
    await emit(detail({ executionArn: execution(STATE_MACHINE, "e2"), task: "price" }));
    expect((await received()).map((body) => (parseRecordBody(body) as { task?: string }).task)).toEqual(["price"]);
  });

  it("a transition carrying a megabyte of error text arrives bounded, with the error's name and the start of its message", async () => {
    const huge = detail({ newState: { type: "Failed", message: "load broke", result: { $flowhooksError: { name: "TimeoutError", message: `ünïcode ${"x".repeat(1024 * 1024)}` } } } });
    await eventBridgeEmitter("flowhooks-orders", eventBridge())(huge);
    const [body] = await received();
    const envelope = JSON.parse(body!) as { detail: TaskStateChangeDetail };
    expect(Buffer.byteLength(JSON.stringify(envelope.detail))).toBeLessThanOrEqual(MAX_TASK_EVENT_BYTES);
    expect(JSON.stringify(envelope.detail.newState.result)).toContain('"name":"TimeoutError"');
    expect(JSON.stringify(envelope.detail.newState.result)).toContain("ünïcode xxx");
  });

  it("the task Lambda's own client (none injected) puts events where AWS_ENDPOINT_URL points", async () => {
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.current.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    await eventBridgeEmitter("flowhooks-orders")(detail({ task: "save" }));
    expect((await received()).map((body) => (parseRecordBody(body) as { task?: string }).task)).toEqual(["save"]);
  });

  it("a secret the task read from Secrets Manager never reaches the queue, even when its error message quotes it", async () => {
    const token = "xoxb-0000-moto-secret-token";
    const { ARN } = await new SecretsManagerClient(motoClientConfig(moto.current)).send(new CreateSecretCommand({ Name: "orders/api-token", SecretString: token }));
    const secrets = createSecrets({ env: { AWS_LAMBDA_FUNCTION_NAME: "orders-load", [secretArnVariable("API_TOKEN")]: ARN! }, secretsManager: new SecretsManagerClient(motoClientConfig(moto.current)) });
    expect(await secrets.get("API_TOKEN")).toBe(token);
    await eventBridgeEmitter("flowhooks-orders", eventBridge())(
      detail({ task: "call-api", newState: { type: "Failed", message: `401 for ${token}`, result: { $flowhooksError: { name: "HttpError", message: `Bearer ${token} refused` } } } }),
    );
    const bodies = await received();
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).not.toContain(token);
    expect((parseRecordBody(bodies[0]!) as { task?: string }).task).toBe("call-api");
  });
});
