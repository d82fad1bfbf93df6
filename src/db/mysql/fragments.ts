/**
 * The SQL pieces audit, retention and archive queries need that differ between dialects: MySQL's.
 * Globs and id prefixes compare byte for byte (utf8mb4_bin) even on a Celery table's
 * case-insensitive columns.
 */
import { sql } from "drizzle-orm";
import type { AuditFragments } from "../audit.js";
import { likePrefix } from "../audit-overview.js";
import { globToLike } from "../retention.js";
import { MYSQL_FOREVER } from "./archive.js";

export const MYSQL_FRAGMENTS: AuditFragments = {
  hourBucket: sql`DATE_FORMAT(date_done, '%Y-%m-%d %H')`,
  // TIMESTAMPDIFF of naive values, so the session time zone never enters (UNIX_TIMESTAMP would read it).
  timeBucket: (seconds) => sql`(FLOOR(TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', date_done) / ${seconds}) * ${seconds})`,
  idPrefix: (prefix) => sql`task_id LIKE ${likePrefix(prefix)}`,
  glob: (column, glob) => sql`CONVERT(${column} USING utf8mb4) COLLATE utf8mb4_bin LIKE ${globToLike(glob)}`,
  plusMs: (column, ms) => sql`(${column} + INTERVAL ${ms * 1000} MICROSECOND)`,
  forever: sql`CAST(${MYSQL_FOREVER} AS DATETIME(6))`,
  greatest: (a, b) => sql`GREATEST(${a}, ${b})`,
};
