/** Small text helpers shared by the CLI renderers. */
import { Retrying, type State } from "../core/states";

/** `HH:MM:SS.mmm`, local time unless `utc`. */
export function formatTime(date: Date, utc = false): string {
  const [h, m, s, ms] = utc
    ? [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()]
    : [date.getHours(), date.getMinutes(), date.getSeconds(), date.getMilliseconds()];
  return `${pad(h)}:${pad(m)}:${pad(s)}.${String(ms).padStart(3, "0")}`;
}

/** `850 ms`, `1.25 s`, `2m 05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${pad(Math.round((ms % 60_000) / 1000))}s`;
}

/** `Running → Success("Task run succeeded.")`, with a Retrying state's next attempt time. */
export function formatTransition(oldState: State, newState: State, utc = false): string {
  let text = `${oldState.name} → ${String(newState)}`;
  if (newState instanceof Retrying) text += ` next attempt at ${formatTime(newState.startTime, utc)}`;
  return text;
}

/** Left-aligned columns, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n");
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
