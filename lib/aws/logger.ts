/**
 * Structured JSON logs: one object per line with `level`, `message`, `timestamp` and `executionArn`
 * (null when a line concerns no execution), so CloudWatch Logs Insights can group by execution.
 */

import { maskSecrets } from "../core/mask";
import { isPrintable, safeString } from "../core/safe-string";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra fields on a log line; `Error` values are written as `{ name, message, stack }`. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. `{ executionArn, flow }`) to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Receives each line (without the newline). @default - writes to process.stdout */
  writer?: (line: string) => void;
  /** Fields on every line. @default { executionArn: null } */
  fields?: LogFields;
  /** Lines below this level are dropped. @default "info", or FLOWHOOKS_LOG_LEVEL */
  level?: LogLevel;
  /** The time on each line. @default () => new Date() */
  now?: () => Date;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function jsonSafe(value: unknown): unknown {
  if (!isPrintable(value)) return safeString(value);
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (value instanceof Date) return value.toISOString();
  return value;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const writer = options.writer ?? ((line: string) => process.stdout.write(line + "\n"));
  const envLevel = process.env.FLOWHOOKS_LOG_LEVEL as LogLevel | undefined;
  const level: LogLevel = options.level ?? (envLevel && envLevel in ORDER ? envLevel : "info");
  const now = options.now ?? (() => new Date());
  const base: LogFields = { executionArn: null, ...options.fields };

  const write = (lineLevel: LogLevel, message: string, fields: LogFields = {}) => {
    if (ORDER[lineLevel] < ORDER[level]) return;
    const entry: LogFields = { level: lineLevel, message, timestamp: now().toISOString() };
    for (const [key, value] of Object.entries({ ...base, ...fields })) entry[key] = jsonSafe(value);
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      // A circular field must not lose the line itself.
      line = JSON.stringify({ level: lineLevel, message, timestamp: entry.timestamp, executionArn: base.executionArn ?? null, unserializableFields: true });
    }
    // Values read through secrets.get never reach the logs.
    writer(maskSecrets(line));
  };

  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ writer, level, now, fields: { ...base, ...fields } }),
  };
}
