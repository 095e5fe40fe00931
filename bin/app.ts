/**
 * The example CDK app: deploys example flows as Step Functions state machines, one Lambda per task.
 * `npx cdk synth` works offline and without AWS credentials (the stack is environment-agnostic);
 * `npx cdk deploy` ships it. AwsSolutions (cdk-nag) checks run on every synth.
 */
import { fileURLToPath } from "node:url";
import { App, Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { FlowStateMachine } from "../lib/cdk/index";
import { ordersFlow } from "../examples/deploy/orders";
import { flow as specialFailureFlow } from "../examples/05-special-failure";
import { flow as onFailureFlow } from "../examples/08-on-failure";
import { flow as mappingFlow } from "../examples/09-mapping";
import { checkFlow, flow as controlFlow } from "../examples/10-control-flow";

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

const stack = new Stack(app, "FlowhooksExamples", { description: "flowhooks example flows" });
// The orders flow gets the handler Lambda and built-in alerts to a new KMS-encrypted SNS topic.
new FlowStateMachine(stack, "Orders", { flow: ordersFlow, entry: path("../examples/deploy/orders.ts"), exportName: "ordersFlow", alerts: { topic: true } });
new FlowStateMachine(stack, "SpecialFailure", { flow: specialFailureFlow, entry: path("../examples/05-special-failure.ts"), exportName: "flow" });
new FlowStateMachine(stack, "OnFailure", { flow: onFailureFlow, entry: path("../examples/08-on-failure.ts"), exportName: "flow" });
// Mapped tasks: one child Lambda invocation per item, in a Map state (a Distributed Map when the items or results are large).
new FlowStateMachine(stack, "Mapping", { flow: mappingFlow, entry: path("../examples/09-mapping.ts"), exportName: "flow" });

// Control flow: the sub-flow is a state machine of its own, which the parent's flowRun starts and waits for;
// the approval's Paused alert (with the `flowhooks resume` command) goes to the flow's SNS topic.
const checkMachine = new FlowStateMachine(stack, "CheckExport", { flow: checkFlow, entry: path("../examples/10-control-flow.ts"), exportName: "checkFlow" });
new FlowStateMachine(stack, "ControlFlow", {
  flow: controlFlow,
  entry: path("../examples/10-control-flow.ts"),
  exportName: "flow",
  flowRuns: { [checkFlow.name]: checkMachine },
  alerts: { topic: true },
});

app.synth();
