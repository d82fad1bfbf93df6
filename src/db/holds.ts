/**
 * The legal-hold predicate as SQL text, for every dialect's statements: a task is held while its
 * id is in the hold table (`<task table>_hold`, keyed by task_id). Two shapes of that one rule,
 * because the database must start from opposite ends: a per-row check probes the hold's primary
 * key once per row, and a filter for held rows only starts from the holds and probes the task_id
 * index once per hold (SQLite 3.53, listing held rows among 200k: 0.05 ms this way, 14 ms with
 * EXISTS, which scans every row; pg/archive.ts refiles held rows of a partition the same way).
 */

/**
 * Whether the row whose task id is `taskId` (the outer row's column, qualified) is held, checked
 * per row. The alias is one no caller uses, so an outer `h` is never shadowed.
 */
export function heldSql(hold: string, taskId: string): string {
  return `EXISTS (SELECT 1 FROM ${hold} AS tl_hold WHERE tl_hold.task_id = ${taskId})`;
}

/**
 * Excludes held rows: an anti-join, one probe per row. NOT IN would keep a row with no task_id
 * whenever any hold exists, and PostgreSQL cannot plan it as an anti-join.
 */
export function notHeldSql(hold: string, taskId: string): string {
  return `NOT ${heldSql(hold, taskId)}`;
}

/** Only held rows, as a filter that starts from the holds (see above); `taskId` need not be qualified. */
export function heldOnlySql(hold: string, taskId: string): string {
  return `${taskId} IN (SELECT task_id FROM ${hold})`;
}
