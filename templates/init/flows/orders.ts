/**
 * An example flow: fetch the day's orders (retried when the API is flaky), total them, and alert on
 * failures and retries. `flow.run()` runs it here; lib/orders-stack.ts deploys it to AWS.
 */
import {
  Failed,
  Flow,
  Retrying,
  Skipped,
  consoleNotifier,
  getRunContext,
  parameter,
  slackNotifier,
  task,
  type StateHandler,
} from "flowhooks";

export interface Order {
  id: number;
  total: number;
}

/** The shop does not trade today: not a failure worth an alert. */
export class ShopClosedError extends Error {
  override name = "ShopClosedError";
}

/**
 * A state handler: a fetch that failed because the shop is closed ends Skipped instead of Failed,
 * so nothing alerts and the tasks after it are skipped too.
 */
export const closedShopIsSkipped: StateHandler = (_task, _oldState, newState) => {
  if (newState.isFailed() && newState.result instanceof ShopClosedError) return new Skipped("The shop is closed today.");
  return newState;
};

// Alerts on failures and retries: to Slack where the secret SLACK_WEBHOOK_URL is configured, else
// to the console. Decided at each alert, where the secret is read, so the same code works everywhere:
// locally `export FLOWHOOKS_SECRET_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/…`; deployed and
// emulated, the stack gives the secret (see lib/orders-stack.ts), else the alert goes to the log.
const alert = slackNotifier({ onlyStates: [Failed, Retrying], whenMissing: consoleNotifier() });

export const fetchOrders = task(
  { name: "fetchOrders", maxRetries: 2, retryDelaySeconds: 5, stateHandlers: [closedShopIsSkipped] },
  async (shopOpen: boolean, flakyAttempts: number): Promise<Order[]> => {
    if (!shopOpen) throw new ShopClosedError("The shop is closed.");
    // Stands in for a flaky API: the first `flakyAttempts` attempts fail.
    const attempt = getRunContext()?.attempt ?? 1;
    if (attempt <= flakyAttempts) throw new Error(`The orders API timed out (attempt ${attempt}).`);
    return [
      { id: 1, total: 30 },
      { id: 2, total: 12 },
    ];
  },
);

export const totalOrders = task({ name: "totalOrders" }, (orders: Order[]) => orders.reduce((sum, o) => sum + o.total, 0));

export const ordersFlow = new Flow({ name: "orders", alerts: [alert] }, () => {
  totalOrders(fetchOrders(parameter("shopOpen", true), parameter("flakyAttempts", 0)));
});
