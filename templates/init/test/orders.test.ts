import { describe, expect, it } from "vitest";
import { Failed, Running, Skipped, virtualClock } from "flowhooks";
import { closedShopIsSkipped, fetchOrders, ordersFlow, ShopClosedError, totalOrders } from "../flows/orders";

describe("closedShopIsSkipped", () => {
  it("turns a failure because the shop is closed into Skipped", () => {
    const failed = new Failed("Error during execution of task: ShopClosedError", { result: new ShopClosedError("closed") });
    expect(closedShopIsSkipped(fetchOrders, new Running(), failed)).toBeInstanceOf(Skipped);
  });

  it("leaves any other failure as it is", () => {
    const failed = new Failed("Error during execution of task: Error: timeout", { result: new Error("timeout") });
    expect(closedShopIsSkipped(fetchOrders, new Running(), failed)).toBe(failed);
  });
});

describe("the orders flow", () => {
  it("retries a flaky fetch and succeeds, without waiting for the retry delay (virtualClock)", async () => {
    const clock = virtualClock();
    const state = await ordersFlow.run({ clock, parameters: { flakyAttempts: 2 } });
    expect(state.isSuccessful()).toBe(true);
    expect(state.result.get(totalOrders)?.result).toBe(42);
    // Two retries: after retryDelaySeconds (5 s), then twice that (backoffRate's default, 2), in virtual time.
    expect(clock.sleeps).toEqual([5000, 10000]);
  });

  it("skips everything on a day the shop is closed, with nothing failed", async () => {
    const state = await ordersFlow.run({ clock: virtualClock(), parameters: { shopOpen: false } });
    expect(state.result.get(fetchOrders)).toBeInstanceOf(Skipped);
    expect(state.isFailed()).toBe(false);
  });
});
