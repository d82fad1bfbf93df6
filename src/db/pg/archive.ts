/**
 * The archive tier on PostgreSQL: `<task table>_archive`, partitioned by RANGE of each row's
 * computed expiry (expires_at), one partition per calendar month (UTC) plus one for rows kept
 * forever (held, or governed by a "forever" rule). Partitioning by expiry rather than by date_done
 * is what keeps per-rule retention working: a partition whose month has passed holds only rows
 * whose retention has run out, whatever their rule, so it is dropped whole. Partitions are created
 * ahead by taskledger itself (no pg_partman). Celery's table cannot be partitioned this way
 * (its unique task_id would have to be in the key), so it stays the hot tier.
 */
import { sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { AuditFragments } from "../audit.js";
import { expiryOf, TIER_COLUMNS, type ArchiveRule } from "../archive.js";
import { heldOnlySql } from "../holds.js";
import { toNaiveUtc } from "../naive-utc.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import type { PgConnection, PgSession } from "./borrowed-pool.js";

const dialect = new PgDialect();

/** Set (transaction-local) by a move into the archive; the history delete trigger then keeps the history. */
export const ARCHIVE_MOVE_SETTING = "taskledger.archive_move";
const MONTH_SUFFIX = /_p(\d{4})(\d{2})$/;

/** The name of an index beside the task table (unqualified: an index lives in its table's schema). */
function indexName(t: Tables, suffix: string): string {
  return quoteIdentifier(`${t.config.task}_${suffix}`, "tableNames.task");
}

/** The archive's DDL, idempotent: the parent, its indexes, and the "forever" partition. */
export function archiveDdl(t: Tables): string[] {
  const name = (suffix: string) => indexName(t, suffix);
  return [
    `CREATE TABLE IF NOT EXISTS ${t.archive} (
      id integer NOT NULL, task_id varchar(155), status varchar(50), result bytea, date_done timestamp, traceback text,
      name varchar(155), args bytea, kwargs bytea, worker varchar(155), retries integer, queue varchar(155),
      children bytea, parent_id varchar(155), group_id varchar(155), date_updated timestamp,
      expires_at timestamp NOT NULL, archived_at timestamp NOT NULL
    ) PARTITION BY RANGE (expires_at)`,
    // task_id by varchar_pattern_ops: byte-wise comparisons, cheaper to maintain than the
    // collation's, and the index answers both `=` and an id-prefix LIKE, as the hot table's
    // pattern index of migration 0004 does. With the history archive's hash index below, a move
    // is 1.13x faster than with the btrees before (bench/archive-move-floor.ts). An
    // archive created before had a plain btree by another name, dropped once the new one is
    // built. The new names are no longer than the suffixes of the tables here and do not start
    // with the old ones, so a long task table name cut at PostgreSQL's 63 characters can never
    // turn one into the other.
    `CREATE INDEX IF NOT EXISTS ${name("archive_tid_pattern")} ON ${t.archive} (task_id varchar_pattern_ops)`,
    `DROP INDEX IF EXISTS ${t.besideTask("archive_task_id")}`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_id")} ON ${t.archive} (id)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_date_done")} ON ${t.archive} (date_done)`,
    `CREATE TABLE IF NOT EXISTS ${t.besideTask("archive_forever")} PARTITION OF ${t.archive} FOR VALUES FROM ('infinity') TO (MAXVALUE)`,
    // History moves with its task, into a history archive partitioned like the archive (by
    // the task's expiry), so expiring a month drops its history partition too instead of deleting
    // the history rows of ~830k tasks first. A move (moveToArchive below) takes the history in the
    // same statement and marks its transaction, so the delete trigger of migration 0002, replaced
    // here, returns at once for it (it probed every archive partition per moved row before: 560 ms
    // of a 1 s batch of 50,000, BENCHMARKS.md); other deletes take their history as before.
    `CREATE TABLE IF NOT EXISTS ${historyArchive(t)} (
      id bigint NOT NULL, task_id varchar(155), status varchar(50), date timestamp, worker varchar(155), retries integer,
      queue varchar(155), result bytea, traceback text, expires_at timestamp NOT NULL
    ) PARTITION BY RANGE (expires_at)`,
    // Archived history is only ever looked up by task_id (a task's few entries, sorted after): a
    // hash index, cheaper to insert into than the (task_id, id) btree an earlier archive had.
    `CREATE INDEX IF NOT EXISTS ${name("history_archive_hash")} ON ${historyArchive(t)} USING hash (task_id)`,
    `DROP INDEX IF EXISTS ${t.besideTask("history_archive_task_id")}`,
    `CREATE TABLE IF NOT EXISTS ${t.besideTask("history_archive_forever")} PARTITION OF ${historyArchive(t)} FOR VALUES FROM ('infinity') TO (MAXVALUE)`,
    `CREATE OR REPLACE FUNCTION ${t.besideTask("history_on_delete")}() RETURNS trigger LANGUAGE plpgsql
      SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off AS $$
    BEGIN
      IF current_setting('${ARCHIVE_MOVE_SETTING}', true) = 'on' THEN RETURN NULL; END IF;
      DELETE FROM ${t.history} AS h USING old_rows AS o WHERE h.task_id = o.task_id;
      RETURN NULL;
    END $$`,
    ...archiveGuardDdl(t),
  ];
}

/**
 * What stores need to judge a write by the archive (taskStoreTiers in statements.ts):
 * - `<task>_archive_ids`, one entry (task id, expiry) per archived row: one index probe tells a
 *   store whether to look in the archive at all. Probing the archive itself cost every new task's
 *   first store 15 partition probes, 0.59x of the store before with 8 callers
 *   (bench/archive-guard.ts); the archive is partitioned by expiry, so no index of its own can
 *   answer "is this id here" in one probe. Kept exact, row for row: a move adds its rows' entries
 *   in the same statement, a refile moves them to the new expiry, a partition drop takes its
 *   month's range, forget and supersede an id's all. An entry per row rather than per id, so an id
 *   with two archived rows (written again by another writer, archived again) keeps its entry while
 *   one of them goes. A hash index, no key: with a unique btree a move ran at 0.69x of one without
 *   the index, as every random id split pages.
 * - `<task>_archived(ids)`, the latest archived row of each id, and `<task>_supersede(ids)`, which
 *   takes those rows out (their history back to the history table, ids kept so its order holds)
 *   once a new hot row replaces them. Functions, not subqueries, because a statement that names
 *   the archive locks its every partition and index at each execution, found or not: that halved
 *   the throughput of updates of hot rows too, and queued every store behind archive DDL waiting
 *   for its lock. A function's statements run, and lock, only when it is called.
 */
export function archiveGuardDdl(t: Tables): string[] {
  const [archived, supersede] = archiveGuardFunctions(t);
  const ids = archiveIds(t);
  // Function bodies quoted with a tag: a configured table name may contain "$$".
  return [
    // Filled from the archive when it is created here (an archive made by an older taskledger);
    // once, as the table is new. Index names take no schema: they live in their table's.
    `DO $tl$ BEGIN
      IF to_regclass('${ids.replaceAll("'", "''")}') IS NULL THEN
        CREATE TABLE ${ids} (task_id varchar(155) NOT NULL, expires_at timestamp NOT NULL);
        INSERT INTO ${ids} (task_id, expires_at) SELECT task_id, expires_at FROM ${t.archive} WHERE task_id IS NOT NULL;
        CREATE INDEX ${indexName(t, "archive_ids_hash")} ON ${ids} USING hash (task_id);
      END IF;
    END $tl$`,
    `CREATE OR REPLACE FUNCTION ${archived}(ids varchar[]) RETURNS SETOF ${t.archive} LANGUAGE plpgsql STABLE AS $tl$
    BEGIN
      -- One id by equality: = ANY over 15 partitions cost 4x as much per store (about 400 us
      -- against 100 us here), the partitions' array handling, not the probes themselves.
      IF cardinality(ids) = 1 THEN
        RETURN QUERY SELECT a.* FROM ${t.archive} AS a WHERE a.task_id = ids[1] ORDER BY a.archived_at DESC, a.id DESC LIMIT 1;
      ELSIF cardinality(ids) > 1 THEN
        RETURN QUERY SELECT DISTINCT ON (a.task_id) a.* FROM ${t.archive} AS a WHERE a.task_id = ANY(ids)
          ORDER BY a.task_id, a.archived_at DESC, a.id DESC;
      END IF;
    END $tl$`,
    // Each statement of a plpgsql function reads a new snapshot: a row a concurrent refile moved
    // to another partition meanwhile (its DELETE here skipped the old version) is seen and taken
    // by the next round, so no archived row outlives its entry in the index of archived ids.
    `CREATE OR REPLACE FUNCTION ${supersede}(ids varchar[]) RETURNS integer LANGUAGE plpgsql AS $tl$
    DECLARE gone integer := 0; n integer;
    BEGIN
      IF cardinality(ids) = 0 THEN RETURN 0; END IF;
      LOOP
        DELETE FROM ${t.archive} WHERE task_id = ANY(ids);
        GET DIAGNOSTICS n = ROW_COUNT;
        gone := gone + n;
        WITH back AS (DELETE FROM ${historyArchive(t)} WHERE task_id = ANY(ids) RETURNING ${HISTORY_COLUMNS})
        INSERT INTO ${t.history} (${HISTORY_COLUMNS}) OVERRIDING SYSTEM VALUE SELECT ${HISTORY_COLUMNS} FROM back;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM ${t.archive} WHERE task_id = ANY(ids));
      END LOOP;
      DELETE FROM ${ids} WHERE task_id = ANY(ids);
      RETURN gone;
    END $tl$`,
  ];
}

/** The index of archived ids: one (task id, expiry) per archived row (see archiveGuardDdl). */
export function archiveIds(t: Tables): string {
  return t.besideTask("archive_ids");
}

/** The qualified names of the archive guard's functions: [archived, supersede]. */
export function archiveGuardFunctions(t: Tables): [string, string] {
  return [t.besideTask("archived"), t.besideTask("supersede")];
}

/** The history archive: the archived tasks' history, partitioned by their expiry. */
export function historyArchive(t: Tables): string {
  return t.besideTask("history_archive");
}

/** The history table's columns, as the history archive holds them beside each row's expiry. */
export const HISTORY_COLUMNS = "id, task_id, status, date, worker, retries, queue, result, traceback";

/**
 * Two CTEs that take the history of the tasks in CTE `tasks` out of `from` and file it in the
 * history archive under the expiry their rows got in CTE `filed` (history of a task not filed, one
 * that expired, simply goes). By task_id through ARRAY(...): index probes, never a hash of the table.
 */
function historyFollows(t: Tables, from: string, tasks: "filed" | "moved"): SQL {
  const columns = HISTORY_COLUMNS.split(", ").map((c) => `h.${c}`);
  return sql`history AS (
      DELETE FROM ${sql.raw(from)} WHERE task_id = ANY(ARRAY(SELECT task_id FROM ${sql.raw(tasks)})) RETURNING ${sql.raw(HISTORY_COLUMNS)}
    ), history_filed AS (
      INSERT INTO ${sql.raw(historyArchive(t))} (${sql.raw(HISTORY_COLUMNS)}, expires_at)
      SELECT ${sql.raw(columns.join(", "))}, f.expires_at FROM history AS h JOIN filed AS f ON f.task_id = h.task_id
    )`;
}

/**
 * One batch of finished rows older than `before` moved from the task table into the archive, with
 * their history into the history archive, in one statement: every DELETE and INSERT commits
 * together or not at all, so a killed process never loses or doubles a row. An expiry already
 * past (a row held, then released, or one the rules expired since the last cleanup) is filed under
 * `now`, so it lands in the current partition and goes with it. The batch is named by id (see
 * statements.ts) and its history by task_id through ARRAY(...), index probes either way.
 */
export function moveToArchive(
  t: Tables,
  f: AuditFragments,
  p: { before: Date; now: Date; limit: number; ranked: readonly ArchiveRule[] },
  citus = false,
): SQL {
  const now = toNaiveUtc(p.now);
  const before = toNaiveUtc(p.before);
  // On Citus (pg/distribute.ts) the CTEs run one after another as distributed subplans, and a
  // subquery correlated with a CTE's row is refused: the holds of the moved rows are read once,
  // and the move's mark reaches the workers' delete trigger as a SET LOCAL the caller propagates.
  const expiry = citus
    ? expiryOf(t, f, p.ranked, "moved", sql`moved.task_id IN (SELECT task_id FROM held)`)
    : expiryOf(t, f, p.ranked, "moved");
  return sql`WITH moved AS (
      DELETE FROM ${sql.raw(t.task)} WHERE id = ANY(ARRAY(
        SELECT id FROM ${sql.raw(t.task)} WHERE date_done < ${before} ORDER BY date_done LIMIT ${p.limit}))
        AND date_done < ${before}
      RETURNING ${sql.raw(TIER_COLUMNS)}
    ), ${citus ? sql`held AS (SELECT task_id FROM ${sql.raw(t.hold)} WHERE task_id = ANY(ARRAY(SELECT task_id FROM moved))), ` : sql``}filed AS (
      INSERT INTO ${sql.raw(t.archive)} (${sql.raw(TIER_COLUMNS)}, expires_at, archived_at)
      SELECT ${sql.raw(TIER_COLUMNS)}, ${f.greatest(expiry, sql`${now}`)}, ${now}
      FROM moved${citus ? sql`` : sql` CROSS JOIN (SELECT set_config(${ARCHIVE_MOVE_SETTING}, 'on', true) AS mark) AS move_mark`}
      RETURNING task_id, expires_at
    ), indexed AS (
      INSERT INTO ${sql.raw(archiveIds(t))} (task_id, expires_at) SELECT task_id, expires_at FROM filed
    ), ${historyFollows(t, t.history, "filed")}
    SELECT count(*)::int AS moved FROM filed`;
}

function monthStart(date: Date, add = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + add, 1));
}

function monthSuffix(start: Date): string {
  return `archive_p${start.getUTCFullYear()}${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
}

/**
 * How long archive DDL (a partition created or dropped) waits for its lock before it gives up
 * for this attempt. While it waits, every statement that needs the archive queues behind its
 * ACCESS EXCLUSIVE request, reads and stores included: behind a pg_dump or an export that has
 * read the archive, that queue lasted as long as the backup (12.6 s measured). 100 ms bounds what
 * the world waits per attempt; DDL that cannot get its lock is retried, then left to the next run
 * and reported.
 */
export const ARCHIVE_DDL_LOCK_TIMEOUT_MS = 100;
const ARCHIVE_DDL_ATTEMPTS = 2;
const ARCHIVE_DDL_PAUSE_MS = 250;
/** lock_not_available: lock_timeout expired. */
const LOCK_NOT_AVAILABLE = "55P03";

type SessionQuery = PgSession["query"];

/**
 * Runs `work` in a transaction of its own whose every lock waits at most
 * ARCHIVE_DDL_LOCK_TIMEOUT_MS, a few times; returns undefined when no attempt got its locks (the
 * transaction rolled back each time, so nothing of it happened).
 */
async function withShortLocks<T>(
  pool: PgConnection,
  work: (query: SessionQuery) => Promise<T>,
  citus = false,
): Promise<{ done: T } | undefined> {
  const session = await pool.dedicated();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await session.query("BEGIN");
        // On Citus the DDL and the refiles run on the workers too: the timeout goes along.
        if (citus) await session.query("SET LOCAL citus.propagate_set_commands = 'local'");
        await session.query(`SET LOCAL lock_timeout = ${ARCHIVE_DDL_LOCK_TIMEOUT_MS}`);
        const done = await work((text, values) => session.query(text, values));
        await session.query("COMMIT");
        return { done };
      } catch (error) {
        await session.query("ROLLBACK").catch(() => undefined);
        if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw error;
        if (attempt >= ARCHIVE_DDL_ATTEMPTS) return undefined;
        await new Promise((resolve) => setTimeout(resolve, ARCHIVE_DDL_PAUSE_MS));
      }
    }
  } finally {
    await session.end().catch(() => undefined);
  }
}

