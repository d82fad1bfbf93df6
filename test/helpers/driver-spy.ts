/**
 * The driver seam for tests and benchmarks: a backend's driver is private, so a test
 * that counts or fails driver calls opens its backend with `openBackendOver(options, spy.over)`
 * (or `ctx.openOver` in the shared suite), and one that needs the cleanup lock opens a plain
 * driver on the same database with `openDriverFor`. The real driver object is never changed.
 */
import { resolveOptions, type BackendOptions } from "../../src/config.js";
import type { Driver, HeldLock } from "../../src/db/driver.js";
import { openDriver } from "../../src/db/open.js";

/** The names of the Driver's methods (not its plain properties such as `dialect` or `audit`). */
export type DriverMethod = { [K in keyof Driver]-?: Driver[K] extends (...args: never[]) => unknown ? K : never }[keyof Driver];

type MethodOf<M extends DriverMethod> = Driver[M] extends (...args: infer A) => infer R ? (...args: A) => R : never;

/** Stands in for a driver method: gets the real one (bound to the real driver) and the call's arguments. */
export type Interceptor<M extends DriverMethod> = (original: MethodOf<M>, ...args: Parameters<MethodOf<M>>) => ReturnType<MethodOf<M>>;

export interface DriverSpy {
  /**
   * Pass to openBackendOver (or ctx.openOver): wraps the driver in a Proxy that counts every
   * method call and routes intercepted ones. Counts and interceptions are shared by every
   * driver it wraps.
   */
  readonly over: (driver: Driver) => Driver;
  /** Calls per method through the wrapper so far (0 for a method never called). */
  readonly calls: Readonly<Record<DriverMethod, number>>;
  /** Counts calls to `methods` from now on; returns a reader of those counts. */
  count<M extends DriverMethod>(methods: readonly M[]): () => Record<M, number>;
  /**
   * Routes every later call of `method` through `fn` until the returned remove() (a later
   * intercept of the same method replaces this one). The call is counted either way.
   */
  intercept<M extends DriverMethod>(method: M, fn: Interceptor<M>): () => void;
}

export function spyDriver(): DriverSpy {
  const counts = new Map<string, number>();
  const intercepts = new Map<string, (original: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown>();
  const calls = new Proxy({} as Record<DriverMethod, number>, {
    get: (_, prop) => (typeof prop === "string" ? (counts.get(prop) ?? 0) : undefined),
  });
  const over = (real: Driver): Driver =>
    new Proxy(real, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== "function" || typeof prop !== "string") return value;
        const original = (...args: unknown[]): unknown => Reflect.apply(value, target, args);
        return (...args: unknown[]): unknown => {
          counts.set(prop, (counts.get(prop) ?? 0) + 1);
          const fn = intercepts.get(prop);
          return fn ? fn(original, ...args) : original(...args);
        };
      },
    });
  return {
    over,
    calls,
    count<M extends DriverMethod>(methods: readonly M[]) {
      const start = new Map(methods.map((m) => [m, calls[m]]));
      return () => Object.fromEntries(methods.map((m) => [m, calls[m] - start.get(m)!])) as Record<M, number>;
    },
    intercept<M extends DriverMethod>(method: M, fn: Interceptor<M>) {
      const entry = fn as unknown as (original: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown;
      intercepts.set(method, entry);
      return () => {
        if (intercepts.get(method) === entry) intercepts.delete(method);
      };
    },
  };
}

/** A plain driver on the database `options` names (as openBackend would open it, without migrating); close it after. */
export function openDriverFor(options: BackendOptions | string): Driver {
  const resolved = resolveOptions(typeof options === "string" ? { url: options } : options);
  return openDriver(resolved.target, {
    poolSize: resolved.poolSize,
    busyTimeoutMs: resolved.busyTimeoutMs,
    createIfMissing: resolved.createIfMissing,
    tables: resolved.tables,
  });
}

/** Runs `body` with a plain driver on the database, closed afterwards. */
export async function withDriver<T>(options: BackendOptions | string, body: (driver: Driver) => Promise<T>): Promise<T> {
  const driver = openDriverFor(options);
  try {
    return await body(driver);
  } finally {
    await driver.close();
  }
}

/** Who holds the cleanup lock on the database now (Driver.lockHolder), asked on a driver of its own. */
export function cleanupLockHolder(options: BackendOptions | string): Promise<string | undefined> {
  return withDriver(options, (driver) => driver.lockHolder("cleanup"));
}

/**
 * Takes the cleanup lock on a driver of its own, as another backend's cleanup would
 * (Driver.lock); undefined when someone else holds it and `wait` is false. Releasing the
 * lock closes that driver; release() may be called more than once.
 */
export async function takeCleanupLock(options: BackendOptions | string, wait = false): Promise<HeldLock | undefined> {
  const driver = openDriverFor(options);
  let lock: HeldLock | undefined;
  try {
    lock = await driver.lock("cleanup", { wait });
  } finally {
    if (!lock) await driver.close();
  }
  if (!lock) return undefined;
  const held = lock;
  let released: Promise<void> | undefined;
  return {
    ...(held.takenOverFrom !== undefined ? { takenOverFrom: held.takenOverFrom } : {}),
    lost: () => held.lost(),
    release: () => (released ??= held.release().finally(() => driver.close())),
  };
}
