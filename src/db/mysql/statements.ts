/**
 * MySQL statements, run as prepared statements through the executor. Lists are `IN (?, …)` with
 * one placeholder per value (texts per list length stay few: the executor's cache is small), and
 * bounded batches are single-table `DELETE … ORDER BY … LIMIT ?`, since MySQL refuses a LIMIT inside
 * `IN (subquery)` and a subquery on the table being deleted from.
 */
import { notHeldSql } from "../holds.js";
import { precedenceGuard } from "../precedence.js";
import { TASK_COLUMNS } from "../rows.js";
import type { Tables } from "../tables.js";

/** Ids per IN list: far below the 65,535 placeholders of a statement. */
export const LIST_SLICE = 8_192;

/**
 * Ids for an `IN (?, …)` list, padded (with the first id, which IN ignores twice) to a power of
 * two: a prepared statement per list length would leave hundreds of texts on the server, whose
 * prepared statements all sessions share (max_prepared_stmt_count); this way a few dozen at most.
 */
export function listSlices<T extends string | number>(ids: readonly T[]): T[][] {
  const slices: T[][] = [];
  for (let i = 0; i < ids.length; i += LIST_SLICE) {
    const slice = ids.slice(i, i + LIST_SLICE);
    let size = 1;
    while (size < slice.length) size *= 2;
    slices.push([...slice, ...Array.from({ length: size - slice.length }, () => slice[0]!)]);
  }
  return slices;
}

/** `?, ?, ?` for n values. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/**
 * How a new row gets its id: drawn from Celery's sequence in the statement itself, or left to an
 * AUTO_INCREMENT column (a table an older Celery made). Never left to a DEFAULT NEXTVAL(): MariaDB
 * 10.11.19 crashed (signal 11) on concurrent prepared INSERTs that drew the id from that default,
 * and not once with the NEXTVAL() written in the statement.
 */
export type IdSource = "sequence" | "auto_increment";

function newRow(sequence: string, ids: IdSource, values: number): string {
  return ids === "sequence" ? `(NEXTVAL(${sequence}), ${placeholders(values)})` : `(${placeholders(values)})`;
}

/**
 * The upsert for `rows` writes with the precedence guard, one statement. MySQL runs the
 * assignments of ON DUPLICATE KEY UPDATE left to right and each sees the ones before it, so every
 * assignment re-evaluates the guard against `status`, and `status` is assigned last: until then it
 * is the row's old status. `extended` and `replaceReady` are fixed per text (four texts).
 * `returning` (MariaDB's INSERT … RETURNING) hands back the row as it stands after the statement,
 * for pools whose affected-row count cannot tell a refused write from an insert (found rows).
 */
export function taskStoreSql(t: Tables, ids: IdSource, rows: number, extended: boolean, replaceReady: boolean, returning = false): string {
  const ok = precedenceGuard("status", "VALUES(status)", replaceReady ? "TRUE" : "FALSE");
  const set = (column: string) => `${column} = IF(${ok}, VALUES(${column}), ${column})`;
  const ext = (column: string) => (extended ? set(column) : undefined);
  const keep = (column: string) => `${column} = IF(${ok}, COALESCE(VALUES(${column}), ${column}), ${column})`;
  const assignments = [
    set("result"),
    set("date_done"),
    set("traceback"),
    ext("name"),
    ext("args"),
    ext("kwargs"),
    ext("worker"),
    ext("retries"),
    ext("queue"),
    keep("children"),
    keep("parent_id"),
    keep("group_id"),
    set("date_updated"),
    set("status"), // last: see above
  ].filter((a): a is string => a !== undefined);
  const row = newRow(t.taskSequence, ids, 15);
  return `INSERT INTO ${t.task} (${ids === "sequence" ? "id, " : ""}${TASK_COLUMNS}) VALUES ${Array.from({ length: rows }, () => row).join(", ")}
    ON DUPLICATE KEY UPDATE ${assignments.join(", ")}${returning ? " RETURNING status, date_updated" : ""}`;
}

