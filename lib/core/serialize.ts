/**
 * Results cross process boundaries (Lambda payloads, Step Functions JSON, EventBridge) as JSON.
 * Errors and signals keep their name, message and extra fields, so a state handler in the cloud
 * reads `newState.result.flag` exactly as it does locally.
 */
import { safeInstanceOf, safeString } from "./safe-string";

export type SerializedResult = unknown;

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
