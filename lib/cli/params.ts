/** `--param k=v` parsing: values are JSON when they parse as JSON, strings otherwise. */
import { UsageError } from "./errors";

/** Parses one `k=v`; `n=3` → 3, `s=abc` → "abc", `o={"a":1}` → { a: 1 }. */
export function parseParam(text: string): [string, unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) {
    throw new UsageError(
      `--param ${JSON.stringify(text)} is not of the form name=value; write it as --param ${eq === 0 ? "name" : text || "name"}=value (e.g. --param n=3).`,
    );
  }
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  try {
    return [name, JSON.parse(raw)];
  } catch {
    return [name, raw];
  }
}

/** Parses every `--param`, later ones winning, as a shell user expects. */
export function parseParams(texts: readonly string[] = []): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const text of texts) {
    const [name, value] = parseParam(text);
    params[name] = value;
  }
  return params;
}
