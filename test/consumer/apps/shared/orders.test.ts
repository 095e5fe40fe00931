// A user's own test of their state handler (jest in the CommonJS app, vitest in the ESM app).
import { Running, Retrying, virtualClock, type State } from "flowhooks";
import { Template } from "aws-cdk-lib/assertions";
import { App } from "aws-cdk-lib";
import { fetchOrders, flow, recordRetries, retries } from "../flows/orders";
import { OrdersStack } from "../lib/orders-stack";

test("the state handler records the retry, and the flow succeeds with no real wait", async () => {
  retries.length = 0;
  const state = await flow.run({ clock: virtualClock() });
  expect(String(state)).toBe('Success("All reference tasks succeeded.")');
  expect(retries).toEqual(["fetchOrders attempt 1"]);
  const byName = new Map<string, State>([...state.result].map(([t, s]) => [t.name, s]));
  expect(String(byName.get("withTax"))).toBe('Mapped("Mapped 2 children.")');
  expect(byName.get("total")!.result).toBe(46.2);
});

test("the state handler ignores states other than Retrying", () => {
  retries.length = 0;
  expect(recordRetries(fetchOrders, new Running(), new Retrying("again", { runCount: 2 }))).toBeUndefined();
  recordRetries(fetchOrders, new Retrying(), new Running());
  expect(retries).toEqual(["fetchOrders attempt 2"]);
});

test("the stack deploys the flow as one state machine with a Lambda per task", () => {
  const stack = new OrdersStack(new App(), "Test");
  const template = Template.fromStack(stack);
  template.resourceCountIs("AWS::StepFunctions::StateMachine", 1);
  template.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: { FLOWHOOKS_TASK: "fetchOrders" } } });
}, 120_000); // real bundling with esbuild
