/**
 * The inline map's byte budget holds for the worst child: whatever a child returns or throws, its
 * output in the execution JSON takes at most `childOutputMaxBytes(threshold)`, so mapMode "auto"
 * never runs inline a map whose state can pass Step Functions' 256 KiB.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Flow, task } from "../../../lib/index";
import { virtualClock } from "../../../lib/core/clock";
import { childOutputMaxBytes, MAP_CHILD_MESSAGE_BYTES, runTask, type MapItem } from "../../../lambdas/task/index";
import { memoryStore } from "../../helpers/memory-store";

// The longest names Step Functions allows (80-character state machine and execution names) and a 64-character task name.
const EXECUTION = `arn:aws:states:ap-southeast-5:123456789012:execution:${"s".repeat(80)}:${"e".repeat(80)}`;
const TASK = "t".repeat(64);

async function childOutput(body: () => unknown, threshold: number, index: number, retryCount: number) {
  const work = task({ name: TASK, maxRetries: retryCount }, (_x: number) => body());
  const list = task({ name: "list" }, () => [1]);
  const flow = new Flow({ name: "f" }, () => void work.map(list()));
  const item: MapItem = { index, items: [{ type: "Success", result: 1 }] };
  const payload = { task: TASK, mode: "child", item, parameters: {}, upstream: {}, context: { Execution: { Id: EXECUTION }, State: { RetryCount: retryCount } } };
  return runTask(payload, { flow, taskName: TASK, clock: virtualClock(), emit: async () => undefined, results: memoryStore().store, resultThresholdBytes: threshold });
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe("a map child's output in the execution JSON", () => {
  it("never passes childOutputMaxBytes(threshold), whatever the child throws or returns (any text, any size, any threshold)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: "binary", maxLength: 3000, size: "max" }), fc.string({ unit: "grapheme", maxLength: 3000, size: "max" }), fc.string({ maxLength: 40 })),
        fc.boolean(),
        fc.constantFrom(0, 1, 512, 4096),
        fc.integer({ min: 0, max: 99_999 }),
        fc.integer({ min: 0, max: 9 }),
        async (text, throws, threshold, index, retryCount) => {
          const out = await childOutput(() => {
            if (throws) throw new Error(text);
            return text;
          }, threshold, index, retryCount);
          expect(bytes(out)).toBeLessThanOrEqual(childOutputMaxBytes(threshold));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps a short message whole and cuts a long one to MAP_CHILD_MESSAGE_BYTES, saying how much was cut", async () => {
    const short = (await childOutput(() => { throw new Error("boom"); }, 512, 3, 0)) as { state: { message: string } };
    expect(short.state.message).toMatch(/boom$/);
    const long = (await childOutput(() => { throw new Error("é".repeat(2000)); }, 512, 3, 0)) as { state: { message: string } };
    expect(bytes(long.state.message)).toBeLessThanOrEqual(MAP_CHILD_MESSAGE_BYTES);
    expect(long.state.message).toMatch(/… \[cut by flowhooks: \d+ more characters\]$/);
  });
});
