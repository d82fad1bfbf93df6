/** Opens the driver for a parsed database target: the only place that picks a dialect. */
import { existsSync } from "node:fs";
import type { DatabaseTarget } from "../config.js";
import { ConfigError } from "../errors.js";
import { isTransientSqliteError } from "./sqlite/errors.js";
import { assertNever, resolveTables, type TableConfig } from "./tables.js";
import type { Driver } from "./driver.js";
import { adoptConnection } from "./external.js";
import type { Tables } from "./tables.js";
import { PgDriver } from "./pg/driver.js";
import { SqliteDriver } from "./sqlite/driver.js";
import { MysqlDriver } from "./mysql/driver.js";

/**
 * Whether opening failed only for now: setting WAL mode on a fresh SQLite file can meet another
 * process's lock (opening PostgreSQL connects lazily, so it fails later, in a query).
 */
export function isTransientOpenError(error: unknown): boolean {
  return isTransientSqliteError(error);
}

export function openDriver(
  target: DatabaseTarget,
  options: { poolSize: number; busyTimeoutMs: number; createIfMissing: boolean; tables: TableConfig },
): Driver {
  const tables = resolveTables(target.dialect, options.tables);
  if (target.client !== undefined) return openOnConnection(target.client, tables);
  switch (target.dialect) {
    case "postgresql":
      return new PgDriver({ url: target.url, poolSize: options.poolSize, tables });
    case "mysql":
      return new MysqlDriver({ url: target.url, poolSize: options.poolSize, tables });
    case "sqlite":
      if (!options.createIfMissing && target.file !== ":memory:" && !existsSync(target.file)) {
        throw new ConfigError("url", `no SQLite database at ${target.file}; check the path, or run \`taskledger migrate\` to create one`);
      }
      return new SqliteDriver({ file: target.file, busyTimeoutMs: options.busyTimeoutMs, tables });
    default:
      return assertNever(target);
  }
}

/** A driver over the application's own pool or Database; closing it leaves that open. */
export function openOnConnection(client: unknown, tables: Tables): Driver {
  const adopted = adoptConnection(client);
  switch (adopted.dialect) {
    case "postgresql":
      return new PgDriver({ pool: adopted.pool, tables });
    case "sqlite":
      return new SqliteDriver({ db: adopted.db, tables });
    case "mysql":
      return new MysqlDriver({ pool: adopted.pool, tables });
    default:
      return assertNever(adopted);
  }
}
