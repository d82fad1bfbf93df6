/**
 * `taskledger/drizzle`: for applications that use drizzle themselves. The table
 * definitions for every dialect (for joins in the application's own queries), the drizzle-kit
 * filter that keeps the application's drizzle-kit off these tables, and a programmatic
 * `migrate()` over the application's connection for deploy-time migrations.
 *
 * This entry point is the one place taskledger's public types mention drizzle-orm; the main
 * entry ("taskledger") does not.
 */
import { RETRY_DEFAULTS } from "./config.js";
import type { MigrationStatus } from "./db/driver.js";
import type { DrizzleTableOptions } from "./db/drizzle-tables.js";
import type { ConnectionLike } from "./db/external.js";
import { openOnConnection } from "./db/open.js";
import { adoptConnection } from "./db/external.js";
import { resolveTables } from "./db/tables.js";
import { withRetry } from "./backend/retry.js";

export { pgTables, sqliteTables, mysqlTables, drizzleKitTablesFilter, type DrizzleTableOptions } from "./db/drizzle-tables.js";
export type { MigrationStatus } from "./db/driver.js";

export interface MigrateOptions extends DrizzleTableOptions {
  /** The application's pg.Pool, better-sqlite3 Database, mysql2 Pool, or drizzle database over one of them. */
  client: ConnectionLike;
}

/**
 * Applies taskledger's pending migrations through the application's connection, under the same
 * lock openBackend() takes, and leaves the connection open. Returns what is applied and what ran.
 * Records applied migrations in taskledger_migrations, never in drizzle's own journal table.
 */
export async function migrate(options: MigrateOptions): Promise<MigrationStatus> {
  const dialect = adoptConnection(options.client).dialect;
  const tables = resolveTables(dialect, {
    ...(options.tableNames?.task ? { task: options.tableNames.task } : {}),
    ...(options.tableNames?.group ? { group: options.tableNames.group } : {}),
    taskSchema: options.tableSchemas?.task ?? null,
    groupSchema: options.tableSchemas?.group ?? null,
  });
  const driver = openOnConnection(options.client, tables);
  try {
    return await withRetry(
      RETRY_DEFAULTS,
      (e) => driver.isTransient(e),
      "migrate",
      dialect,
      () => driver.migrate(),
    );
  } finally {
    await driver.close(); // the application's connection stays open: the driver only borrowed it
  }
}
