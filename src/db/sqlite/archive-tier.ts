/**
 * The archive tier on SQLite: one plain table beside the task table (no partitions), moves of
 * bounded batches in one IMMEDIATE transaction each, and expiry in row batches. The SQL is in
 * ./archive.ts.
 */
import { sql } from "drizzle-orm";
import { countArchivable, countArchiveExpired } from "../archive.js";
import type { ArchiveMoveParams, ArchiveRule } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { archiveBatch, archiveDdl, copyToArchive, expireBatch, refileForever, SQLITE_FOREVER } from "./archive.js";
import type { SqliteExecutor } from "./executor.js";
import { SQLITE_FRAGMENTS } from "./fragments.js";

export class SqliteArchiveTier {
  constructor(
    private readonly exec: SqliteExecutor,
    /** Checked on every call: one lookup in SQLite's in-memory schema, no I/O. */
    readonly present: () => boolean,
  ) {}

  archiveEnabled(): Promise<boolean> {
    return this.exec.run(() => this.present());
  }

  archiveCreate(): Promise<void> {
    return this.exec.run(() =>
      this.exec.immediate(() => {
        for (const statement of archiveDdl(this.exec.tables)) this.exec.db.exec(statement);
      }),
    );
  }

  taskArchive(p: ArchiveMoveParams): Promise<number> {
    const t = this.exec.tables;
    // Unlike PostgreSQL, SQLite has no DELETE … RETURNING inside a WITH, so the copy and the delete
    // are two statements in one IMMEDIATE transaction: a killed process commits both or neither.
    return this.exec.run(() =>
      this.exec.immediate(() => {
        const ids = (this.exec.cached(archiveBatch(t)).all(toNaiveUtc(p.before), p.limit) as { id: number }[]).map((r) => r.id);
        if (ids.length === 0) return 0;
        const json = JSON.stringify(ids);
        this.exec.changes(copyToArchive(t, SQLITE_FRAGMENTS, p.ranked, json, p.now));
        return this.exec.cached(`DELETE FROM ${t.task} WHERE id IN (SELECT value FROM json_each(?))`).run(json).changes;
      }),
    );
  }

  archiveExpire(p: { ranked: readonly ArchiveRule[]; now: Date; limit: number }) {
    const t = this.exec.tables;
    return this.exec.run(() => {
      const refiled = this.exec.changes(refileForever(t, SQLITE_FRAGMENTS, p.ranked, p.now));
      const rows = this.exec.changes(expireBatch(t, SQLITE_FRAGMENTS, p.ranked, p.now, p.limit));
      return { rows, partitions: 0, refiled, more: rows === p.limit };
    });
  }

  async archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    // What archiveExpire removes: rows past their stored expiry (or filed "forever") whose expiry
    // under today's rules and holds has passed too.
    const at = toNaiveUtc(p.now);
    const due = sql`(expires_at < ${at} OR expires_at = ${SQLITE_FOREVER})`;
    const query = countArchiveExpired(this.exec.tables, SQLITE_FRAGMENTS, p.ranked, due, (expiry) => sql`${expiry} < ${at}`);
    return Number((await this.exec.rows(query))[0]?.["n"] ?? 0);
  }

  async taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return Number((await this.exec.rows(countArchivable(this.exec.tables, SQLITE_FRAGMENTS, p)))[0]?.["n"] ?? 0);
  }
}
