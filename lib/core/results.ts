/**
 * Results outside the execution JSON (Prefect 1's Results / checkpointing): Step Functions caps a
 * state's input and output at 256 KiB, and every task's output travels in the execution JSON, so a
 * task result above a threshold is written to a result store and the output carries a reference
 * that downstream tasks resolve before their engine sees it. `flow.run()` keeps results in memory
 * and needs none of this; the task Lambda (S3) and the emulator (a local folder) share this code.
 */
import type { StateJSON } from "./states";

/** Where offloaded results live: S3 in AWS, a folder in the emulator, a Map in tests. */
export interface ResultStore {
  /** Stores `body` (JSON text) under `key`; returns where it went, for the reference. */
  put(key: string, body: string): Promise<void>;
  /** The JSON text stored under `key`. */
  get(key: string): Promise<string>;
}

/** The field a state's `result` holds instead of a stored result. */
export const RESULT_REF = "$flowhooksResultRef";

export interface ResultRef {
  /** The store's key. */
  key: string;
  /** The result's size, serialized, in bytes. */
  bytes: number;
}

/** Results larger than this many bytes (serialized) are stored, not carried in the execution JSON. */
export const DEFAULT_RESULT_THRESHOLD_BYTES = 512;

/** The cap on an error's message and a state's message carried in the execution JSON, in characters. */
export const MAX_CARRIED_TEXT_CHARS = 2048;
/** The cap on an error's stack carried in the execution JSON (the task's event and log keep it whole). */
export const MAX_CARRIED_STACK_CHARS = 1024;

export function isResultRef(result: unknown): result is { [RESULT_REF]: ResultRef } {
  return typeof result === "object" && result !== null && RESULT_REF in result;
}

const utf8 = new TextEncoder();

/**
 * `state` with its result stored under `key` when the result is larger than `thresholdBytes`.
 * Synchronous when nothing is stored (the usual case); `await` the result either way.
 */
export function offloadResult(state: StateJSON, store: ResultStore, key: string, thresholdBytes = DEFAULT_RESULT_THRESHOLD_BYTES): StateJSON | Promise<StateJSON> {
  if (state.result === undefined || isResultRef(state.result)) return state;
  const body = JSON.stringify(state.result);
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short text needs no encoding to be measured.
  if (body === undefined || body.length * 3 <= thresholdBytes) return state;
  const bytes = utf8.encode(body).length;
  if (bytes <= thresholdBytes) return state;
  return storeResult(state, store, key, body, bytes);
}

async function storeResult(state: StateJSON, store: ResultStore, key: string, body: string, bytes: number): Promise<StateJSON> {
  await store.put(key, body);
  return { ...state, result: { [RESULT_REF]: { key, bytes } } };
}

/** `state` with a stored result read back; unchanged when it carries its result itself. */
export async function resolveResult(state: StateJSON, store: ResultStore | undefined): Promise<StateJSON> {
  if (!isResultRef(state.result)) return state;
  const ref = state.result[RESULT_REF];
  if (!store) {
    throw new ResultStoreMissingError(
      `The result of an upstream task was stored under \`${ref.key}\` (${ref.bytes} bytes), but this function has no result store; ` +
        "deploy with FlowStateMachine, which sets FLOWHOOKS_RESULTS_BUCKET on every task function.",
    );
  }
  return { ...state, result: JSON.parse(await store.get(ref.key)) };
}

/** Stored results read at once at most, when a mapped task's children's results are read back. */
/** Stored results read or written at once at most (one task function's S3 requests in flight). */
export const STORE_CONCURRENCY = 32;

