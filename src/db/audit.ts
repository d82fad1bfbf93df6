/**
 * The auditing queries behind the CLI and the web view (list, count, stats, export): cold paths,
 * so they are built with drizzle's `sql` template, written once for every dialect, and rendered
 * by each driver's drizzle dialect (placeholders differ: $1 vs ?). Where SQL itself differs
 * (hour buckets), the driver supplies the fragment. Used only by the drivers (./audit-reads.ts);
 * nothing above src/db sees these builders.
 */
import { sql, type SQL } from "drizzle-orm";
import { FAILURE, PENDING, STARTED } from "../states.js";
import { heldOnlySql } from "./holds.js";
import { toNaiveUtc } from "./naive-utc.js";
import { TIER_COLUMNS } from "./rows.js";
import { READY_SQL, stateSql } from "./state-sql.js";
import type { Tables } from "./tables.js";
import type { ListOrder, TaskQuery } from "./types.js";

export type { ListOrder, TaskQuery };

export interface AuditFragments {
  /** The hour a row's time falls in, as text 'YYYY-MM-DD HH'. */
  hourBucket: SQL;
  /** Start (epoch seconds) of the `seconds`-wide bucket a row's date_done falls in. */
  timeBucket(seconds: number): SQL;
  /** Rows whose task_id starts with `prefix`, in a form the dialect answers from an index. */
  idPrefix(prefix: string): SQL;
  /** Whether `column` matches a retention glob (`*`, `?`; everything else literal, case-sensitive). */
  glob(column: SQL, glob: string): SQL;
  /** A timestamp column plus a number of milliseconds, as the column's own type. */
  plusMs(column: SQL, ms: number): SQL;
  /** The timestamp that sorts after every other: the archive's "kept forever" expiry. */
  forever: SQL;
  /** The later of two timestamps. */
  greatest(a: SQL, b: SQL): SQL;
}

const COLUMNS = sql.raw(TIER_COLUMNS);

/** The FAILURE rows among those counted, as an aggregate beside count(*). */
export const FAILURES = sql.raw(`sum(CASE WHEN status = ${stateSql(FAILURE)} THEN 1 ELSE 0 END)`);

export function whereTasks(q: TaskQuery, t: Tables, fragments: AuditFragments): SQL {
  const parts: SQL[] = [sql`1 = 1`];
  if (q.held) parts.push(sql.raw(heldOnlySql(t.hold, "task_id")));
  if (q.states?.length) parts.push(sql`status IN ${[...q.states]}`);
  if (q.names?.length) parts.push(sql`name IN ${[...q.names]}`);
  if (q.workers?.length) parts.push(sql`worker IN ${[...q.workers]}`);
  if (q.queues?.length) parts.push(sql`queue IN ${[...q.queues]}`);
  if (q.groups?.length) parts.push(sql`group_id IN ${[...q.groups]}`);
  if (q.idPrefix) parts.push(fragments.idPrefix(q.idPrefix));
  // Two index-friendly branches instead of COALESCE: date_done for ready rows, the partial
  // date_updated index for unready ones.
  if (q.since) {
    const at = toNaiveUtc(q.since);
    parts.push(sql`(date_done >= ${at} OR (date_done IS NULL AND date_updated >= ${at}))`);
  }
  if (q.until) {
    const at = toNaiveUtc(q.until);
    parts.push(sql`(date_done < ${at} OR (date_done IS NULL AND date_updated < ${at}))`);
  }
  return sql.join(parts, sql` AND `);
}

/**
 * Where a page starts: after the row with this cursor (ListedRow.cursor). In id order the cursor
 * is the id; in time order it is the row's time as the database holds it and its id.
 */
export type PageCursor = { kind: "id"; id: number } | { kind: "time"; at: string; id: number };

/**
 * Whether a page is listed by time rather than by id: newest first with an `until`.
 * Ids grow with time, so `until` alone matches only the oldest ids, and a walk down the id index
 * passed every newer row first (1.0 s for a page at 1M rows); the time indexes start right there.
 */
export function listsByTime(q: TaskQuery, order: ListOrder): boolean {
  return order === "newest" && q.until !== undefined;
}

