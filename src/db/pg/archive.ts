/**
 * The archive tier on PostgreSQL (#12): `<task table>_archive`, partitioned by RANGE of each row's
 * computed expiry (expires_at), one partition per calendar month (UTC) plus one for rows kept
 * forever (held, or governed by a "forever" rule). Partitioning by expiry rather than by date_done
 * is what keeps per-rule retention working: a partition whose month has passed holds only rows
 * whose retention has run out, whatever their rule, so it is dropped whole. Partitions are created
 * ahead by taskledger itself (no pg_partman). Celery's table cannot be partitioned this way
 * (its unique task_id would have to be in the key), so it stays the hot tier.
 */
import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { AuditFragments } from "../audit.js";
import { expiryOf, TIER_COLUMNS, type ArchiveRule } from "../archive.js";
import { toNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";
import type { PgConnection } from "./borrowed-pool.js";

const dialect = new PgDialect();

/** Set (transaction-local) by a move into the archive; the history delete trigger then keeps the history. */
export const ARCHIVE_MOVE_SETTING = "taskledger.archive_move";
const MONTH_SUFFIX = /_p(\d{4})(\d{2})$/;

/** The archive's DDL, idempotent: the parent, its indexes, and the "forever" partition. */
export function archiveDdl(t: Tables): string[] {
  const name = (suffix: string) => `"${t.config.task}_${suffix}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t.archive} (
      id integer NOT NULL, task_id varchar(155), status varchar(50), result bytea, date_done timestamp, traceback text,
      name varchar(155), args bytea, kwargs bytea, worker varchar(155), retries integer, queue varchar(155),
      children bytea, parent_id varchar(155), group_id varchar(155), date_updated timestamp,
      expires_at timestamp NOT NULL, archived_at timestamp NOT NULL
    ) PARTITION BY RANGE (expires_at)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_task_id")} ON ${t.archive} (task_id)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_id")} ON ${t.archive} (id)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_date_done")} ON ${t.archive} (date_done)`,
    `CREATE TABLE IF NOT EXISTS ${t.besideTask("archive_forever")} PARTITION OF ${t.archive} FOR VALUES FROM ('infinity') TO (MAXVALUE)`,
    // History moves with its task (#12): the history trigger of migration 0002 deletes a task's
    // history when its row leaves the task table; a row that left for the archive keeps it. A move
    // (moveToArchive) marks its own transaction, so this trigger returns at once for it; checking
    // the archive per deleted row instead probed every partition's task_id index (26 probes a row,
    // 560 ms of a 1 s batch of 50,000: BENCHMARKS.md). Other deletes check the archive only for
    // rows that have history (an id archived and later stored again keeps the archived history).
    // The history goes with the archive row instead (archiveHistoryDelete, forget across tiers).
    `CREATE OR REPLACE FUNCTION ${t.besideTask("history_on_delete")}() RETURNS trigger LANGUAGE plpgsql
      SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off AS $$
    BEGIN
      IF current_setting('${ARCHIVE_MOVE_SETTING}', true) = 'on' THEN RETURN NULL; END IF;
      DELETE FROM ${t.history} AS h WHERE h.task_id IN (SELECT o.task_id FROM old_rows AS o)
        AND NOT EXISTS (SELECT 1 FROM ${t.archive} AS a WHERE a.task_id = h.task_id);
      RETURN NULL;
    END $$`,
  ];
}

/**
 * Deletes the history of the archive rows in `partition` before it is dropped (a DROP runs no
 * trigger); ids stored again in the task table keep theirs.
 */
export function archiveHistoryDelete(t: Tables, partition: string): string {
  return `DELETE FROM ${t.history} AS h USING ${partition} AS p WHERE h.task_id = p.task_id
    AND NOT EXISTS (SELECT 1 FROM ${t.task} AS k WHERE k.task_id = p.task_id)`;
}

function monthStart(date: Date, add = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + add, 1));
}

