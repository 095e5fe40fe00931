import { fileURLToPath } from "node:url";
import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { FlowStateMachine } from "flowhooks/cdk";
import { flow } from "../flows/orders.js";

export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    new FlowStateMachine(this, "Orders", { flow, entry: fileURLToPath(new URL("../flows/orders.ts", import.meta.url)), alerts: { topic: true } });
  }
}
