/**
 * SQLite statements, prepared once per connection with better-sqlite3: drizzle's builder costs
 * 0.06x of raw better-sqlite3 inside a transaction here (research/toolchain.md §6). Lists are bound
 * as one JSON text and expanded with json_each, so each statement has a fixed shape.
 */
import { notHeldSql } from "../holds.js";
import { precedenceGuard } from "../precedence.js";
import { TASK_COLUMNS } from "../rows.js";
import type { Tables } from "../tables.js";
import { webhookStatements } from "./webhook-statements.js";

export function buildStatements(t: Tables) {
  // Legal holds: a held row is never expired, whatever the rule.
  const notHeld = notHeldSql(t.hold, `${t.task}.task_id`);
  // Finished before @before, limited to @only states and never @except ones (NULL: no limit).
  const expired = `date_done < @before
          AND (@only IS NULL OR status IN (SELECT value FROM json_each(@only)))
          AND (@except IS NULL OR status IS NULL OR status NOT IN (SELECT value FROM json_each(@except)))
          AND ${notHeld}`;
  const stale = `date_done IS NULL AND date_updated < @before AND ${notHeld}`;
  return {
    // Unlike PostgreSQL, SQLite's UPSERT keeps the id when it updates, so a plain upsert draws
    // no id needlessly; the precedence guard is the WHERE of the DO UPDATE. Parameters are
    // positional (bound from an array, in the order they appear: see writeParams), which binds
    // faster than named ones. After the 15 columns: six times "write the extended columns", then
    // "a ready state may replace a ready row".
    taskStore: `
      INSERT INTO ${t.task} (${TASK_COLUMNS})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (task_id) DO UPDATE SET
        status = excluded.status, result = excluded.result, date_done = excluded.date_done, traceback = excluded.traceback,
        name = CASE WHEN ? THEN excluded.name ELSE name END,
        args = CASE WHEN ? THEN excluded.args ELSE args END,
        kwargs = CASE WHEN ? THEN excluded.kwargs ELSE kwargs END,
        worker = CASE WHEN ? THEN excluded.worker ELSE worker END,
        retries = CASE WHEN ? THEN excluded.retries ELSE retries END,
        queue = CASE WHEN ? THEN excluded.queue ELSE queue END,
        children = COALESCE(excluded.children, children),
        parent_id = COALESCE(excluded.parent_id, parent_id),
        group_id = COALESCE(excluded.group_id, group_id),
        date_updated = excluded.date_updated
      WHERE ${precedenceGuard("status", "excluded.status", "?")}`,
    taskGet: `SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = ?`,
    taskGetMany: `SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id IN (SELECT value FROM json_each(?))`,
    taskExists: `SELECT 1 FROM ${t.task} WHERE task_id = ?`,
    taskForget: `DELETE FROM ${t.task} WHERE task_id IN (SELECT value FROM json_each(?))`,
    // Written by the history triggers (migrations/sqlite/0002_history.sql), in order of change.
    taskHistory: `SELECT task_id, status, date, worker, retries, queue, result, traceback FROM ${t.history} WHERE task_id = ? ORDER BY id`,
    // One bounded batch per statement (and so per write-lock hold), oldest first on the index.
    taskDeleteExpired: `
      DELETE FROM ${t.task} WHERE id IN (SELECT id FROM ${t.task} WHERE ${expired} ORDER BY date_done LIMIT @limit)`,
    // The dry run's twins: the deletes' own predicates, counted.
    taskCountExpired: `SELECT count(*) AS n FROM ${t.task} WHERE ${expired}`,
    taskDeleteStale: `DELETE FROM ${t.task} WHERE id IN (SELECT id FROM ${t.task} WHERE ${stale} ORDER BY date_updated LIMIT @limit)`,
    taskCountStale: `SELECT count(*) AS n FROM ${t.task} WHERE ${stale}`,
    taskStampUnaged: `
      UPDATE ${t.task} SET date_updated = @now WHERE id IN (
        SELECT id FROM ${t.task} WHERE date_done IS NULL AND date_updated IS NULL LIMIT @limit)`,
    taskHold: `
      INSERT INTO ${t.hold} (task_id, held_at, reason) SELECT DISTINCT value, @now, @reason FROM json_each(@ids) WHERE true
      ON CONFLICT (task_id) DO NOTHING`,
    taskRelease: `DELETE FROM ${t.hold} WHERE task_id IN (SELECT value FROM json_each(?))`,
    taskHolds: `SELECT task_id, held_at, reason FROM ${t.hold} WHERE task_id IN (SELECT value FROM json_each(?))`,
    groupSave: `
      INSERT INTO ${t.group} (taskset_id, result, date_done) VALUES (?, ?, ?)
      ON CONFLICT (taskset_id) DO UPDATE SET result = excluded.result, date_done = excluded.date_done`,
    groupGet: `SELECT taskset_id, result, date_done FROM ${t.group} WHERE taskset_id = ?`,
    groupDelete: `DELETE FROM ${t.group} WHERE taskset_id = ?`,
    groupDeleteExpired: `
      DELETE FROM ${t.group} WHERE id IN (
        SELECT id FROM ${t.group} WHERE date_done < @before ORDER BY date_done LIMIT @limit)`,
    groupCountExpired: `SELECT count(*) AS n FROM ${t.group} WHERE date_done < @before`,
    lockTake: `
      INSERT INTO taskledger_lock (name, holder, expires_at) VALUES (@name, @holder, @expires_at)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE taskledger_lock.expires_at < @now`,
    lockGet: `SELECT holder, expires_at FROM taskledger_lock WHERE name = @name`,
    // Takes over a dead holder's lease only if it is still that holder's: of two runs that both
    // found it dead, one wins.
    lockTakeOver: `UPDATE taskledger_lock SET holder = @holder, expires_at = @expires_at WHERE name = @name AND holder = @previous`,
    lockRenew: `UPDATE taskledger_lock SET expires_at = @expires_at WHERE name = @name AND holder = @holder`,
    lockRelease: `DELETE FROM taskledger_lock WHERE name = @name AND holder = @holder`,
    // What a status stream has not sent yet: the (task_id, id) index, per task, from the cursor on.
    taskHistoryAfter: `
      SELECT id, task_id, status, date, worker, retries, queue, result, traceback FROM ${t.history}
      WHERE task_id IN (SELECT value FROM json_each(@ids)) AND id > @after ORDER BY id LIMIT @limit`,
    taskHistoryLatestId: `SELECT COALESCE(max(id), 0) FROM ${t.history} WHERE task_id IN (SELECT value FROM json_each(?))`,
    ...webhookStatements(t),
  };
}

export type SqliteStatementTexts = ReturnType<typeof buildStatements>;
