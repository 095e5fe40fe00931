/**
 * The result stores a task function can use (lib/core/results.ts decides what is stored): the
 * construct's S3 bucket in AWS, a local folder in the emulator. Chosen from the environment.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { loadS3 } from "./sdk";
import type { ResultStore } from "../core/results";

let sharedClient: S3Client | undefined;

/** Results as objects in `bucket` (SSE by the bucket's default encryption). The SDK loads on first use. */
export function s3ResultStore(bucket: string, client?: Pick<S3Client, "send">): ResultStore {
  const s3 = async () => {
    const sdk = await loadS3();
    return { sdk, client: client ?? (sharedClient ??= new sdk.S3Client({})) };
  };
  return {
    async put(key, body) {
      const { sdk, client: c } = await s3();
      await c.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json" }));
    },
    async get(key) {
      const { sdk, client: c } = await s3();
      const out = await c.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new Error(`Stored result s3://${bucket}/${key} is empty`);
      return out.Body.transformToString();
    },
  };
}

/** Results as files under `dir` (the emulator's local stand-in for the results bucket). */
export function folderResultStore(dir: string): ResultStore {
  const root = resolve(dir);
  const file = (key: string) => {
    const path = resolve(root, key);
    if (!path.startsWith(root + sep)) throw new Error(`Result key ${key} leaves the results folder ${root}`);
    return path;
  };
  return {
    async put(key, body) {
      const path = file(key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    },
    async get(key) {
      return readFile(file(key), "utf8");
    },
  };
}

/** The store `FLOWHOOKS_RESULTS_BUCKET` (AWS) or `FLOWHOOKS_RESULTS_DIR` (emulator) names, if any. */
export function resultStoreFromEnv(env: { resultsBucket?: string; resultsDir?: string }): ResultStore | undefined {
  if (env.resultsBucket) return s3ResultStore(env.resultsBucket);
  if (env.resultsDir) return folderResultStore(join(env.resultsDir));
  return undefined;
}
