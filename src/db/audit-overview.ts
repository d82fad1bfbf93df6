/**
 * The web view's extra audit queries (#14): finished tasks per time bucket, the failure rows
 * behind "failures grouped by exception", and the mapping of listed rows. Cold paths like
 * ./audit.ts, written once for both dialects; bucket and prefix SQL come from the driver.
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditRow, TaskRow } from "./driver.js";
import { whereTasks, type AuditFragments, type TaskQuery } from "./audit.js";
import { toTaskRow, type RawTaskRow } from "./rows.js";
import type { Tables } from "./tables.js";

/** Finished (ready) rows and failures per `seconds`-wide bucket of date_done, oldest first. */
export function countByTimeBucket(t: Tables, q: TaskQuery, fragments: AuditFragments, seconds: number): SQL {
  return sql`SELECT ${fragments.timeBucket(seconds)} AS bucket, count(*) AS n, sum(CASE WHEN status = 'FAILURE' THEN 1 ELSE 0 END) AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, fragments)} AND date_done IS NOT NULL AND status IN ('SUCCESS', 'FAILURE', 'REVOKED')
    GROUP BY bucket ORDER BY bucket`;
}

/**
 * Counts per (status, name, worker) in one pass over the window: the overview's state, name and
 * worker tables are rolled up from it, where three GROUP BYs would read the window three times
 * (#14: at 1M rows the 24 h window is ~143k rows, and each pass over it costs ~100 ms).
 */
export function countByStateNameWorker(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT status, name, worker, count(*) AS n FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, fragments)} GROUP BY status, name, worker`;
}

/** Rows of countByStateNameWorker as typed values. */
export function toStateNameWorkerCounts(rows: readonly AuditRow[]): { status: string | null; name: string | null; worker: string | null; count: number }[] {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return rows.map((r) => ({ status: text(r["status"]), name: text(r["name"]), worker: text(r["worker"]), count: Number(r["n"]) }));
}

/** The newest FAILURE rows matching `q` (at most `limit`), for grouping by exception type and message. */
export function listFailures(t: Tables, q: TaskQuery, fragments: AuditFragments, limit: number): SQL {
  // No traceback: grouping needs type and message, and tracebacks are most of a failure's bytes.
  return sql`SELECT id, task_id, status, result, date_done, NULL AS traceback, name, NULL AS args, NULL AS kwargs, worker, retries, queue,
    NULL AS children, parent_id, group_id, date_updated
    FROM ${sql.raw(t.task)} WHERE ${whereTasks({ ...q, states: ["FAILURE"] }, fragments)} ORDER BY id DESC LIMIT ${limit}`;
}

/** A listed row: its database id (the keyset cursor) and the row. */
export interface ListedRow {
  id: number;
  row: TaskRow;
}

/** Rows of listTasks/listFailures, mapped once here so nothing above src/db casts raw rows. */
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
