/**
 * The archive tier on MySQL and MariaDB: `<task table>_archive`, partitioned by each row's expiry
 * (RANGE COLUMNS over expires_at, one partition per month), so expiring a month is DROP PARTITION.
 * MySQL requires every unique key to hold the partition column, so the primary key is
 * (id, expires_at) and task_id has a plain index. Past the monthly partitions `p_far` takes what
 * expires beyond them (split into months as they come near, while it is empty) and `p_forever`
 * the rows kept forever (held, or under a rule kept forever).
 *
 * History stays in the history table: the delete trigger keeps a task's history while the
 * archive holds the id (the move copies before it deletes, in one transaction), and archive rows
 * take their history along when they go (a trigger for row deletes; before a partition drop, a
 * delete of the history of the rows in it).
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditFragments } from "../audit.js";
import { expiryOf, TIER_COLUMNS } from "../archive.js";
import type { ArchiveRule } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";
import type { MysqlExecutor } from "./executor.js";

/** The expiry of rows kept forever: DATETIME's last instant, in p_forever. */
export const MYSQL_FOREVER = "9999-12-31 23:59:59.999999";
const FAR_BOUND = "9999-12-31 00:00:00";
/** At most this many monthly partitions ahead (MySQL allows 8,192 partitions in all); later expiries wait in p_far. */
const MAX_MONTHS_AHEAD = 120;

/** First instant of the month `offset` months after `date`'s, as naive UTC text. */
function monthStart(date: Date, offset = 0): string {
  return toNaiveUtc(new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1)));
}

function partitionName(monthStartText: string): string {
  return `p${monthStartText.slice(0, 4)}${monthStartText.slice(5, 7)}`;
}

/** Archive DDL: the table (its ids in the task table's collation, so joins with it and with holds compare), and the triggers that keep history with its row. */
export function archiveDdl(t: Tables, idType: string, now: Date): string[] {
  const first = monthStart(now, 1);
  const trigger = (suffix: string) => t.quote(`${t.config.task}_${suffix}`, "tableNames.task");
  const index = (suffix: string) => t.quote(`ix_${t.config.task}_archive_${suffix}`, "tableNames.task");
  return [
    `CREATE TABLE IF NOT EXISTS ${t.archive} (
      id int NOT NULL, task_id ${idType}, status varchar(50), result longblob, date_done datetime(6), traceback longtext,
      name varchar(155), args longblob, kwargs longblob, worker varchar(155), retries int, queue varchar(155),
      children longblob, parent_id ${idType}, group_id ${idType}, date_updated datetime(6),
      expires_at datetime(6) NOT NULL, archived_at datetime(6) NOT NULL,
      PRIMARY KEY (id, expires_at), KEY ${index("task_id")} (task_id, archived_at)
    ) PARTITION BY RANGE COLUMNS (expires_at) (
      PARTITION ${partitionName(monthStart(now))} VALUES LESS THAN ('${first}'),
      PARTITION p_far VALUES LESS THAN ('${FAR_BOUND}'),
      PARTITION p_forever VALUES LESS THAN (MAXVALUE))`,
    `DROP TRIGGER IF EXISTS ${trigger("tl_history_delete")}`,
    `CREATE TRIGGER ${trigger("tl_history_delete")} AFTER DELETE ON ${t.task} FOR EACH ROW
      DELETE FROM ${t.history} WHERE task_id = OLD.task_id AND NOT EXISTS (SELECT 1 FROM ${t.archive} AS a WHERE a.task_id = OLD.task_id)`,
    `CREATE TRIGGER IF NOT EXISTS ${trigger("tl_archive_history_delete")} AFTER DELETE ON ${t.archive} FOR EACH ROW
      DELETE FROM ${t.history} WHERE task_id = OLD.task_id
        AND NOT EXISTS (SELECT 1 FROM ${t.task} AS x WHERE x.task_id = OLD.task_id)
        AND NOT EXISTS (SELECT 1 FROM ${t.archive} AS a WHERE a.task_id = OLD.task_id)`,
  ];
}

interface Partition {
  name: string;
  /** Upper bound as naive text; null for MAXVALUE. */
  bound: string | null;
}

