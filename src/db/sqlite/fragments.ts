/** The SQL pieces audit, retention and archive queries need that differ between dialects: SQLite's. */
import { sql } from "drizzle-orm";
import type { AuditFragments } from "../audit.js";
import { globToSqliteGlob } from "../retention.js";
import { SQLITE_FOREVER } from "./archive.js";

// date_done is text 'YYYY-MM-DD HH:MM:SS.ffffff' here, so its first 13 characters are the hour.
// GLOB, not LIKE: SQLite's LIKE ignores ASCII case, and a rule for "Billing.*" must not take "billing.x".
export const SQLITE_FRAGMENTS: AuditFragments = {
  hourBucket: sql`substr(date_done, 1, 13)`,
  timeBucket: (seconds) => sql`(CAST(strftime('%s', date_done) AS INTEGER) / ${seconds}) * ${seconds}`,
  // SQLite's LIKE ignores case and so cannot use the BINARY index on task_id; a range on it can,
  // and BINARY (UTF-8 byte) order puts every id with the prefix inside [prefix, prefix + U+10FFFF).
  idPrefix: (prefix) =>
    sql`(task_id >= ${prefix} AND task_id < ${`${prefix}\u{10FFFF}`} AND substr(task_id, 1, ${prefix.length}) = ${prefix})`,
  glob: (column, glob) => sql`${column} GLOB ${globToSqliteGlob(glob)}`,
  // date_done text plus seconds, in the same sortable text form (milliseconds kept).
  plusMs: (column, ms) => sql`strftime('%Y-%m-%d %H:%M:%f', ${column}, ${`+${ms / 1000} seconds`})`,
  forever: sql`${SQLITE_FOREVER}`,
  greatest: (a, b) => sql`max(${a}, ${b})`,
};
