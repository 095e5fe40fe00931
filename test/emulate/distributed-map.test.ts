import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inOrderOfFinishing, ITEM_READER_FAILED, readMapItems, writeMapResults } from "../../lib/emulate/distributed-map";

const folder = () => mkdtempSync(join(tmpdir(), "flowhooks-dmap-test-"));

describe("a Distributed Map's S3 side on the local results folder", () => {
  it("reads the items the prepare step stored, and fails the ItemReader (States.ItemReaderFailed) naming the key when they are missing or not one JSON array", async () => {
    const dir = folder();
    mkdirSync(join(dir, "run"), { recursive: true });
    writeFileSync(join(dir, "run/items.json"), JSON.stringify([{ index: 0, items: [] }]));
    writeFileSync(join(dir, "run/object.json"), JSON.stringify({ index: 0 }));
    expect(await readMapItems(dir, "t.MapDistributed", { Bucket: "b", Key: "run/items.json" })).toEqual([{ index: 0, items: [] }]);
    await expect(readMapItems(dir, "t.MapDistributed", { Bucket: "b", Key: "run/none.json" })).rejects.toMatchObject({
      name: ITEM_READER_FAILED,
      message: expect.stringContaining("State `t.MapDistributed`: the ItemReader could not read s3://b/run/none.json"),
    });
    await expect(readMapItems(dir, "t.MapDistributed", { Bucket: "b", Key: "run/object.json" })).rejects.toMatchObject({
      name: ITEM_READER_FAILED,
      message: expect.stringContaining("which is not a JSON array"),
    });
    await expect(readMapItems(dir, "t.MapDistributed", { Key: "../../etc/passwd" })).rejects.toMatchObject({ name: ITEM_READER_FAILED });
  });

  it("writes what the ResultWriter writes: a manifest listing SUCCEEDED and FAILED files of child executions, outputs as JSON text", async () => {
    const dir = folder();
    const at = new Date("2026-01-01T00:00:00Z");
    const out = await writeMapResults(
      dir,
      { stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m", stateName: "t.MapDistributed", id: "0123abcd-run", writer: { Bucket: "b", Prefix: "flowhooks-maps/t" } },
      [
        { index: 1, input: { item: { index: 1 } }, status: "SUCCEEDED", output: { mapIndex: 1 }, startDate: at, stopDate: at },
        { index: 0, input: { item: { index: 0 } }, status: "FAILED", error: "States.DataLimitExceeded", cause: "too big", startDate: at, stopDate: at },
      ],
    );
    expect(out).toEqual({
      MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:m/t.MapDistributed:0123abcd-run",
      ResultWriterDetails: { Bucket: "b", Key: "flowhooks-maps/t/0123abcd-run/manifest.json" },
    });
    const manifest = JSON.parse(readFileSync(join(dir, out.ResultWriterDetails.Key), "utf8"));
    expect(manifest.ResultFiles.PENDING).toEqual([]);
    const [succeeded] = JSON.parse(readFileSync(join(dir, manifest.ResultFiles.SUCCEEDED[0].Key), "utf8"));
    expect(succeeded).toMatchObject({ Status: "SUCCEEDED", Input: '{"item":{"index":1}}', Output: '{"mapIndex":1}' });
    const [failed] = JSON.parse(readFileSync(join(dir, manifest.ResultFiles.FAILED[0].Key), "utf8"));
    expect(failed).toMatchObject({ Status: "FAILED", Error: "States.DataLimitExceeded", Cause: "too big", Input: '{"item":{"index":0}}' });
    expect(failed.Output).toBeUndefined();
  });

  it("runs children at most `concurrency` at once and lists them in the order they finished", async () => {
    let running = 0;
    let peak = 0;
    const done = await inOrderOfFinishing(5, 2, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, i === 0 ? 30 : 1));
      running--;
      return i;
    });
    expect(peak).toBe(2);
    expect(done[done.length - 1]).toBe(0);
    expect([...done].sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