/**
 * Creates the monthly partitions covering [from, to] that do not exist yet; returns how many, and
 * the months it could not create because the archive stayed locked (see withShortLocks). `wait`
 * (migrate --archive, asked for by hand) waits for the locks as long as it takes instead.
 */
export async function ensurePartitions(
  pool: PgConnection,
  t: Tables,
  from: Date,
  to: Date,
  wait = false,
): Promise<{ created: number; deferred: string[] }> {
  const existing = new Set((await partitions(pool, t)).map((p) => p.name));
  const result = { created: 0, deferred: [] as string[] };
  for (let start = monthStart(from); start <= to; start = monthStart(start, 1)) {
    const suffix = monthSuffix(start);
    if (existing.has(`${t.config.task}_${suffix}`)) continue;
    // Bounds are literals from Dates computed here (DDL takes no parameters). The history
    // archive gets the same month.
    const bounds = `FOR VALUES FROM ('${toNaiveUtc(start)}') TO ('${toNaiveUtc(monthStart(start, 1))}')`;
    const create = async (query: SessionQuery) => {
      await query(`CREATE TABLE IF NOT EXISTS ${t.besideTask(suffix)} PARTITION OF ${t.archive} ${bounds}`);
      await query(`CREATE TABLE IF NOT EXISTS ${t.besideTask(`history_${suffix}`)} PARTITION OF ${historyArchive(t)} ${bounds}`);
    };
    if (wait) await create((text) => pool.query({ text }));
    else if (!(await withShortLocks(pool, create))) {
      result.deferred.push(`creating ${t.config.task}_${suffix}`);
      continue;
    }
    result.created++;
  }
  return result;
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
  query: SessionQuery,
  t: Tables,
  f: AuditFragments,
  ranked: readonly ArchiveRule[],
  partition: string,
  /** The history archive's partition of the same month. */
  historyPartition: string,
  where: "held" | "done-since" | "finite",
  now: Date,
  since: Date | undefined,
  citus: boolean,
): Promise<{ refiled: number; expired: number }> {
  const at = toNaiveUtc(now);
  // See moveToArchive: on Citus the moved rows' holds are read once, not per row of a CTE.
  const movedExpiry = citus
    ? expiryOf(t, f, ranked, "moved", sql`moved.task_id IN (SELECT task_id FROM held)`)
    : expiryOf(t, f, ranked, "moved");
  const expiry = expiryOf(t, f, ranked, "p");
  // "held" probes the partition's task_id index once per hold; "done-since" reads the date_done
  // index from `since` on: only rows done that recently can be kept past now by a finite rule.
  // Either way an expired partition is not scanned whole (4.9 s for 100k rows when it was).
  const condition =
    where === "held"
      ? sql.raw(heldOnlySql(t.hold, "p.task_id"))
      : where === "done-since"
        ? since
          ? sql`p.date_done > ${toNaiveUtc(since)} AND ${expiry} > ${at}`
          : sql`${expiry} > ${at}`
        : sql`${expiry} < ${f.forever}`;
  // The history of the rows taken out follows them: filed again under the new expiry, or gone
  // with a row that expired.
  const statement = sql`WITH moved AS (
      DELETE FROM ${sql.raw(partition)} AS p WHERE ${condition} RETURNING ${sql.raw(TIER_COLUMNS)}, archived_at, expires_at
    ), ${citus ? sql`held AS (SELECT task_id FROM ${sql.raw(t.hold)} WHERE task_id = ANY(ARRAY(SELECT task_id FROM moved))), ` : sql``}filed AS (
      INSERT INTO ${sql.raw(t.archive)} (${sql.raw(TIER_COLUMNS)}, expires_at, archived_at)
      SELECT ${sql.raw(TIER_COLUMNS)}, ${movedExpiry}, archived_at FROM moved
      WHERE ${movedExpiry} > ${at}
      RETURNING task_id, expires_at
    ), unindexed AS (
      -- By the index (ANY over the moved ids), then the exact rows: a join could scan the whole index table.
      DELETE FROM ${sql.raw(archiveIds(t))} AS x WHERE x.task_id = ANY(ARRAY(SELECT task_id FROM moved))
        AND (x.task_id, x.expires_at) IN (SELECT task_id, expires_at FROM moved)
    ), reindexed AS (
      INSERT INTO ${sql.raw(archiveIds(t))} (task_id, expires_at) SELECT task_id, expires_at FROM filed
    ), ${historyFollows(t, historyPartition, "moved")}
    SELECT (SELECT count(*) FROM moved)::int AS moved, (SELECT count(*) FROM filed)::int AS filed`;
  const { sql: text, params } = dialect.sqlToQuery(statement);
  const row = (await query<{ moved: number; filed: number }>(text, params)).rows[0]!;
  return { refiled: row.filed, expired: row.moved - row.filed };
}

