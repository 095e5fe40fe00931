import * as path from "node:path";
import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { FlowStateMachine } from "flowhooks/cdk";
import { flow } from "../flows/orders";

export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    new FlowStateMachine(this, "Orders", { flow, entry: path.join(__dirname, "..", "flows", "orders.ts"), alerts: { topic: true } });
  }
}
