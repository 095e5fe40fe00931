import { describe, expect, it, vi } from "vitest";
import { Mapped, virtualClock, type State } from "../../lib/index";
import { download, flow, main, parse, summarize } from "../../examples/09-mapping";

describe("examples/09-mapping.ts run locally", () => {
  it("downloads every file of the flattened listing once, retries the busy one, parses each download and sums them in order", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
    try {
      await main({ clock: virtualClock(new Date("2026-01-01T00:00:00Z")) });
    } finally {
      spy.mockRestore();
    }
    expect(lines).toEqual([
      // The handler runs for the child that retried (download[1]) and for the parent, once the children finished.
      "download[1] failed and retries at 2026-01-01T00:00:01.000Z",
      "download: Mapped 3 children.",
      'Success("All reference tasks succeeded."): 3 files, total 18',
    ]);
  });

  it("ends each mapped task in Mapped with its children's states, the child of a map over a map reading child i", async () => {
    const state = await flow.run({ clock: virtualClock() });
    const results = state.result as Map<unknown, State>;
    const downloads = results.get(download) as Mapped;
    expect(downloads).toBeInstanceOf(Mapped);
    expect(downloads.mapStates.map((s) => (s.result as { key: string }).key)).toEqual(["exports/2026-11-01.csv", "exports/2026-11-02.csv", "exports/2026-11-03.csv"]);
    expect((results.get(parse) as Mapped).mapStates.map((s) => s.result)).toEqual([
      { key: "exports/2026-11-01.csv", total: 6 },
      { key: "exports/2026-11-02.csv", total: 6 },
      { key: "exports/2026-11-03.csv", total: 6 },
    ]);
    expect(results.get(summarize)?.result).toBe("3 files, total 18");
  });
});
