/**
 * A Distributed Map's S3 side, emulated on the local results folder (the stand-in for the results
 * bucket, results.ts): its ItemReader reads the items the prepare step stored there, and its
 * ResultWriter writes the files Step Functions would (a manifest and one SUCCEEDED file) for the
 * collect step to read through the same store.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import type { DistributedMap } from "./definition";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./synth";

/** The error Step Functions names a failed ItemReader by (the Map state fails with it, catchable). */
export const ITEM_READER_FAILED = "States.ItemReaderFailed";
/** The error of a map run with more failed children than it tolerates (by default, any). */
export const TOLERATED_FAILURE_EXCEEDED = "States.ExceedToleratedFailureThreshold";

/** How many children of a Distributed Map without MaxConcurrency the emulator runs at once (aws-local-stepfunctions' inline default). */
export const DISTRIBUTED_EMULATION_CONCURRENCY = 40;

/** Runs `run(0..count-1)`, at most `concurrency` at once, and returns the results in the order they finished. */
export async function inOrderOfFinishing<T>(count: number, concurrency: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const finished: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) finished.push(await run(next++));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return finished;
}

/** The task a Distributed Map state runs: `t.MapDistributed` → `t`. */
export function mapTaskName(stateName: string): string {
  return stateName.replace(/\.MapDistributed$/, "");
}

/** The line the emulator prints when it runs a Distributed Map (like the "Not emulated:" line). */
export function distributedMapLine(map: DistributedMap, items: number): string {
  return (
    `Distributed Map \`${mapTaskName(map.stateName)}\` emulated as an inline Map: its ${items} item${items === 1 ? "" : "s"} read from the local results folder (not S3), ` +
    `its children run in this process, each checked as a child execution (its own state sizes and history, none of it in this execution's)` +
    `${map.writesResults ? ", its results written to the local results folder as its ResultWriter would" : ""}.`
  );
}

function fileIn(dir: string, key: string): string {
  const root = resolve(dir);
  const path = resolve(root, key);
  if (!path.startsWith(root + sep)) throw Object.assign(new Error(`Key ${key} leaves the results folder ${root}`), { name: ITEM_READER_FAILED });
  return path;
}

/** The items the ItemReader (`s3:getObject`, InputType JSON) would read: the JSON array stored under `reader.Key`. */
export async function readMapItems(resultsDir: string, stateName: string, reader: { Bucket?: string; Key?: string }): Promise<unknown[]> {
  const failed = (why: string) => Object.assign(new Error(`State \`${stateName}\`: the ItemReader ${why}`), { name: ITEM_READER_FAILED });
  if (typeof reader.Key !== "string" || reader.Key === "") throw failed("has no Key (the prepare step returned no itemsKey).");
  const path = fileIn(resultsDir, reader.Key);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw failed(`could not read s3://${reader.Bucket ?? "results"}/${reader.Key} (locally ${path}): ${(error as Error).message}`);
  }
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch (error) {
    throw failed(`read s3://${reader.Bucket ?? "results"}/${reader.Key}, which is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(items)) throw failed(`read s3://${reader.Bucket ?? "results"}/${reader.Key}, which is not a JSON array (InputType JSON reads one).`);
  return items;
}

/** One child execution, as a ResultWriter result file lists it. */
export interface ChildExecutionResult {
  index: number;
  input: unknown;
  status: "SUCCEEDED" | "FAILED";
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate: Date;
}

/** What a Distributed Map with a ResultWriter outputs: where its manifest is. */
export interface ResultWriterOutput {
  MapRunArn: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

/** A map run's ARN, as Step Functions names it (`…:mapRun:<machine>/<state>:<id>`). */
export function mapRunArn(stateMachineArn: string, stateName: string, id: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:mapRun:${stateMachineArn.split(":").pop()}/${stateName}:${id}`;
}

/**
 * Writes the ResultWriter's files under `writer.Prefix` as Step Functions does
 * (`<Prefix>/<map run id>/manifest.json`, `SUCCEEDED_0.json` and `FAILED_0.json` when a child
 * failed; children in the order they finished, which is not item order) and returns the Map
 * state's output.
 */
export async function writeMapResults(
  resultsDir: string,
  run: { stateMachineArn: string; stateName: string; id: string; writer: { Bucket?: string; Prefix?: string } | null },
  children: readonly ChildExecutionResult[],
): Promise<ResultWriterOutput> {
  const stateMachineName = run.stateMachineArn.split(":").pop()!;
  const bucket = run.writer?.Bucket ?? "results";
  const prefix = run.writer?.Prefix ? `${String(run.writer.Prefix).replace(/\/+$/, "")}/` : "";
  const folder = `${prefix}${run.id}`;
  const record = (c: ChildExecutionResult) => {
    const name = `${run.id.slice(0, 8)}-${c.index}`;
    return {
      ExecutionArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineName}/${run.stateName}:${name}`,
      Input: JSON.stringify(c.input),
      InputDetails: { Included: true },
      Name: name,
      ...(c.status === "SUCCEEDED" ? { Output: JSON.stringify(c.output), OutputDetails: { Included: true } } : { Error: c.error, Cause: c.cause }),
      RedriveCount: 0,
      RedriveStatus: c.status === "SUCCEEDED" ? "NOT_REDRIVABLE" : "REDRIVABLE",
      StartDate: c.startDate.toISOString(),
      StateMachineArn: `${run.stateMachineArn}/${run.stateName}`,
      Status: c.status,
      StopDate: c.stopDate.toISOString(),
    };
  };
  const put = async (key: string, body: string) => {
    const path = fileIn(resultsDir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    return Buffer.byteLength(body);
  };
  const files: Record<"SUCCEEDED" | "FAILED" | "PENDING", { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const status of ["SUCCEEDED", "FAILED"] as const) {
    const listed = children.filter((c) => c.status === status);
    if (listed.length === 0) continue;
    const key = `${folder}/${status}_0.json`;
    files[status].push({ Key: key, Size: await put(key, JSON.stringify(listed.map(record))) });
  }
  const manifestKey = `${folder}/manifest.json`;
  const arn = mapRunArn(run.stateMachineArn, run.stateName, run.id);
  await put(manifestKey, JSON.stringify({ DestinationBucket: bucket, MapRunArn: arn, ResultFiles: files }));
  return { MapRunArn: arn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
}
