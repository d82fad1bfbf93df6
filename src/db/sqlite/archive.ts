/**
 * The archive tier on SQLite: one plain table, `<task table>_archive`, so every command
 * works the same as on PostgreSQL. SQLite has no partitions, so expiring the archive is bounded
 * DELETE batches on its expires_at index, like the hot table's.
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditFragments } from "../audit.js";
import { expiryOf, TIER_COLUMNS } from "../archive.js";
import type { ArchiveRule } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";

/** SQLite's "kept forever": sorts after every date_done text. */
export const SQLITE_FOREVER = "9999-12-31 23:59:59.999999";

export function archiveDdl(t: Tables): string[] {
  const name = (suffix: string) => `"${t.config.task}_${suffix}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t.archive} (
      id INTEGER NOT NULL, task_id VARCHAR(155), status VARCHAR(50), result BLOB, date_done DATETIME, traceback TEXT,
      name VARCHAR(155), args BLOB, kwargs BLOB, worker VARCHAR(155), retries INTEGER, queue VARCHAR(155),
      children BLOB, parent_id VARCHAR(155), group_id VARCHAR(155), date_updated DATETIME,
      expires_at DATETIME NOT NULL, archived_at DATETIME NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_task_id")} ON ${t.archive} (task_id)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_id")} ON ${t.archive} (id)`,
    `CREATE INDEX IF NOT EXISTS ${name("archive_expires_at")} ON ${t.archive} (expires_at)`,
    // History moves with its task: a row leaving the task table for the archive keeps its
    // history (the copy into the archive runs first, in the same transaction), and the history
    // goes when the archive row does (expiry, forget), unless the id is back in the task table.
    `DROP TRIGGER IF EXISTS ${name("tl_history_delete")}`,
    `CREATE TRIGGER ${name("tl_history_delete")} AFTER DELETE ON ${t.task} BEGIN
      DELETE FROM ${t.history} WHERE task_id = OLD.task_id AND NOT EXISTS (SELECT 1 FROM ${t.archive} WHERE task_id = OLD.task_id);
    END`,
    `CREATE TRIGGER IF NOT EXISTS ${name("tl_archive_history_delete")} AFTER DELETE ON ${t.archive} BEGIN
      DELETE FROM ${t.history} WHERE task_id = OLD.task_id
        AND NOT EXISTS (SELECT 1 FROM ${t.task} WHERE task_id = OLD.task_id)
        AND NOT EXISTS (SELECT 1 FROM ${t.archive} WHERE task_id = OLD.task_id);
    END`,
  ];
}

/** The batch to move: ids of finished rows done before `before`, oldest first. */
export function archiveBatch(t: Tables): string {
  return `SELECT id FROM ${t.task} WHERE date_done < ? ORDER BY date_done LIMIT ?`;
}

/** Copies the rows of a batch (ids as JSON) into the archive; the caller deletes them in the same transaction. */
export function copyToArchive(t: Tables, f: AuditFragments, ranked: readonly ArchiveRule[], idsJson: string, now: Date): SQL {
  const at = toNaiveUtc(now);
  return sql`INSERT INTO ${sql.raw(t.archive)} (${sql.raw(TIER_COLUMNS)}, expires_at, archived_at)
    SELECT ${sql.raw(TIER_COLUMNS)}, ${f.greatest(expiryOf(t, f, ranked, t.task), sql`${at}`)}, ${at}
    FROM ${sql.raw(t.task)} WHERE id IN (SELECT value FROM json_each(${idsJson}))`;
}

/**
 * One batch of expired archive rows: past their stored expiry and, under today's rules and holds,
 * still expired (a row a longer rule or a hold now keeps stays).
 */
export function expireBatch(t: Tables, f: AuditFragments, ranked: readonly ArchiveRule[], now: Date, limit: number): SQL {
  const at = toNaiveUtc(now);
  return sql`DELETE FROM ${sql.raw(t.archive)} WHERE id IN (
    SELECT id FROM ${sql.raw(t.archive)} WHERE expires_at < ${at} AND ${expiryOf(t, f, ranked, t.archive)} < ${at} LIMIT ${limit})`;
}

/** Rows filed "forever" that no hold or rule keeps forever any more get their expiry. */
export function refileForever(t: Tables, f: AuditFragments, ranked: readonly ArchiveRule[], now: Date): SQL {
  // Filed at its real expiry, even a past one: the expiry batch that follows then takes it.
  const expiry = expiryOf(t, f, ranked, t.archive);
  void now;
  return sql`UPDATE ${sql.raw(t.archive)} SET expires_at = ${expiry}
    WHERE expires_at = ${SQLITE_FOREVER} AND ${expiry} < ${SQLITE_FOREVER}`;
}