export function buildStatements(t: Tables) {
  const notHeld = notHeldSql(t.hold, `${t.task}.task_id`);
  return {
    notHeld,
    taskGet: `SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = ?`,
    taskGetMany: (n: number) => `SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id IN (${placeholders(n)})`,
    taskExists: `SELECT 1 AS present FROM ${t.task} WHERE task_id = ?`,
    taskForget: (n: number) => `DELETE FROM ${t.task} WHERE task_id IN (${placeholders(n)})`,
    // Written by the history triggers (migrations/mysql), in order of change.
    taskHistory: `SELECT task_id, status, date, worker, retries, queue, result, traceback FROM ${t.history} WHERE task_id = ? ORDER BY id`,
    // What a status stream has not sent yet: the (task_id, id) index, per task, from the cursor on.
    taskHistoryAfter: (n: number) => `
      SELECT id, task_id, status, date, worker, retries, queue, result, traceback FROM ${t.history}
      WHERE task_id IN (${placeholders(n)}) AND id > ? ORDER BY id LIMIT ?`,
    taskHistoryLatestId: (n: number) => `SELECT COALESCE(MAX(id), 0) AS id FROM ${t.history} WHERE task_id IN (${placeholders(n)})`,
    // Finished before ?, limited to some states and never others (status lists are spliced as placeholders).
    taskDeleteExpired: (only: number, except: number) =>
      `DELETE FROM ${t.task} WHERE ${expired(only, except)} AND ${notHeld} ORDER BY date_done LIMIT ?`,
    taskCountExpired: (only: number, except: number) => `SELECT count(*) AS n FROM ${t.task} WHERE ${expired(only, except)} AND ${notHeld}`,
    taskDeleteStale: `DELETE FROM ${t.task} WHERE date_done IS NULL AND date_updated < ? AND ${notHeld} ORDER BY date_updated LIMIT ?`,
    taskCountStale: `SELECT count(*) AS n FROM ${t.task} WHERE date_done IS NULL AND date_updated < ? AND ${notHeld}`,
    taskStampUnaged: `UPDATE ${t.task} SET date_updated = ? WHERE date_done IS NULL AND date_updated IS NULL LIMIT ?`,
    // An existing hold keeps its time and reason: the no-op assignment leaves the row unchanged.
    taskHold: (n: number) =>
      `INSERT INTO ${t.hold} (task_id, held_at, reason) VALUES ${Array.from({ length: n }, () => "(?, ?, ?)").join(", ")}
      ON DUPLICATE KEY UPDATE task_id = task_id`,
    taskRelease: (n: number) => `DELETE FROM ${t.hold} WHERE task_id IN (${placeholders(n)})`,
    taskHolds: (n: number) => `SELECT task_id, held_at, reason FROM ${t.hold} WHERE task_id IN (${placeholders(n)})`,
    groupSave: (ids: IdSource) => `INSERT INTO ${t.group} (${ids === "sequence" ? "id, " : ""}taskset_id, result, date_done)
      VALUES ${newRow(t.groupSequence, ids, 3)}
      ON DUPLICATE KEY UPDATE result = VALUES(result), date_done = VALUES(date_done)`,
    groupGet: `SELECT taskset_id, result, date_done FROM ${t.group} WHERE taskset_id = ?`,
    groupDelete: `DELETE FROM ${t.group} WHERE taskset_id = ?`,
    groupDeleteExpired: `DELETE FROM ${t.group} WHERE date_done < ? ORDER BY date_done LIMIT ?`,
    groupCountExpired: `SELECT count(*) AS n FROM ${t.group} WHERE date_done < ?`,
  };
}

function expired(only: number, except: number): string {
  return [
    "date_done < ?",
    only > 0 ? `status IN (${placeholders(only)})` : "",
    except > 0 ? `(status IS NULL OR status NOT IN (${placeholders(except)}))` : "",
  ]
    .filter(Boolean)
    .join(" AND ");
}

export type MysqlStatements = ReturnType<typeof buildStatements>;
