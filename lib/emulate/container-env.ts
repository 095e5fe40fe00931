/**
 * Each emulated Lambda container has its own environment for the whole of its work, as a real
 * container does: its module's init and every invocation, across awaits, timers and callbacks.
 * Swapping `process.env` values around a call covers only the call's synchronous part, so code that
 * reads the environment after an `await` (secrets.get, the AWS SDK creating a client, a user's task)
 * would see the emulator's process instead of its function. So, once an emulated Lambda runs,
 * `process.env` becomes a view that resolves through the container whose code is running
 * (AsyncLocalStorage) and is the process's own environment everywhere else.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * A container's variables over the process's: a key set here wins, `undefined` means deleted in
 * this container. Keys not set fall through to the process's environment (endpoints, dummy credentials).
 */
export type ContainerEnv = Map<string, string | undefined>;

const current = new AsyncLocalStorage<ContainerEnv>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const real = process.env;
  process.env = new Proxy(real, {
    get(target, key) {
      const env = current.getStore();
      if (env && typeof key === "string" && env.has(key)) return env.get(key);
      return Reflect.get(target, key);
    },
    set(target, key, value) {
      const env = current.getStore();
      // Node's process.env stores strings only; the container's view does the same.
      if (env && typeof key === "string") env.set(key, String(value));
      else Reflect.set(target, key, String(value));
      return true;
    },
    deleteProperty(target, key) {
      const env = current.getStore();
      if (env && typeof key === "string") env.set(key, undefined);
      else Reflect.deleteProperty(target, key);
      return true;
    },
    has(target, key) {
      const env = current.getStore();
      if (env && typeof key === "string" && env.has(key)) return env.get(key) !== undefined;
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      const env = current.getStore();
      const keys = Reflect.ownKeys(target);
      if (!env) return keys;
      const all = new Set(keys);
      for (const [k, v] of env) {
        if (v === undefined) all.delete(k);
        else all.add(k);
      }
      return [...all];
    },
    getOwnPropertyDescriptor(target, key) {
      const env = current.getStore();
      if (env && typeof key === "string" && env.has(key)) {
        const value = env.get(key);
        return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}

/** A new container environment holding `vars` over the process's. */
export function containerEnv(vars: Record<string, string>): ContainerEnv {
  return new Map(Object.entries(vars));
}

/** Runs `fn` (and everything it starts, however asynchronous) with `env` as its `process.env`. */
export function runInContainer<T>(env: ContainerEnv, fn: () => T): T {
  install();
  return current.run(env, fn);
}