function monthSuffix(start: Date): string {
  return `archive_p${start.getUTCFullYear()}${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** Creates the monthly partitions covering [from, to] that do not exist yet; returns how many. */
export async function ensurePartitions(pool: PgConnection, t: Tables, from: Date, to: Date): Promise<number> {
  const existing = new Set((await partitions(pool, t)).map((p) => p.name));
  let created = 0;
  for (let start = monthStart(from); start <= to; start = monthStart(start, 1)) {
    const suffix = monthSuffix(start);
    if (existing.has(`${t.config.task}_${suffix}`)) continue;
    // Bounds are literals from Dates computed here (DDL takes no parameters).
    await pool.query({
      text: `CREATE TABLE IF NOT EXISTS ${t.besideTask(suffix)} PARTITION OF ${t.archive}
      FOR VALUES FROM ('${toNaiveUtc(start)}') TO ('${toNaiveUtc(monthStart(start, 1))}')`,
    });
    created++;
  }
  return created;
}

interface Partition {
  name: string;
  /** The exclusive upper bound of its expiry range; null for the "forever" partition. */
  until: Date | null;
}

async function partitions(pool: PgConnection, t: Tables): Promise<Partition[]> {
  const rows = await pool.query<{ name: string }>({
    text: "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY c.relname",
    values: [t.archive],
  });
  return rows.rows.map(({ name }) => {
    const month = MONTH_SUFFIX.exec(name);
    return { name, until: month ? new Date(Date.UTC(Number(month[1]), Number(month[2]), 1)) : null };
  });
}

/**
 * Rows of one partition picked by their expiry under today's rules and holds, taken out in one
 * statement: those that must outlive the partition are filed again under their new expiry, those
 * already expired (a released row in "forever") simply go. Returns both counts.
 */
async function refile(
  pool: PgConnection,
  t: Tables,
  f: AuditFragments,
  ranked: readonly ArchiveRule[],
  partition: string,
  where: "held" | "done-since" | "finite",
  now: Date,
  since?: Date,
): Promise<{ refiled: number; expired: number }> {
  const at = toNaiveUtc(now);
  const expiry = expiryOf(t, f, ranked, "p");
  // "held" probes the partition's task_id index once per hold; "done-since" reads the date_done
  // index from `since` on: only rows done that recently can be kept past now by a finite rule.
  // Either way an expired partition is not scanned whole (4.9 s for 100k rows when it was).
  const condition =
    where === "held"
      ? sql`p.task_id IN (SELECT task_id FROM ${sql.raw(t.hold)})`
      : where === "done-since"
        ? since
          ? sql`p.date_done > ${toNaiveUtc(since)} AND ${expiry} > ${at}`
          : sql`${expiry} > ${at}`
        : sql`${expiry} < ${f.forever}`;
  const query = sql`WITH moved AS (
      DELETE FROM ${sql.raw(partition)} AS p WHERE ${condition} RETURNING ${sql.raw(TIER_COLUMNS)}, archived_at
    ), filed AS (
      INSERT INTO ${sql.raw(t.archive)} (${sql.raw(TIER_COLUMNS)}, expires_at, archived_at)
      SELECT ${sql.raw(TIER_COLUMNS)}, ${expiryOf(t, f, ranked, "moved")}, archived_at FROM moved
      WHERE ${expiryOf(t, f, ranked, "moved")} > ${at}
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved)::int AS moved, (SELECT count(*) FROM filed)::int AS filed`;
  const { sql: text, params } = dialect.sqlToQuery(query);
  const row = (await pool.query<{ moved: number; filed: number }>({ text, values: params })).rows[0]!;
  return { refiled: row.filed, expired: row.moved - row.filed };
}

export interface ArchiveExpiry {
  /** Archived rows that went (dropped with their partitions). */
  rows: number;
  partitions: number;
  /** Rows moved out of a partition before it was dropped, or out of "forever" once released. */
  refiled: number;
}

/**
 * Expires the archive: first rows in "forever" that no hold or rule keeps forever any more are
 * filed by their expiry; then each monthly partition whose month has passed is emptied of rows
 * that must stay (held, or kept longer by today's rules) and dropped whole.
 */
export async function expireArchive(
  pool: PgConnection,
  t: Tables,
  f: AuditFragments,
  ranked: readonly ArchiveRule[],
  now: Date,
  maxKeepMs: number,
): Promise<ArchiveExpiry> {
  const result: ArchiveExpiry = { rows: 0, partitions: 0, refiled: 0 };
  await ensurePartitions(pool, t, now, new Date(now.getTime() + maxKeepMs));
  const all = await partitions(pool, t);
  const forever = all.find((p) => p.until === null);
  if (forever) {
    const released = await refile(pool, t, f, ranked, t.besideTask("archive_forever"), "finite", now);
    result.refiled += released.refiled;
    result.rows += released.expired;
  }
  for (const partition of all) {
    if (partition.until === null || partition.until > now) continue;
    const qualified = t.besideTask(partition.name.slice(t.config.task.length + 1));
    result.refiled += (await refile(pool, t, f, ranked, qualified, "held", now)).refiled;
    // A rule kept forever may now match any row, so then every row is judged; else only rows done
    // within the longest finite retention can outlive now.
    const foreverRule = ranked.some((rule) => rule.keepMs === null);
    result.refiled += (
      await refile(pool, t, f, ranked, qualified, "done-since", now, foreverRule ? undefined : new Date(now.getTime() - maxKeepMs))
    ).refiled;
    const count = await pool.query<{ n: number }>({ text: `SELECT count(*)::int AS n FROM ${qualified}` });
    // DROP takes an ACCESS EXCLUSIVE lock on the archive for the catalog change only: no row is
    // visited, so it is over in milliseconds whatever the partition holds (BENCHMARKS.md).
    await pool.query({ text: archiveHistoryDelete(t, qualified) });
    await pool.query({ text: `DROP TABLE ${qualified}` });
    result.rows += count.rows[0]!.n;
    result.partitions++;
  }
  return result;
}
