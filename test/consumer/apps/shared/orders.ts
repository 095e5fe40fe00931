// The flow both consumer apps define (the CommonJS app compiles it as CommonJS, the ESM app as ESM).
import { Flow, Retrying, consoleNotifier, getRunContext, task, unmapped, type State, type Task } from "flowhooks";

/** Retries seen by the state handler, as a user's test would collect them. */
export const retries: string[] = [];

/** A state handler: records every retry of the task it is attached to. */
export function recordRetries(t: Task, _old: State, next: State): State | void {
  if (next instanceof Retrying) retries.push(`${t.name} attempt ${next.runCount}`);
}

export const fetchOrders = task(
  { maxRetries: 2, retryDelaySeconds: 1, stateHandlers: [recordRetries] },
  async function fetchOrders() {
    // The first attempt fails, so every run shows a retry.
    if (getRunContext()?.attempt === 1) throw new Error("orders API is down");
    return [{ id: 1, total: 30 }, { id: 2, total: 12 }];
  },
);

/** Mapped over the orders: one child run per order. */
export const withTax = task(function withTax(order: { id: number; total: number }, rate: number) {
  return { id: order.id, total: Math.round(order.total * (1 + rate) * 100) / 100 };
});

export const total = task(function total(orders: { total: number }[]) {
  return orders.reduce((sum, o) => sum + o.total, 0);
});

export const flow = new Flow({ name: "orders", alerts: [consoleNotifier({ onlyStates: [Retrying] })] }, () => {
  total(withTax.map(fetchOrders(), unmapped(0.1)));
});
