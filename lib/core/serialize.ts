/**
 * Results cross process boundaries (Lambda payloads, Step Functions JSON, EventBridge) as JSON.
 * Errors and signals keep their name, message and extra fields, so a state handler in the cloud
 * reads `newState.result.flag` exactly as it does locally.
 */
import { safeInstanceOf, safeString } from "./safe-string";

import { brand } from "./brand";
import { FlowhooksError } from "./errors";

export type SerializedResult = unknown;

/**
 * A task returned a value JSON cannot carry unchanged (a function, a BigInt, a symbol, a cycle, a
 * Map or Set). Deployed, results travel between tasks as JSON, so such a result fails the task in
 * every runtime, locally too, instead of reaching the next task changed.
 */
export class UnserializableResultError extends FlowhooksError {}
brand(UnserializableResultError, "error.UnserializableResultError");

const ERROR_KEY = "$flowhooksError";

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields?: Record<string, unknown>;
}

type ErrorFactory = (message: string, fields: Record<string, unknown>) => Error;
const errorFactories = new Map<string, ErrorFactory>();

/** Lets signal classes (and other error classes) be rebuilt as themselves by `deserializeResult`. */
export function registerErrorClass(name: string, factory: ErrorFactory): void {
  errorFactories.set(name, factory);
}

/**
 * Where `value` holds something JSON would drop, change or refuse, as a path and a kind
 * (`result.client: a function`), or undefined when `JSON.parse(JSON.stringify(value))` keeps it.
 * `undefined` properties and values with `toJSON` (Dates) are fine: JSON defines their form.
 */
export function unserializablePart(value: unknown, path = "result"): string | undefined {
  return findUnserializable(value, path, []);
}

function findUnserializable(value: unknown, path: string, ancestors: object[]): string | undefined {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "undefined":
      return undefined;
    case "function":
      return `${path}: a function`;
    case "bigint":
      return `${path}: a BigInt (${String(value)}n)`;
    case "symbol":
      return `${path}: a symbol (${String(value)})`;
  }
  if (value === null) return undefined;
  const object = value as Record<string, unknown>;
  if (typeof object.toJSON === "function") {
    if (value instanceof Date) return undefined;
    let json: unknown;
    try {
      json = object.toJSON();
    } catch (error) {
      return `${path}: its toJSON() threw (${String(error)})`;
    }
    return json === value ? undefined : findUnserializable(json, path, ancestors);
  }
  if (ancestors.includes(object)) return `${path}: a reference to itself (a cycle)`;
  if (value instanceof Map || value instanceof Set) return `${path}: a ${value instanceof Map ? "Map" : "Set"} (JSON makes it {})`;
  ancestors.push(object);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = findUnserializable(value[i], `${path}[${i}]`, ancestors);
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(object)) {
      const found = findUnserializable(object[key], `${path}.${key}`, ancestors);
      if (found) return found;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

/** The error a task fails with when its result cannot travel as JSON (see `unserializablePart`). */
export function unserializableResultError(taskName: string, part: string): UnserializableResultError {
  return new UnserializableResultError(
    `Task \`${taskName}\` returned a value that cannot be serialized as JSON (${part}); deployed, results travel between tasks as JSON. ` +
      "Return plain data (objects, arrays, strings, numbers, booleans, null): e.g. String(aBigInt), an array for a Set, Object.fromEntries(aMap).",
  );
}

function toJsonSafe(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? { $unserializable: String(value) } : JSON.parse(text);
  } catch (error) {
    return { $unserializable: safeString(value), reason: safeString(error) };
  }
}

export function serializeResult(value: unknown): SerializedResult {
  if (safeInstanceOf(value, Error)) {
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (key === "name" || key === "message" || key === "stack") continue;
      const safe = toJsonSafe((value as unknown as Record<string, unknown>)[key]);
      if (safe !== undefined) fields[key] = safe;
    }
    const error: SerializedError = { name: value.name, message: value.message };
    if (value.stack) error.stack = value.stack;
    if (Object.keys(fields).length > 0) error.fields = fields;
    return { [ERROR_KEY]: error };
  }
  return toJsonSafe(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function deserializeResult(value: SerializedResult): unknown {
  if (value && typeof value === "object" && ERROR_KEY in value) {
    const data = (value as Record<string, SerializedError>)[ERROR_KEY];
    if (!isRecord(data)) return value;
    // An error's own name, message and stack come from their fields above, never from `fields`: a
    // forged `fields.message` object would make every alert built from it throw.
    const { name: _n, message: _m, stack: _s, ...fields } = (isRecord(data.fields) ? data.fields : {}) as Record<string, unknown>;
    const name = typeof data.name === "string" ? data.name : "Error";
    const message = typeof data.message === "string" ? data.message : safeString(data.message);
    const factory = errorFactories.get(name);
    const error = factory ? factory(message, fields) : Object.assign(new Error(message), fields);
    if (!factory) error.name = name;
    if (typeof data.stack === "string") error.stack = data.stack;
    return error;
  }
  return value;
}
