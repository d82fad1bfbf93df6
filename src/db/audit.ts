/**
 * The auditing queries behind the CLI and the web view (list, count, stats, export): cold paths,
 * so they are built with drizzle's `sql` template, written once for both dialects, and rendered
 * by each driver's drizzle dialect (placeholders differ: $1 vs ?). Where SQL itself differs
 * (hour buckets), the driver supplies the fragment. Used only by the drivers (./audit-reads.ts);
 * nothing above src/db sees these builders (#16 item 1).
 */
import { sql, type SQL } from "drizzle-orm";
import { toNaiveUtc } from "./naive-utc.js";
import { TIER_COLUMNS } from "./rows.js";
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

export function whereTasks(q: TaskQuery, t: Tables, fragments: AuditFragments): SQL {
  const parts: SQL[] = [sql`1 = 1`];
  if (q.held) parts.push(sql`task_id IN (SELECT task_id FROM ${sql.raw(t.hold)})`);
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

/** One page of rows in id order (creation order), after `afterId` when paging. */
export function listTasks(
  t: Tables,
  q: TaskQuery,
  page: { limit: number; afterId?: number | undefined; order: ListOrder },
  fragments: AuditFragments,
): SQL {
  const newest = page.order === "newest";
  const cursor = page.afterId === undefined ? sql`` : newest ? sql` AND id < ${page.afterId}` : sql` AND id > ${page.afterId}`;
  return sql`SELECT ${COLUMNS} FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)}${cursor} ORDER BY id ${sql.raw(newest ? "DESC" : "ASC")} LIMIT ${page.limit}`;
}

export function countTasks(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT count(*) AS n FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)}`;
}

export function countByColumn(
  t: Tables,
  q: TaskQuery,
  column: "status" | "name" | "worker" | "queue",
  limit: number,
  fragments: AuditFragments,
): SQL {
  const col = sql.raw(column);
  return sql`SELECT ${col} AS key, count(*) AS n, sum(CASE WHEN status = 'FAILURE' THEN 1 ELSE 0 END) AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} GROUP BY ${col} ORDER BY n DESC, key LIMIT ${limit}`;
}

export function countByHour(t: Tables, q: TaskQuery, fragments: AuditFragments, limit: number): SQL {
  return sql`SELECT ${fragments.hourBucket} AS key, count(*) AS n, sum(CASE WHEN status = 'FAILURE' THEN 1 ELSE 0 END) AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} AND date_done IS NOT NULL GROUP BY key ORDER BY n DESC, key LIMIT ${limit}`;
}

/**
 * Per task in the window (#11): its name, when it was sent (first PENDING event), first started
 * and finished (last ready event), from the history table. Queue and run times are taken from
 * these in src/backend/auditor.ts, since SQLite has no percentile functions.
 */
export function taskTimings(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT w.name AS name,
      min(CASE WHEN h.status = 'PENDING' THEN h.date END) AS sent,
      min(CASE WHEN h.status = 'STARTED' THEN h.date END) AS started,
      max(CASE WHEN h.status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN h.date END) AS done
    FROM (SELECT task_id, name FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)}) AS w
    JOIN ${sql.raw(t.history)} AS h ON h.task_id = w.task_id
    GROUP BY w.task_id, w.name`;
}
