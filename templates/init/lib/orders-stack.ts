/** The stack: the orders flow as a Step Functions state machine, one Lambda per task, alerts to SNS. */
import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { FlowStateMachine } from "flowhooks/cdk";
import { ordersFlow } from "../flows/orders";

export class OrdersStack extends Stack {
  readonly orders: FlowStateMachine;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.orders = new FlowStateMachine(this, "Orders", {
      flow: ordersFlow,
      entry: fileURLToPath(new URL("../flows/orders.ts", import.meta.url)),
      exportName: "ordersFlow",
      // The handler Lambda and built-in alerts (Failed, TimedOut, Retrying) to a new encrypted SNS topic.
      // For Slack, add `secrets: { SLACK_WEBHOOK_URL: secret }` so the flow's slackNotifier can read it.
      alerts: { topic: true },
    });
    new CfnOutput(this, "StateMachineArn", { value: this.orders.stateMachine.stateMachineArn });
    new CfnOutput(this, "AlertTopicArn", { value: this.orders.alertTopic!.topicArn, description: "Subscribe to it (e.g. your e-mail) to get the alerts." });
  }
}
