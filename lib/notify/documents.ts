/**
 * Small JSON documents with a version: what several handler invocations share beyond one claim (an
 * execution's pending alert digest, a Slack thread's ts, a destination's rate budget). Writes are
 * conditional on the version read, so concurrent invocations never lose an update. The store is a
 * port: DynamoDB's claims table in Lambda, memory in the emulator and tests (lib/aws/documents.ts).
 */
import { FlowhooksError } from "../core/errors";

export interface StoredDocument<T> {
  value: T;
  /** Increases with every write; `put` succeeds only with the version that was read. */
  version: number;
}

export interface DocumentStore {
  get<T>(key: string): Promise<StoredDocument<T> | undefined>;
  /** Writes `value` if the document is still at `expectedVersion` (undefined: does not exist yet). False when someone wrote first. */
  put<T>(key: string, value: T, expectedVersion: number | undefined): Promise<boolean>;
  /**
   * Writes every document or none (DynamoDB `TransactWriteItems`), each only if it is still at its
   * `expectedVersion`. False when any was written first (nothing is written then).
   */
  transact(writes: readonly DocumentWrite[]): Promise<boolean>;
}

/** One write of a transaction: `value` at `key`, if the document is still at `expectedVersion` (undefined: does not exist yet). */
export interface DocumentWrite {
  key: string;
  value: unknown;
  expectedVersion: number | undefined;
}

/** Too many concurrent writers kept changing one document. */
export class DocumentContentionError extends FlowhooksError {}

/**
 * Reads the document, applies `change`, writes it back if nobody wrote in between, else tries again.
 * `change` returns the new value, or undefined to write nothing; `updateDocument` returns what it wrote.
 */
export async function updateDocument<T, R = void>(
  store: DocumentStore,
  key: string,
  change: (current: T | undefined) => { value?: T; result: R },
  maxTries = 50,
): Promise<R> {
  for (let attempt = 0; attempt < maxTries; attempt++) {
    const current = await store.get<T>(key);
    const { value, result } = change(current ? structuredClone(current.value) : undefined);
    if (value === undefined) return result;
    if (await store.put(key, value, current?.version)) return result;
  }
  throw new DocumentContentionError(`Document ${key} changed under ${maxTries} writes in a row; the record will be retried.`);
}
