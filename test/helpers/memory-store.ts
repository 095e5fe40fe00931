/** A results bucket in memory, as the task Lambda's result store sees it (CONVENTIONS 13: shared test factories live here). */
import type { ResultStore } from "../../lib/core/results";

/** A result store in a Map; `get` of a missing key fails as S3's GetObject does (an error named NoSuchKey). */
export function memoryStore(): { objects: Map<string, string>; store: ResultStore } {
  const objects = new Map<string, string>();
  const store: ResultStore = {
    put: async (key, body) => void objects.set(key, body),
    get: async (key) => {
      const body = objects.get(key);
      if (body === undefined) throw Object.assign(new Error(`The specified key does not exist: ${key}`), { name: "NoSuchKey" });
      return body;
    },
  };
  return { objects, store };
}
