/** Opens the driver for a parsed database target: the only place that picks a dialect. */
import type { DatabaseTarget } from "../config.js";
import type { Driver } from "./driver.js";
import { PgDriver } from "./pg/driver.js";
import { SqliteDriver } from "./sqlite/driver.js";

export function openDriver(target: DatabaseTarget, options: { poolSize: number; busyTimeoutMs: number }): Driver {
  return target.dialect === "postgresql"
    ? new PgDriver({ url: target.url, poolSize: options.poolSize })
    : new SqliteDriver({ file: target.file, busyTimeoutMs: options.busyTimeoutMs });
}
