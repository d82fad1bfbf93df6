/** The SQL pieces audit, retention and archive queries need that differ between dialects: PostgreSQL's. */
import { sql } from "drizzle-orm";
import type { AuditFragments } from "../audit.js";
import { likePrefix } from "../audit-overview.js";
import { globToLike } from "../retention.js";

export const PG_FRAGMENTS: AuditFragments = {
  hourBucket: sql`to_char(date_done, 'YYYY-MM-DD HH24')`,
  // extract(epoch) of a naive timestamp reads it as UTC, which is what date_done holds.
  timeBucket: (seconds) => sql`(floor(extract(epoch FROM date_done) / ${seconds}) * ${seconds})::bigint`,
  // LIKE 'prefix%' answers from the varchar_pattern_ops index of migration 0004 in any
  // collation; the unique index on task_id serves LIKE only under the C collation. The escape
  // is written '\\' because a template literal reads '\' as a lone quote: PostgreSQL then got
  // ESCAPE '' and a prefix holding %, _ or \ matched nothing.
  idPrefix: (prefix) => sql`task_id LIKE ${likePrefix(prefix)} ESCAPE '\\'`,
  glob: (column, glob) => sql`${column} LIKE ${globToLike(glob)}`,
  plusMs: (column, ms) => sql`(${column} + ${ms}::bigint * interval '1 millisecond')`,
  forever: sql`'infinity'::timestamp`,
  greatest: (a, b) => sql`GREATEST(${a}, ${b}::timestamp)`,
};