export async function partitions(run: MysqlExecutor, t: Tables): Promise<Partition[]> {
  const rows = await run.query<{ name: string; bound: string }>(
    `SELECT PARTITION_NAME AS name, PARTITION_DESCRIPTION AS bound FROM information_schema.PARTITIONS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION`,
    [t.config.taskSchema, `${t.config.task}_archive`],
  );
  return rows.map((r) => ({ name: r.name, bound: /MAXVALUE/i.test(r.bound) ? null : r.bound.replace(/^'|'$/g, "") }));
}

/**
 * Runs archive DDL waiting at most a second for its metadata lock, and says whether it ran. A DDL
 * statement queued behind a reader (a backup's long transaction) holds every later statement on the
 * table behind it, stores judged across tiers included, for as long as it waits; so it gives up
 * and the work waits for the next run, as on PostgreSQL. A second is MySQL's smallest lock wait.
 */
export async function withShortLockWait(run: MysqlExecutor, statement: string): Promise<boolean> {
  await run.query("SET SESSION lock_wait_timeout = 1");
  try {
    await run.query(statement);
    return true;
  } catch (error) {
    if ((error as { errno?: unknown }).errno === ER_LOCK_WAIT_TIMEOUT) return false;
    throw error;
  } finally {
    await run.query("SET SESSION lock_wait_timeout = DEFAULT");
  }
}

const ER_LOCK_WAIT_TIMEOUT = 1205;

/**
 * Splits monthly partitions off p_far until `until`'s month has one (p_far is empty then, so the
 * split copies nothing). Returns what waited for the next run: the partitions it could not create
 * because a reader held the archive (none with `wait`, as `migrate --archive` does).
 */
export async function ensurePartitions(run: MysqlExecutor, t: Tables, now: Date, until: Date, wait = false): Promise<string[]> {
  const existing = await partitions(run, t);
  const monthly = existing.filter((p) => p.name !== "p_far" && p.name !== "p_forever");
  const highest = monthly.length > 0 ? monthly[monthly.length - 1]!.bound! : monthStart(now);
  const horizon = new Date(Math.min(until.getTime(), Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MAX_MONTHS_AHEAD, 1)));
  const added: string[] = [];
  const names: string[] = [];
  for (let offset = 0; ; offset++) {
    const start = monthStart(new Date(`${highest.slice(0, 10)}T00:00:00Z`), offset);
    if (start > toNaiveUtc(horizon)) break;
    names.push(partitionName(start));
    added.push(`PARTITION ${partitionName(start)} VALUES LESS THAN ('${monthStart(new Date(`${start.slice(0, 10)}T00:00:00Z`), 1)}')`);
  }
  if (added.length === 0) return [];
  const split = `ALTER TABLE ${t.archive} REORGANIZE PARTITION p_far INTO (${added.join(", ")}, PARTITION p_far VALUES LESS THAN ('${FAR_BOUND}'))`;
  if (wait) await run.query(split);
  else if (!(await withShortLockWait(run, split))) return names.map((name) => `creating ${t.config.task}_archive partition ${name}`);
  return [];
}

/**
 * One move: copies a batch of finished rows, each filed under its expiry, and deletes them from
 * the task table, in one transaction on `run`'s connection. The rows are locked first (FOR
 * UPDATE), so a concurrent store waits and then finds its row in the archive.
 */
export async function moveBatch(
  run: MysqlExecutor,
  t: Tables,
  f: AuditFragments,
  p: { before: Date; now: Date; limit: number; ranked: readonly ArchiveRule[] },
  render: (query: SQL) => { sql: string; params: unknown[] },
): Promise<number> {
  const ids = (
    await run.query<{ id: number }>(`SELECT id FROM ${t.task} WHERE date_done < ? ORDER BY date_done LIMIT ? FOR UPDATE`, [
      toNaiveUtc(p.before),
      p.limit,
    ])
  ).map((r) => Number(r.id));
  if (ids.length === 0) return 0;
  const at = toNaiveUtc(p.now);
  const copy = render(sql`INSERT INTO ${sql.raw(t.archive)} (${sql.raw(TIER_COLUMNS)}, expires_at, archived_at)
    SELECT ${sql.raw(TIER_COLUMNS)}, ${f.greatest(expiryOf(t, f, p.ranked, t.task), sql`${at}`)}, ${at}
    FROM ${sql.raw(t.task)} WHERE id IN ${ids}`);
  await run.query(copy.sql, copy.params);
  const removed = render(sql`DELETE FROM ${sql.raw(t.task)} WHERE id IN ${ids}`);
  return ((await run.query(removed.sql, removed.params)) as unknown as { affectedRows: number }).affectedRows;
}