export interface ArchiveExpiry {
  /** Archived rows that went (dropped with their partitions). */
  rows: number;
  partitions: number;
  /** Rows moved out of a partition before it was dropped, or out of "forever" once released. */
  refiled: number;
  /** What waited too long for the archive's lock and is left to the next run (see withShortLocks). */
  deferred: string[];
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
  citus = false,
): Promise<ArchiveExpiry> {
  const ensured = await ensurePartitions(pool, t, now, new Date(now.getTime() + maxKeepMs));
  const result: ArchiveExpiry = { rows: 0, partitions: 0, refiled: 0, deferred: ensured.deferred };
  // A refile may file a row under a month that could not be created; the expiry waits for it.
  if (ensured.deferred.length > 0) return result;
  const all = await partitions(pool, t);
  if (all.some((p) => p.until === null)) {
    // Under the hold lock too (see below), so a row released and expired here cannot take a
    // hold placed meanwhile with it.
    const released = await withShortLocks(
      pool,
      async (query) => {
        await query(`LOCK TABLE ${t.hold} IN SHARE MODE`);
        return refile(
          query,
          t,
          f,
          ranked,
          t.besideTask("archive_forever"),
          t.besideTask("history_archive_forever"),
          "finite",
          now,
          undefined,
          citus,
        );
      },
      citus,
    );
    if (released) {
      result.refiled += released.done.refiled;
      result.rows += released.done.expired;
    } else result.deferred.push(`expiring released rows of ${t.config.task}_archive_forever`);
  }
  for (const partition of all) {
    const until = partition.until;
    if (until === null || until > now) continue;
    const suffix = partition.name.slice(t.config.task.length + 1);
    const qualified = t.besideTask(suffix);
    const history = t.besideTask(`history_${suffix}`);
    let refiled = 0;
    let rows = 0;
    const dropped = await withShortLocks(
      pool,
      async (query) => {
        refiled = 0;
        // The hold table is locked against new holds (SHARE: holds wait, reads go on) until the drop
        // commits, and held rows are refiled under that lock: a hold committed before is seen here
        // and its row kept; a hold that waited commits after the row is gone, like any hold of an
        // id whose row expired. Before, a hold committed between the refile and a DROP waiting for
        // its lock returned success for a row the DROP then took.
        await query(`LOCK TABLE ${t.hold} IN SHARE MODE`);
        refiled += (await refile(query, t, f, ranked, qualified, history, "held", now, undefined, citus)).refiled;
        // A rule kept forever may now match any row, so then every row is judged; else only rows
        // done within the longest finite retention can outlive now.
        const foreverRule = ranked.some((rule) => rule.keepMs === null);
        const since = foreverRule ? undefined : new Date(now.getTime() - maxKeepMs);
        refiled += (await refile(query, t, f, ranked, qualified, history, "done-since", now, since, citus)).refiled;
        rows = (await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified}`)).rows[0]!.n;
        // The entries of the rows that go leave the index of archived ids: the month's range of
        // expiry, exactly this partition's rows. The only part of a drop that grows with the
        // archive (one pass over the narrow index table; holds wait for it, reads and stores do not).
        await query(`DELETE FROM ${archiveIds(t)} WHERE expires_at >= $1::timestamp AND expires_at < $2::timestamp`, [
          toNaiveUtc(monthStart(until, -1)),
          toNaiveUtc(until),
        ]);
        // DROP takes an ACCESS EXCLUSIVE lock on the archive for the catalog change only: no row is
        // visited, so it is over in milliseconds whatever the partition holds (BENCHMARKS.md). The
        // month's history goes the same way.
        await query(`DROP TABLE ${qualified}`);
        await query(`DROP TABLE IF EXISTS ${history}`);
      },
      citus,
    );
    if (!dropped) {
      result.deferred.push(`dropping ${partition.name}`);
      continue;
    }
    result.refiled += refiled;
    result.rows += rows;
    result.partitions++;
  }
  return result;
}
