/** The printed table: one row per figure, with its baseline, ratio and goal. */
export interface Row {
  section: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  /** "ok", "MISSED", "pending" or "" (no goal). */
  verdict: string;
}

const HEAD: Row = { section: "section", figure: "figure", value: "value", baseline: "baseline", ratio: "ratio", goal: "goal", verdict: "verdict" };
const KEYS = Object.keys(HEAD) as (keyof Row)[];

export function textTable(rows: readonly Row[]): string {
  const widths = KEYS.map((k) => Math.max(...[HEAD, ...rows].map((r) => r[k].length)));
  const line = (r: Row) => KEYS.map((k, i) => r[k].padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function markdownTable(rows: readonly Row[]): string {
  const line = (r: Row) => `| ${KEYS.map((k) => r[k].replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(HEAD), `|${KEYS.map(() => "---").join("|")}|`, ...rows.map(line)].join("\n");
}

export const fmt = {
  ms: (v: number) => `${v.toFixed(1)} ms`,
  ns: (v: number) => `${v.toFixed(0)} ns`,
  x: (v: number) => `${v.toFixed(2)}x`,
  kb: (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`,
  n: (v: number) => v.toLocaleString("en-US"),
};
