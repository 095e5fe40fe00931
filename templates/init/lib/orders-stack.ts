/** The stack: the orders flow as a Step Functions state machine, one Lambda per task, alerts to SNS. */
import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { FlowStateMachine } from "flowhooks/cdk";
import { ordersFlow } from "../flows/orders";

export class OrdersStack extends Stack {
  readonly orders: FlowStateMachine;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // Slack: store the Incoming Webhook URL in Secrets Manager and name that secret in cdk.json's
    // "context": { "slackWebhookSecretName": "orders/slack-webhook" }. The functions then read it and the
    // flow's slackNotifier posts there; until then its alerts go to the functions' logs.
    const slackWebhookSecretName = this.node.tryGetContext("slackWebhookSecretName") as string | undefined;
    this.orders = new FlowStateMachine(this, "Orders", {
      flow: ordersFlow,
      entry: fileURLToPath(new URL("../flows/orders.ts", import.meta.url)),
      exportName: "ordersFlow",
      secrets: slackWebhookSecretName
        ? { SLACK_WEBHOOK_URL: secretsmanager.Secret.fromSecretNameV2(this, "SlackWebhook", slackWebhookSecretName) }
        : {},
      // The handler Lambda and built-in alerts (Failed, TimedOut, Retrying) to a new encrypted SNS topic.
      alerts: { topic: true },
    });
    new CfnOutput(this, "StateMachineArn", { value: this.orders.stateMachine.stateMachineArn });
    new CfnOutput(this, "AlertTopicArn", { value: this.orders.alertTopic!.topicArn, description: "Subscribe to it (e.g. your e-mail) to get the alerts." });
  }
}
