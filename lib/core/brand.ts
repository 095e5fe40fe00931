/**
 * Recognising flowhooks objects across module copies. A user's app can load the package twice
 * (its CommonJS build through `require`, its ESM build through `import`, or two installed
 * versions); each copy has its own classes, so plain `instanceof` would say a `Failed` from one
 * copy is not a `Failed` of the other. Every branded class records its lineage under a
 * `Symbol.for` key (shared by all copies), and `instanceof` falls back to that lineage.
 */
const LINEAGE = Symbol.for("flowhooks.lineage");
/** One per module copy: an object of this copy needs no lineage check (plain `instanceof` is exact). */
const COPY = Symbol.for("flowhooks.copy");
const THIS_COPY = Symbol("flowhooks copy");

type AnyClass = abstract new (...args: any[]) => object;

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

/**
 * Brands `cls` under `name` (stable across builds: minifiers may rename classes). Brand a class
 * after its parent. The root class of a family gets the `instanceof` fallback; subclasses inherit it.
 */
export function brand(cls: AnyClass, name: string): void {
  const parentLineage = (Object.getPrototypeOf(cls.prototype) as Record<symbol, unknown>)[LINEAGE];
  const lineage = Object.freeze([name, ...(Array.isArray(parentLineage) ? (parentLineage as string[]) : [])]);
  Object.defineProperty(cls.prototype, LINEAGE, { value: lineage });
  if (Array.isArray(parentLineage)) return;
  Object.defineProperty(cls.prototype, COPY, { value: THIS_COPY });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: AnyClass, value: unknown): boolean {
      if (value === null || (typeof value !== "object" && typeof value !== "function")) return false;
      // Fast path: an object of this copy, or one no copy branded, is answered by plain `instanceof`
      // (one property load, no lineage lookup: the runner asks `instanceof Mapped` of every state).
      const copy = (value as Record<symbol, unknown>)[COPY];
      if (copy === THIS_COPY || copy === undefined) return ordinaryHasInstance.call(this, value);
      if (ordinaryHasInstance.call(this, value)) return true;
      const theirs = (value as Record<symbol, unknown>)[LINEAGE];
      if (!Array.isArray(theirs)) return false;
      // Only a branded class itself is checked by name: a user's subclass keeps plain `instanceof`.
      if (!Object.hasOwn(this.prototype, LINEAGE)) return false;
      return theirs.includes((this.prototype as Record<symbol, readonly string[]>)[LINEAGE]![0]);
    },
  });
}
