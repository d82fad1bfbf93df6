/**
 * The web view's extra audit queries: finished tasks per time bucket, the counts
 * behind its tables, and the failure rows behind "failures grouped by exception". Cold paths like
 * ./audit.ts, written once for every dialect; bucket and prefix SQL come from the driver. The
 * rows are mapped in ./audit-reads.ts.
 */
import { sql, type SQL } from "drizzle-orm";
import { FAILURE } from "../states.js";
import { FAILURES, whereTasks, type AuditFragments } from "./audit.js";
import { READY_SQL } from "./state-sql.js";
import type { Tables } from "./tables.js";
import type { TaskQuery } from "./types.js";

/** Finished (ready) rows and failures per `seconds`-wide bucket of date_done, oldest first. */
export function countByTimeBucket(t: Tables, q: TaskQuery, fragments: AuditFragments, seconds: number): SQL {
  return sql`SELECT ${fragments.timeBucket(seconds)} AS bucket, count(*) AS n, ${FAILURES} AS failures
    FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} AND date_done IS NOT NULL AND status IN ${sql.raw(READY_SQL)}
    GROUP BY bucket ORDER BY bucket`;
}

/**
 * Counts per (status, name, worker) in one pass over the window: the overview's state, name and
 * worker tables are rolled up from it, where three GROUP BYs would read the window three times
 * (at 1M rows the 24 h window is ~143k rows, and each pass over it costs ~100 ms).
 */
export function countByStateNameWorker(t: Tables, q: TaskQuery, fragments: AuditFragments): SQL {
  return sql`SELECT status, name, worker, count(*) AS n FROM ${sql.raw(t.task)} WHERE ${whereTasks(q, t, fragments)} GROUP BY status, name, worker`;
}

/**
 * FAILURE rows of the window counted per distinct stored exception and task name: the same
 * exception stores the same bytes, so the database does the grouping in one aggregate and only
 * the distinct values (a handful, usually) are decoded above. Fetching and decoding every
 * failure instead took 1.5 s for the 24 h window at 1M rows (BENCHMARKS.md).
 */
export function countFailuresByValue(t: Tables, q: TaskQuery, fragments: AuditFragments, limit: number): SQL {
  return sql`SELECT result, name, count(*) AS n, min(date_done) AS first_seen, max(date_done) AS last_seen, max(task_id) AS sample
    FROM ${sql.raw(t.task)} WHERE ${whereTasks({ ...q, states: [FAILURE] }, t, fragments)} GROUP BY result, name ORDER BY n DESC LIMIT ${limit}`;
}

/** Escapes LIKE's wildcards so a typed prefix matches literally (ESCAPE '\'). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
