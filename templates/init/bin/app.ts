#!/usr/bin/env node
import { App } from "aws-cdk-lib";
import { OrdersStack } from "../lib/orders-stack";

const app = new App();
// Environment-agnostic: `cdk synth` works offline, without AWS credentials.
new OrdersStack(app, "OrdersStack");
