/**
 * The web view's extra audit queries (#14): finished tasks per time bucket, the failure rows
 * behind "failures grouped by exception", and the mapping of listed rows. Cold paths like
 * ./audit.ts, written once for both dialects; bucket and prefix SQL come from the driver.
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditRow, TaskRow } from "./driver.js";
import { whereTasks, type AuditFragments, type TaskQuery } from "./audit.js";
import { fromNaiveUtc } from "./naive-utc.js";
import { toTaskRow, type RawTaskRow } from "./rows.js";
import type { Tables } from "./tables.js";

/** Finished (ready) rows and failures per `seconds`-wide bucket of date_done, oldest first. */
export function countByTimeBucket(t: Tables, q: TaskQuery, fragments: AuditFragments, seconds: number): SQL {
  return sql`SELECT ${fragments.timeBucket(seconds)} AS bucket, count(*) AS n, sum(CASE WHEN status = 'FAILURE' THEN 1 ELSE 0 END) AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} AND date_done IS NOT NULL AND status IN ('SUCCESS', 'FAILURE', 'REVOKED')
    GROUP BY bucket ORDER BY bucket`;
}

/**
 * Counts per (status, name, worker) in one pass over the window: the overview's state, name and
 * worker tables are rolled up from it, where three GROUP BYs would read the window three times
 * (#14: at 1M rows the 24 h window is ~143k rows, and each pass over it costs ~100 ms).
 */
export function countByStateNameWorker(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT status, name, worker, count(*) AS n FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} GROUP BY status, name, worker`;
}

/** Rows of countByStateNameWorker as typed values. */
export function toStateNameWorkerCounts(
  rows: readonly AuditRow[],
): { status: string | null; name: string | null; worker: string | null; count: number }[] {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return rows.map((r) => ({ status: text(r["status"]), name: text(r["name"]), worker: text(r["worker"]), count: Number(r["n"]) }));
}

/**
 * FAILURE rows of the window counted per distinct stored exception and task name (#14): the same
 * exception stores the same bytes, so the database does the grouping in one aggregate and only
 * the distinct values (a handful, usually) are decoded above. Fetching and decoding every
 * failure instead took 1.5 s for the 24 h window at 1M rows (BENCHMARKS.md).
 */
export function countFailuresByValue(t: Tables, q: TaskQuery, fragments: AuditFragments, limit: number): SQL {
  return sql`SELECT result, name, count(*) AS n, min(date_done) AS first_seen, max(date_done) AS last_seen, max(task_id) AS sample
    FROM ${sql.raw(t.task)} WHERE ${whereTasks({ ...q, states: ["FAILURE"] }, t, fragments)} GROUP BY result, name ORDER BY n DESC LIMIT ${limit}`;
}

/** One row of countFailuresByValue: a sample task row carrying the shared value, and the counts. */
export interface FailureValueCount {
  row: TaskRow;
  count: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
}

export function toFailureValueCounts(rows: readonly AuditRow[]): FailureValueCount[] {
  const time = (v: unknown) => (v instanceof Date ? v : fromNaiveUtc(v === null || v === undefined ? null : String(v)));
  return rows.map((r) => {
    const name = r["name"] === null || r["name"] === undefined ? null : String(r["name"]);
    const lastSeen = time(r["last_seen"]);
    return {
      row: {
        taskId: String(r["sample"]),
        status: "FAILURE",
        result: (r["result"] as Buffer | null) ?? null,
        traceback: null,
        dateDone: lastSeen,
        name,
        args: null,
        kwargs: null,
        worker: null,
        retries: null,
        queue: null,
        children: null,
        parentId: null,
        groupId: null,
        dateUpdated: null,
      },
      count: Number(r["n"]),
      firstSeen: time(r["first_seen"]),
      lastSeen,
    };
  });
}

/** A listed row: its database id (the keyset cursor) and the row. */
export interface ListedRow {
  id: number;
  row: TaskRow;
}

/** Rows of listTasks, mapped once here so nothing above src/db casts raw rows. */
export function toListedRows(rows: readonly AuditRow[]): ListedRow[] {
  return rows.map((raw) => ({ id: Number(raw["id"]), row: toTaskRow(raw as unknown as RawTaskRow) }));
}

/** Bucket rows as numbers: [bucket start in epoch seconds, finished, failures]. */
export function toBuckets(rows: readonly AuditRow[]): { start: number; count: number; failures: number }[] {
  return rows.map((r) => ({ start: Number(r["bucket"]), count: Number(r["n"]), failures: Number(r["failures"] ?? 0) }));
}

/** Escapes LIKE's wildcards so a typed prefix matches literally (ESCAPE '\'). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
