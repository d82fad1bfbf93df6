/** openBackend(): options or a URL in, a migrated, ready DatabaseBackend out. */
import { resolveOptions, type BackendOptions } from "../config.js";
import { isTransientOpenError, openDriver } from "../db/open.js";
import { DatabaseBackend } from "./database-backend.js";
import type { Driver } from "../db/driver.js";
import { withRetry } from "./retry.js";
import { DistributeError, MissingTablesError } from "../errors.js";

/**
 * Opens a backend. The URL defaults to TASKLEDGER_URL, then the SQLite file ./taskledger.db;
 * `client` runs it over the application's own pg.Pool, better-sqlite3 Database or drizzle
 * database instead. Pending migrations are applied under a lock unless `migrate: false`.
 * With `cleanupJob`, the cleanup job starts too (see DatabaseBackend.startCleanupJob); close() stops it.
 */
export function openBackend(options: BackendOptions | string = {}): Promise<DatabaseBackend> {
  return openBackendOver(options, (driver) => driver);
}

/**
 * openBackend with the driver passed through `over` first (not exported from the package): the
 * seam tests and benchmarks use to count or fail driver calls without reaching into a backend.
 */
export async function openBackendOver(options: BackendOptions | string, over: (driver: Driver) => Driver): Promise<DatabaseBackend> {
  const resolved = resolveOptions(typeof options === "string" ? { url: options } : options);
  const opened = await withRetry(resolved.retry, isTransientOpenError, "open", resolved.target.display, async () =>
    openDriver(resolved.target, {
      poolSize: resolved.poolSize,
      busyTimeoutMs: resolved.busyTimeoutMs,
      createIfMissing: resolved.createIfMissing,
      tables: resolved.tables,
    }),
  );
  const driver = over(opened);
  let reader: Driver | undefined;
  try {
    // Audit reads' own connection, to a replica: never migrated (a replica is read-only), and its
    // tables are the primary's, so nothing needs checking here.
    const readTarget = resolved.readTarget;
    if (readTarget)
      reader = openDriver(readTarget, {
        poolSize: resolved.poolSize,
        busyTimeoutMs: resolved.busyTimeoutMs,
        createIfMissing: false,
        tables: resolved.tables,
      });
    if (resolved.migrate)
      await withRetry(
        resolved.retry,
        (e) => driver.isTransient(e),
        "migrate",
        resolved.target.display,
        () => driver.migrate(),
      );
    if (resolved.distribute) {
      const distribute = driver.distribute;
      if (!distribute)
        throw new DistributeError(
          `${resolved.target.display} cannot be distributed: distribute needs PostgreSQL with the Citus extension, on the coordinator`,
        );
      await withRetry(
        resolved.retry,
        (e) => driver.isTransient(e),
        "distribute",
        resolved.target.display,
        () => distribute.call(driver),
      );
    }
    // On the application's connection with migrate: false, say now (not at the first store,
    // inside someone's transaction) that the tables are missing.
    if (!resolved.migrate && resolved.target.client !== undefined && !(await driver.tablesExist()))
      throw new MissingTablesError(driver.tables.task);
    const history = resolved.history;
    if (history !== undefined)
      await withRetry(
        resolved.retry,
        (e) => driver.isTransient(e),
        "history",
        resolved.target.display,
        () => driver.historySet(history),
      );
  } catch (error) {
    await driver.close();
    await reader?.close();
    throw error;
  }
  const backend = new DatabaseBackend(driver, resolved, reader);
  if (typeof options !== "string" && options.cleanupJob) backend.startCleanupJob(options.cleanupJob);
  return backend;
}
