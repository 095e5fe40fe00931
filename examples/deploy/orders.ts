/**
 * A small order pipeline to deploy with `npx cdk deploy` (see bin/app.ts): load an order, price it
 * (flaky, retried by Step Functions), save it, and always release the order lock at the end. The
 * flow succeeds when the order was saved (its reference task), whatever the lock release does.
 */
import { Flow, parameter, signals, task, triggers } from "../../lib/index";

export const loadOrder = task({ name: "loadOrder" }, (orderId: string) => ({ orderId, items: 3 }));

export const priceOrder = task(
  { name: "priceOrder", maxRetries: 2, retryDelaySeconds: 5, backoffRate: 2, timeoutSeconds: 20 },
  (order: { orderId: string; items: number }) => {
    // Stands in for a flaky pricing service: fails about a third of the time.
    if (Math.random() < 0.33) throw new signals.RETRY("Pricing service busy");
    return { ...order, total: order.items * 10 };
  },
);

export const saveOrder = task({ name: "saveOrder", memorySize: 512 }, (order: { orderId: string; total: number }) => `saved ${order.orderId}`);

export const releaseLock = task({ name: "releaseLock", trigger: triggers.allFinished }, (_saved: string) => "lock released");

export const ordersFlow = new Flow({ name: "orders", referenceTasks: [saveOrder] }, () => {
  const saved = saveOrder(priceOrder(loadOrder(parameter("orderId", "order-1"))));
  releaseLock(saved);
});
