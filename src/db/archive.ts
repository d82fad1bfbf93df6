/**
 * The archive tier (#12) in SQL shared by both dialects: the expiry a row gets under the ranked
 * retention rules, and the one-statement move of a batch from the task table into the archive.
 * PostgreSQL partitions the archive by that expiry (./pg/archive.ts), so expiring it is dropping
 * whole partitions; SQLite keeps one plain table (./sqlite/archive.ts).
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditFragments } from "./audit.js";
import { TIER_COLUMNS } from "./rows.js";
import type { ArchiveRule } from "./types.js";
import { toNaiveUtc } from "./naive-utc.js";
import { ruleMatch } from "./retention.js";
import type { Tables } from "./tables.js";

export type { ArchiveRule };

export { TIER_COLUMNS };

/**
 * When a row expires under the ranked rules (most specific first, the catch-all last): its
 * date_done plus the governing rule's retention; "forever" for rules kept forever and for held
 * rows. `table` qualifies the columns (the row being moved).
 */
export function expiryOf(t: Tables, f: AuditFragments, ranked: readonly ArchiveRule[], table: string): SQL {
  const held = sql`EXISTS (SELECT 1 FROM ${sql.raw(t.hold)} AS h WHERE h.task_id = ${sql.raw(table)}.task_id)`;
  const keep = (rule: ArchiveRule) => (rule.keepMs === null ? f.forever : f.plusMs(sql.raw(`${table}.date_done`), rule.keepMs));
  const branches = ranked.slice(0, -1).map((rule) => sql` WHEN ${ruleMatch(rule, f)} THEN ${keep(rule)}`);
  return sql`CASE WHEN ${held} THEN ${f.forever}${sql.join(branches, sql``)} ELSE ${keep(ranked[ranked.length - 1]!)} END`;
}

/**
 * One batch of finished rows older than `before` moved from the task table into the archive, in
 * one statement: the DELETE and the INSERT commit together or not at all, so a killed process
 * never loses or doubles a row. An expiry already past (a row held, then released, or one the
 * rules expired since the last cleanup) is filed under `now`, so it lands in the current
 * partition and goes with it.
 */
export function moveToArchive(
  t: Tables,
  f: AuditFragments,
  p: { before: Date; now: Date; limit: number; ranked: readonly ArchiveRule[] },
  ids: (select: SQL) => SQL,
  /** An expression evaluated once with the move (PostgreSQL marks its transaction as a move with it). */
  mark: SQL = sql`1`,
): SQL {
  const now = toNaiveUtc(p.now);
  const batch = sql`SELECT id FROM ${sql.raw(t.task)} WHERE ${archivable(p.before)} ORDER BY date_done LIMIT ${p.limit}`;
  return sql`WITH moved AS (
      DELETE FROM ${sql.raw(t.task)} WHERE ${ids(batch)} AND ${archivable(p.before)}
      RETURNING ${sql.raw(TIER_COLUMNS)}
    )
    INSERT INTO ${sql.raw(t.archive)} (${sql.raw(TIER_COLUMNS)}, expires_at, archived_at)
    SELECT ${sql.raw(TIER_COLUMNS)}, ${f.greatest(expiryOf(t, f, p.ranked, "moved"), sql`${now}`)}, ${now}
    FROM moved CROSS JOIN (SELECT ${mark} AS mark) AS move_mark`;
}

/**
 * The tables as audit queries (list, count, stats, export) should read them: with an archive,
 * the task "table" is both tiers as one row source (ids are unique across them: a move keeps the id).
 */
export function auditTables(t: Tables, archive: boolean): Tables {
  if (!archive) return t;
  return { ...t, task: `(SELECT ${TIER_COLUMNS} FROM ${t.task} UNION ALL SELECT ${TIER_COLUMNS} FROM ${t.archive}) AS tasks` };
}

/** The rows a move takes: finished before `before` (unready rows have no date_done). */
function archivable(before: Date): SQL {
  return sql`date_done < ${toNaiveUtc(before)}`;
}

/** The dry run's count of rows a move would take, on the move's own predicate. */
export function countArchivable(t: Tables, before: Date): SQL {
  return sql`SELECT count(*) AS n FROM ${sql.raw(t.task)} WHERE ${archivable(before)}`;
}
