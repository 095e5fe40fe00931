/**
 * The task functions' results store (lambdas/task/results.ts, S3) against moto's S3: a result above
 * the threshold is offloaded as a JSON object and read back whole by the next task; the store the
 * task Lambda builds from its environment reaches the endpoint AWS_ENDPOINT_URL names.
 */
import { expect, it } from "vitest";
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { offloadResult, resolveResult, RESULT_REF } from "../../../lib/core/results";
import type { StateJSON } from "../../../lib/core/states";
import { resultStoreFromEnv, s3ResultStore } from "../../../lib/aws/results";
import { describeMoto, motoClientConfig, useMoto, restoreAwsEnvAfterEach } from "../../helpers/moto";

restoreAwsEnvAfterEach();

/** A task's Success state with a result of about `bytes` bytes (non-ASCII included, so bytes ≠ characters). */
function successWith(bytes: number): StateJSON {
  const rows = Array.from({ length: Math.ceil(bytes / 40) }, (_, i) => ({ id: i, name: `línea ${i} ✓` }));
  return { type: "Success", message: "Task run succeeded.", result: { rows } };
}

describeMoto("the results store against moto's S3", () => {
  const moto = useMoto({ executeStateMachines: false });
  const s3 = () => new S3Client({ ...motoClientConfig(moto.current), forcePathStyle: true });

  it("a result above the threshold is stored as a JSON object and read back whole by a downstream task", async () => {
    await s3().send(new CreateBucketCommand({ Bucket: "results-offload" }));
    const store = s3ResultStore("results-offload", s3());
    const state = successWith(300 * 1024);
    const carried = await offloadResult(state, store, "orders/e1/load/1.json");
    expect(carried.result).toEqual({ [RESULT_REF]: { key: "orders/e1/load/1.json", bytes: Buffer.byteLength(JSON.stringify(state.result)) } });
    const head = await s3().send(new HeadObjectCommand({ Bucket: "results-offload", Key: "orders/e1/load/1.json" }));
    expect(head.ContentType).toBe("application/json");
    expect(head.ContentLength).toBe(Buffer.byteLength(JSON.stringify(state.result)));
    expect(await resolveResult(carried, s3ResultStore("results-offload", s3()))).toEqual(state);
  });

  it("a result under the threshold writes nothing", async () => {
    await s3().send(new CreateBucketCommand({ Bucket: "results-small" }));
    const small: StateJSON = { type: "Success", result: 42 };
    expect(await offloadResult(small, s3ResultStore("results-small", s3()), "orders/e1/price/1.json")).toEqual(small);
    expect((await s3().send(new ListObjectsV2Command({ Bucket: "results-small" }))).KeyCount).toBe(0);
  });

  it("reading a result that is not there fails with S3's NoSuchKey, not an empty result", async () => {
    await s3().send(new CreateBucketCommand({ Bucket: "results-missing" }));
    await expect(s3ResultStore("results-missing", s3()).get("orders/e1/gone.json")).rejects.toMatchObject({ name: "NoSuchKey" });
  });

  it("the task Lambda's store from FLOWHOOKS_RESULTS_BUCKET reaches the endpoint AWS_ENDPOINT_URL names", async () => {
    await s3().send(new CreateBucketCommand({ Bucket: "results-env" }));
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.current.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    const store = resultStoreFromEnv({ resultsBucket: "results-env" })!;
    await store.put("orders/e2/load/1.json", '{"ok":true}');
    expect(await store.get("orders/e2/load/1.json")).toBe('{"ok":true}');
  });
});