/**
 * One expiry pass: rows filed forever that no hold or rule keeps forever any more get their
 * expiry; each month whose partition has passed has its rows still kept (a longer rule, a later
 * hold) filed again, the history of the rest deleted, and is dropped; then one bounded batch of
 * the rows left whose expiry has passed (this month's, and those just refiled into the past).
 */
export async function expire(
  run: MysqlExecutor,
  t: Tables,
  f: AuditFragments,
  p: { ranked: readonly ArchiveRule[]; now: Date; limit: number },
  render: (query: SQL) => { sql: string; params: unknown[] },
): Promise<{ rows: number; partitions: number; refiled: number; more: boolean; deferred: string[] }> {
  const at = toNaiveUtc(p.now);
  const deferred: string[] = [];
  /** The bound of the last partition whose drop waits for the next run: its rows wait with it, not deleted one by one. */
  let keepBelow: string | null = null;
  const expiry = expiryOf(t, f, p.ranked, t.archive);
  const affected = async (query: SQL) => {
    const { sql: text, params } = render(query);
    return ((await run.query(text, params)) as unknown as { affectedRows: number }).affectedRows;
  };
  let refiled = await affected(
    sql`UPDATE ${sql.raw(t.archive)} SET expires_at = ${expiry} WHERE expires_at = ${f.forever} AND ${expiry} < ${f.forever}`,
  );
  let rows = 0;
  let dropped = 0;
  const all = await partitions(run, t);
  const previousBound = (part: Partition) => {
    const i = all.indexOf(part);
    return i > 0 ? all[i - 1]!.bound : null;
  };
  for (const part of all) {
    if (part.bound === null || part.name === "p_far" || part.bound > at) continue;
    // By range, not by PARTITION (…): an UPDATE naming a partition cannot move a row out of it.
    const lower = previousBound(part);
    refiled += await affected(
      sql`UPDATE ${sql.raw(t.archive)} SET expires_at = ${expiry} WHERE ${lower ? sql`expires_at >= ${lower} AND ` : sql``}expires_at < ${part.bound} AND ${expiry} >= ${at}`,
    );
    // The ids whose history goes with the partition are kept aside until the drop has happened: a
    // drop that waits for the next run (a reader holds the partition) must leave their history, since
    // a hold placed meanwhile may keep the row.
    await run.query("DROP TEMPORARY TABLE IF EXISTS tl_dropping");
    await run.query(`CREATE TEMPORARY TABLE tl_dropping AS SELECT DISTINCT task_id FROM ${t.archive} PARTITION (${part.name})`);
    try {
      const [count] = await run.query<{ n: number }>(`SELECT count(*) AS n FROM ${t.archive} PARTITION (${part.name})`);
      if (!(await withShortLockWait(run, `ALTER TABLE ${t.archive} DROP PARTITION ${part.name}`))) {
        deferred.push(`dropping ${t.config.task}_archive partition ${part.name}`);
        keepBelow = part.bound;
        continue;
      }
      await affected(sql`DELETE h FROM ${sql.raw(t.history)} AS h JOIN tl_dropping AS d ON d.task_id = h.task_id
        WHERE NOT EXISTS (SELECT 1 FROM ${sql.raw(t.task)} AS x WHERE x.task_id = d.task_id)
          AND NOT EXISTS (SELECT 1 FROM ${sql.raw(t.archive)} AS o WHERE o.task_id = d.task_id)`);
      rows += Number(count?.n ?? 0);
      dropped++;
    } finally {
      await run.query("DROP TEMPORARY TABLE IF EXISTS tl_dropping");
    }
  }
  const batch = await affected(
    sql`DELETE FROM ${sql.raw(t.archive)} WHERE expires_at < ${at}${keepBelow ? sql` AND expires_at >= ${keepBelow}` : sql``} AND ${expiry} < ${at} ORDER BY expires_at LIMIT ${p.limit}`,
  );
  return { rows: rows + batch, partitions: dropped, refiled, more: batch === p.limit, deferred };
}