/** `fn` over `values`, at most STORE_CONCURRENCY at once, results in order. */
export async function eachLimited<T, R>(values: readonly T[], fn: (value: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(values.length);
  let next = 0;
  const worker = async () => {
    while (next < values.length) {
      const i = next++;
      out[i] = await fn(values[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STORE_CONCURRENCY, values.length) }, worker));
  return out;
}

/**
 * `resolveResult`, and for a `Mapped` state also each child's stored result (a map's children
 * store their results one by one), so a downstream task gets the values themselves.
 */
export async function resolveStateResults(state: StateJSON, store: ResultStore | undefined): Promise<StateJSON> {
  const json = await resolveResult(state, store);
  if (json.type !== "Mapped" || !Array.isArray(json.result)) return json;
  const children = json.result as StateJSON[];
  if (!children.some((child) => child && isResultRef(child.result))) return json;
  return { ...json, result: await eachLimited(children, (child) => resolveResult(child, store)) };
}

export class ResultStoreMissingError extends Error {
  override name = "flowhooks.ResultStoreMissing";
}

/**
 * Caps what a failure record carries: a long message is cut to `maxChars` and a deep error stack
 * to `maxStackChars`, with a marker saying how much was left out (300 failed branches with full stacks
 * would otherwise fill the 256 KiB of the execution JSON).
 */
export function boundStateJSON(state: StateJSON, maxChars = MAX_CARRIED_TEXT_CHARS, maxStackChars = MAX_CARRIED_STACK_CHARS): StateJSON {
  let out = state;
  if (typeof state.message === "string" && state.message.length > maxChars) out = { ...out, message: trimText(state.message, maxChars) };
  const error = (state.result as { $flowhooksError?: { stack?: unknown; message?: unknown } } | undefined)?.$flowhooksError;
  if (error && typeof error === "object") {
    const trimmed = { ...error };
    if (typeof error.stack === "string" && error.stack.length > maxStackChars) trimmed.stack = trimText(error.stack, maxStackChars);
    if (typeof error.message === "string" && error.message.length > maxChars) trimmed.message = trimText(error.message, maxChars);
    if (trimmed.stack !== error.stack || trimmed.message !== error.message) out = { ...out, result: { $flowhooksError: trimmed } };
  }
  return out;
}

function trimText(text: string, maxChars: number): string {
  return `${text.slice(0, maxChars)}… [trimmed by flowhooks: ${text.length - maxChars} more characters]`;
}

/**
 * Where the `Retrying` state attempt `attempt` ended in is kept for the next attempt, under the
 * task's (or map child's) key folder: Step Functions' `Retry` re-invokes the function with the same
 * payload, so the state handlers' own message or result would otherwise be lost between attempts.
 */
export function retryingStateKey(keyDir: string, attempt: number, stateEnteredTime?: string): string {
  // One folder per entry of the task's state: a redriven execution enters it again and its attempts
  // count from 1 again, so a Retrying kept by the run before the redrive is never read by the new one.
  const entry = stateEnteredTime === undefined ? "" : `entered-${stateEnteredTime.replace(/[^0-9A-Za-z]/g, "")}/`;
  return `${keyDir}/${entry}retrying-after-attempt-${attempt}.json`;
}

/**
 * True when a store's `get` failed because nothing is stored under the key: a folder's ENOENT,
 * S3's NoSuchKey (the task functions' role may list the results bucket, so S3 says NoSuchKey, not
 * AccessDenied, for a missing key; an AccessDenied is a real permission problem and is logged).
 */
export function isMissingKeyError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { name, code, Code } = error as { name?: unknown; code?: unknown; Code?: unknown };
  return code === "ENOENT" || [name, Code].some((n) => n === "NoSuchKey" || n === "NotFound");
}

/** `executionArn`'s state machine and execution names, as a key prefix (`<state machine>/<execution>`). */
export function resultKeyPrefix(executionArn: string): string {
  // `arn:aws:states:<region>:<account>:execution:<state machine>:<execution>`: the parts after the
  // 6th and 7th colons, found without splitting (this runs on every task invocation).
  let sixth = -1;
  for (let i = 0, at = -1; i < 6; i++) {
    at = executionArn.indexOf(":", at + 1);
    if (at < 0) break;
    if (i === 5) sixth = at;
  }
  const seventh = sixth < 0 ? -1 : executionArn.indexOf(":", sixth + 1);
  return seventh >= 0 ? `${executionArn.slice(sixth + 1, seventh)}/${executionArn.slice(seventh + 1)}` : executionArn.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/**
 * Where a Distributed Map's collect step keeps the task events it sent for the crashed children it
 * reported (a JSON array of event details), so the handler Lambda can alert them at the execution's
 * ending if those events were lost: their alert keys hold each child's start time, which neither
 * the execution's output nor its history (read without data) carries.
 */
export function crashedChildrenKey(executionArn: string, task: string): string {
  return `${resultKeyPrefix(executionArn)}/${task}/crashed-children.json`;
}
