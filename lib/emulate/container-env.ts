/**
 * Each emulated Lambda container has its own environment for the whole of its work, as a real
 * container does: its module's init and every invocation, across awaits, timers and callbacks.
 * Swapping `process.env` values around a call covers only the call's synchronous part, so code that
 * reads the environment after an `await` (secrets.get, the AWS SDK creating a client, a user's task)
 * would see the emulator's process instead of its function. So, once an emulated Lambda runs,
 * `process.env` becomes a view that resolves through the container whose code is running
 * (AsyncLocalStorage) and is the process's own environment everywhere else.
 *
 * Inside a container the view is exactly the container's variables (what Lambda gives the function)
 * plus the few the emulator itself provides through the process (`EMULATOR_PROVIDED`): nothing else
 * of the host's environment is visible, so code that works only because a variable happens to be set
 * on the developer's machine (`FLOWHOOKS_SECRET_<NAME>`, a profile, a token) fails here as it would deployed.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { inspect } from "node:util";

/**
 * A container's variables: a key set here is the function's, `undefined` means deleted in this
 * container. Keys not set are invisible inside it, except those in `EMULATOR_PROVIDED`.
 */
export type ContainerEnv = Map<string, string | undefined>;

/**
 * The process's variables an emulated function still sees, because they are how the emulator stands
 * in for Lambda: the endpoints of its local stand-ins (`AWS_ENDPOINT_URL_*`, set by the emulator or by
 * whoever points a service at 127.0.0.1), credentials standing in for the function's role, and `PATH`
 * (a task's child processes run programs of this machine). Read live, so a stand-in started after a
 * container's init is still reached.
 */
export function emulatorProvided(key: string): boolean {
  return (
    key.startsWith("AWS_ENDPOINT_URL") ||
    key === "AWS_ACCESS_KEY_ID" ||
    key === "AWS_SECRET_ACCESS_KEY" ||
    key === "AWS_SESSION_TOKEN" ||
    key === "PATH"
  );
}

const current = new AsyncLocalStorage<ContainerEnv>();
let installed = false;

/** The value of `key` inside `env`: its own, else the emulator's, else nothing. */
function lookup(env: ContainerEnv, real: NodeJS.ProcessEnv, key: string): string | undefined {
  const own = env.get(key);
  if (own !== undefined || env.has(key)) return own;
  return emulatorProvided(key) ? real[key] : undefined;
}

/**
 * What the view's target is: an empty stand-in, not the real `process.env`. Every trap reads and
 * writes the real object itself, so the target only decides what V8 checks against: with the real
 * object as target, every `Object.keys`/`Object.entries(process.env)` made V8 enumerate the host's
 * whole environment twice more to check the Proxy invariants (~35 µs at 35 variables; the task
 * Lambda lists its secrets' variables on every invocation). `util.inspect` shows a Proxy's target,
 * so the stand-in shows the view instead (what `{ ...process.env }` gives where it is called).
 */
function viewTarget(): object {
  const target = {};
  Object.defineProperty(target, inspect.custom, {
    value(this: NodeJS.ProcessEnv) {
      return { ...this };
    },
    configurable: true,
  });
  return target;
}

function install(): void {
  if (installed) return;
  installed = true;
  const real = process.env;
  /**
   * The host's variables a container sees (`emulatorProvided`), listed once and listed again after
   * any write to the process's environment (only the view below can write to it once installed):
   * enumerating the host's environment costs ~18 µs, and the task Lambda lists its variables on
   * every invocation. Their values are still read live.
   */
  let provided: string[] | undefined;
  /**
   * Each container's key list, kept until the container or the process writes a variable (the task
   * Lambda lists them on every invocation: `configuredSecretNames`). Only the traps below write.
   */
  let listed = new WeakMap<ContainerEnv, string[]>();
  const changed = () => {
    provided = undefined;
    listed = new WeakMap();
  };
  process.env = new Proxy(viewTarget() as NodeJS.ProcessEnv, {
    get(_target, key) {
      const env = current.getStore();
      if (env && typeof key === "string") return lookup(env, real, key);
      return Reflect.get(real, key);
    },
    set(_target, key, value) {
      const env = current.getStore();
      // Node's process.env stores strings only; the container's view does the same.
      if (env && typeof key === "string") {
        env.set(key, String(value));
        listed.delete(env);
      } else {
        Reflect.set(real, key, String(value));
        changed();
      }
      return true;
    },
    deleteProperty(_target, key) {
      const env = current.getStore();
      if (env && typeof key === "string") {
        env.set(key, undefined);
        listed.delete(env);
      } else {
        Reflect.deleteProperty(real, key);
        changed();
      }
      return true;
    },
    has(_target, key) {
      const env = current.getStore();
      if (env && typeof key === "string") return lookup(env, real, key) !== undefined;
      return Reflect.has(real, key);
    },
    ownKeys() {
      const env = current.getStore();
      if (!env) return Reflect.ownKeys(real);
      const known = listed.get(env);
      if (known) return known;
      provided ??= Object.keys(real).filter(emulatorProvided);
      // The host's provided keys the container has not set, then the container's own: disjoint, no Set needed.
      const keys: string[] = [];
      for (const k of provided) if (!env.has(k) && real[k] !== undefined) keys.push(k);
      for (const [k, v] of env) if (v !== undefined) keys.push(k);
      listed.set(env, keys);
      return keys;
    },
    getOwnPropertyDescriptor(_target, key) {
      const env = current.getStore();
      if (env && typeof key === "string") {
        const value = lookup(env, real, key);
        return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(real, key);
    },
    defineProperty(_target, key, descriptor) {
      const env = current.getStore();
      if (env && typeof key === "string") {
        env.set(key, String(descriptor.value));
        listed.delete(env);
        return true;
      }
      changed();
      return Reflect.defineProperty(real, key, descriptor);
    },
  });
}

/** A new container environment holding exactly `vars`. */
export function containerEnv(vars: Record<string, string>): ContainerEnv {
  return new Map(Object.entries(vars));
}

/** Runs `fn(...args)` (and everything it starts, however asynchronous) with `env` as its `process.env`. */
export function runInContainer<T, A extends unknown[]>(env: ContainerEnv, fn: (...args: A) => T, ...args: A): T {
  install();
  return current.run(env, fn, ...args);
}
