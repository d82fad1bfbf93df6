/**
 * The archive tier in SQL shared by every dialect: the expiry a row gets under the ranked
 * retention rules, the rows a move takes, and the audit view over both tiers. PostgreSQL
 * partitions the archive (and its history) by that expiry and moves a batch in one statement
 * (./pg/archive.ts), so expiring it is dropping whole partitions; SQLite keeps one plain table
 * (./sqlite/archive.ts).
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditFragments } from "./audit.js";
import { heldSql } from "./holds.js";
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
export function expiryOf(
  t: Tables,
  f: AuditFragments,
  ranked: readonly ArchiveRule[],
  table: string,
  /** Whether the row is held, when not the hold table probed per row (Citus: not from a CTE's row). */
  heldWhen?: SQL,
): SQL {
  const held = heldWhen ?? sql.raw(heldSql(t.hold, `${table}.task_id`));
  const keep = (rule: ArchiveRule) => (rule.keepMs === null ? f.forever : f.plusMs(sql.raw(`${table}.date_done`), rule.keepMs));
  const branches = ranked.slice(0, -1).map((rule) => sql` WHEN ${ruleMatch(rule, f)} THEN ${keep(rule)}`);
  return sql`CASE WHEN ${held} THEN ${f.forever}${sql.join(branches, sql``)} ELSE ${keep(ranked[ranked.length - 1]!)} END`;
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

/**
 * The dry run's count of archive rows an expiry pass would remove now: among the rows it looks at
 * (`due`: expired partitions and "forever" on PostgreSQL, past their stored expiry on SQLite),
 * those whose expiry under today's rules and holds has passed (`expired`, the dialect's own test).
 */
export function countArchiveExpired(
  t: Tables,
  f: AuditFragments,
  ranked: readonly ArchiveRule[],
  due: SQL,
  expired: (expiry: SQL) => SQL,
): SQL {
  return sql`SELECT count(*) AS n FROM ${sql.raw(t.archive)} WHERE ${due} AND ${expired(expiryOf(t, f, ranked, t.archive))}`;
}

/**
 * The dry run's count of rows a move would take, on the move's own predicate, among the rows the
 * same run's expiry passes leave: they run first and delete what expired under the rules (held
 * rows excepted), which is every row whose expiry is before now. Counting all of them overcounted
 * (50 where the run moved 10).
 */
export function countArchivable(t: Tables, f: AuditFragments, p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): SQL {
  const survives = sql`${expiryOf(t, f, p.ranked, t.task)} >= ${toNaiveUtc(p.now)}`;
  return sql`SELECT count(*) AS n FROM ${sql.raw(t.task)} WHERE ${archivable(p.before)} AND ${survives}`;
}
