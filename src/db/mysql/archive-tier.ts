/**
 * The archive tier on MySQL: whether it exists (checked at run time, cached briefly), its
 * creation under the migration lock, the partitions moves need, moves in a transaction of their
 * own, and expiry by dropping whole partitions. The SQL and DDL are in ./archive.ts.
 */
import { sql } from "drizzle-orm";
import { countArchivable, countArchiveExpired } from "../archive.js";
import type { AuditRow } from "../audit-reads.js";
import type { ArchiveMoveParams, ArchiveRule } from "../driver.js";
import type { MysqlPoolLike } from "../external.js";
import { toNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";
import { archiveDdl, ensurePartitions, expire, moveBatch } from "./archive.js";
import type { MysqlExecutor } from "./executor.js";
import { MYSQL_FRAGMENTS } from "./fragments.js";
import { lockName, takeNamedLock } from "./lock.js";

/**
 * How long "no archive here" is believed before it is checked again. Short: a process that has
 * not noticed an archive another process created stores without the guard across tiers until it does.
 */
const ARCHIVE_RECHECK_MS = 5_000;

export class MysqlArchiveTier {
  constructor(
    private readonly run: MysqlExecutor,
    private readonly pool: MysqlPoolLike,
    private readonly tables: Tables,
    /** Runs `body` in a transaction on a connection of its own (moves lock their rows). */
    private readonly inOwnTransaction: <T>(body: (run: MysqlExecutor) => Promise<T>) => Promise<T>,
  ) {}

  private known: { present: boolean; at: number } | undefined;

  async archiveEnabled(): Promise<boolean> {
    const known = this.known;
    if (known && (known.present || Date.now() - known.at < ARCHIVE_RECHECK_MS)) return known.present;
    const [row] = await this.run.execute<{ n: number }>(
      "SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
      [this.tables.config.taskSchema, `${this.tables.config.task}_archive`],
    );
    const present = Number(row?.n) > 0;
    this.known = { present, at: Date.now() };
    return present;
  }

  /** Runs `body` on a connection holding the migration lock, so two processes never race on DDL. */
  private async underMigrateLock<T>(body: (run: MysqlExecutor) => Promise<T>): Promise<T> {
    const held = await takeNamedLock(this.pool, await lockName(this.pool, this.tables, "migrate"), true);
    try {
      return await body(this.run.on(held!.connection));
    } finally {
      await held!.lock.release();
    }
  }

  async archiveCreate(now: Date): Promise<void> {
    await this.underMigrateLock(async (run) => {
      const [id] = await run.query<{ charset: string | null; collation: string | null }>(
        `SELECT CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME = 'task_id'`,
        [this.tables.config.taskSchema, this.tables.config.task],
      );
      // Names from the catalog, spliced into DDL: only plain ones.
      const plain = (name: string | null | undefined) => (name && /^\w+$/.test(name) ? name : undefined);
      const charset = plain(id?.charset) ?? "utf8mb4";
      const collation = plain(id?.collation) ?? "utf8mb4_bin";
      for (const statement of archiveDdl(this.tables, `varchar(155) CHARACTER SET ${charset} COLLATE ${collation}`, now))
        await run.query(statement);
      await ensurePartitions(run, this.tables, now, new Date(now.getTime() + 31 * 86_400_000), true);
    });
    this.known = { present: true, at: Date.now() };
  }

  archivePrepare(p: { now: Date; maxKeepMs: number }): Promise<string[]> {
    return this.underMigrateLock((run) => ensurePartitions(run, this.tables, p.now, new Date(p.now.getTime() + p.maxKeepMs)));
  }

  taskArchive(p: ArchiveMoveParams): Promise<number> {
    return this.inOwnTransaction((run) => moveBatch(run, this.tables, MYSQL_FRAGMENTS, p, (q) => this.run.render(q)));
  }

  /** Whole partitions for months that have passed, then bounded row batches (see ./archive.ts). */
  archiveExpire(p: {
    ranked: readonly ArchiveRule[];
    now: Date;
    limit: number;
  }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean; deferred: string[] }> {
    return this.underMigrateLock((run) => expire(run, this.tables, MYSQL_FRAGMENTS, p, (q) => this.run.render(q)));
  }

  async taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return Number((await this.run.rows<AuditRow>(countArchivable(this.tables, MYSQL_FRAGMENTS, p)))[0]?.["n"] ?? 0);
  }

  async archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    // What archiveExpire removes: rows past their stored expiry (or filed forever) whose expiry
    // under today's rules and holds has passed too.
    const at = toNaiveUtc(p.now);
    const due = sql`(expires_at < ${at} OR expires_at = ${MYSQL_FRAGMENTS.forever})`;
    const query = countArchiveExpired(this.tables, MYSQL_FRAGMENTS, p.ranked, due, (expiry) => sql`${expiry} < ${at}`);
    return Number((await this.run.rows<AuditRow>(query))[0]?.["n"] ?? 0);
  }
}