/** One page of rows, newest or oldest first by id (creation order), or newest first by time (listsByTime). */
export function listTasks(
  t: Tables,
  q: TaskQuery,
  page: { limit: number; after?: PageCursor | undefined; order: ListOrder },
  fragments: AuditFragments,
): SQL {
  if (listsByTime(q, page.order)) {
    // Two index-ordered arms, ready rows by date_done and unready ones by date_updated (the two
    // times whereTasks filters on), each bounded on its own column so the bound is an index
    // condition (whereTasks' OR of both was a filter: 200 ms at 1M rows), cut at the page size,
    // then merged. `at` is the cursor.
    const after = page.after?.kind === "time" ? page.after : undefined;
    const others = whereTasks({ ...q, since: undefined, until: undefined }, t, fragments);
    const arm = (column: "date_done" | "date_updated", ready: SQL) => {
      const col = sql.raw(column);
      const bounds = [
        q.until ? sql` AND ${col} < ${toNaiveUtc(q.until)}` : sql``,
        q.since ? sql` AND ${col} >= ${toNaiveUtc(q.since)}` : sql``,
        after ? sql` AND (${col} < ${after.at} OR (${col} = ${after.at} AND id < ${after.id}))` : sql``,
      ];
      return sql`SELECT * FROM (SELECT ${COLUMNS}, ${col} AS at FROM ${sql.raw(t.task)} WHERE ${others} AND ${ready}${sql.join(bounds, sql``)}
        ORDER BY ${col} DESC, id DESC LIMIT ${page.limit}) AS ${sql.raw(`${column}_arm`)}`;
    };
    return sql`SELECT * FROM (${arm("date_done", sql`date_done IS NOT NULL`)} UNION ALL ${arm("date_updated", sql`date_done IS NULL AND date_updated IS NOT NULL`)}) AS merged
      ORDER BY at DESC, id DESC LIMIT ${page.limit}`;
  }
  const where = whereTasks(q, t, fragments);
  const newest = page.order === "newest";
  const afterId = page.after?.kind === "id" ? page.after.id : undefined;
  const cursor = afterId === undefined ? sql`` : newest ? sql` AND id < ${afterId}` : sql` AND id > ${afterId}`;
  return sql`SELECT ${COLUMNS} FROM ${sql.raw(t.task)} WHERE ${where}${cursor} ORDER BY id ${sql.raw(newest ? "DESC" : "ASC")} LIMIT ${page.limit}`;
}

export function countTasks(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT count(*) AS n FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)}`;
}

// The key column is named group_key: KEY is a reserved word in MySQL.
export function countByColumn(
  t: Tables,
  q: TaskQuery,
  column: "status" | "name" | "worker" | "queue",
  limit: number,
  fragments: AuditFragments,
): SQL {
  const col = sql.raw(column);
  return sql`SELECT ${col} AS group_key, count(*) AS n, ${FAILURES} AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} GROUP BY ${col} ORDER BY n DESC, group_key LIMIT ${limit}`;
}

export function countByHour(t: Tables, q: TaskQuery, fragments: AuditFragments, limit: number): SQL {
  return sql`SELECT ${fragments.hourBucket} AS group_key, count(*) AS n, ${FAILURES} AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} AND date_done IS NOT NULL GROUP BY group_key ORDER BY n DESC, group_key LIMIT ${limit}`;
}

/**
 * Per task in the window: its name, when it was sent (first PENDING event), first started
 * and finished (last ready event), from the history table. Queue and run times are taken from
 * these in src/backend/auditor.ts, since SQLite has no percentile functions.
 */
export function taskTimings(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT w.name AS name,
      min(CASE WHEN h.status = ${sql.raw(stateSql(PENDING))} THEN h.date END) AS sent,
      min(CASE WHEN h.status = ${sql.raw(stateSql(STARTED))} THEN h.date END) AS started,
      max(CASE WHEN h.status IN ${sql.raw(READY_SQL)} THEN h.date END) AS done
    FROM (SELECT task_id, name FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)}) AS w
    JOIN ${sql.raw(t.history)} AS h ON h.task_id = w.task_id
    GROUP BY w.task_id, w.name`;
}
