/**
 * Text for any thrown or logged value, even one that cannot be turned into text: `String()` throws
 * for `Object.create(null)`, an object whose `toString` throws, or a Proxy whose traps throw. Every
 * place where an error from user code becomes text (chain errors, serialized results, log lines,
 * alerts) goes through here, so such a throw still fails its transition and is still alerted.
 */

/** `String(value)`, or a description of what it is when that throws; never throws. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    // Not printable: say what kind of thing it is.
  }
  try {
    return `[unprintable ${Object.prototype.toString.call(value).slice(8, -1)}]`;
  } catch {
    return `[unprintable ${typeof value}]`;
  }
}

/** Whether the value can be kept and shown later: `String(value)` works and its prototype can be read (`instanceof` works). */
export function isPrintable(value: unknown): boolean {
  try {
    String(value);
    if (typeof value === "object" && value !== null) Object.getPrototypeOf(value);
    return true;
  } catch {
    return false;
  }
}

/** `value instanceof cls`, false when asking throws (a Proxy whose `getPrototypeOf` trap throws). */
export function safeInstanceOf<T>(value: unknown, cls: abstract new (...args: any[]) => T): value is T {
  try {
    return value instanceof cls;
  } catch {
    return false;
  }
}
