/**
 * The archive tier on PostgreSQL: whether it exists (checked at run time, cached briefly), its
 * creation, the partitions moves need, moves, and expiry by dropping whole partitions. The SQL
 * and DDL are in ./archive.ts.
 */
import { sql } from "drizzle-orm";
import { MigrationError } from "../../errors.js";
import { countArchivable, countArchiveExpired } from "../archive.js";
import type { ArchiveMoveParams, ArchiveRule } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { PgDialect } from "drizzle-orm/pg-core";
import {
  ARCHIVE_MOVE_SETTING,
  archiveDdl,
  archiveGuardDdl,
  archiveGuardFunctions,
  archiveIds,
  ensurePartitions,
  expireArchive,
  moveToArchive,
} from "./archive.js";
import type { PgExecutor } from "./executor.js";
import { PG_FRAGMENTS } from "./fragments.js";
import { MIGRATE_LOCK_KEY } from "./migrate.js";

/** How long "no archive here" is believed before it is checked again. */
const ARCHIVE_RECHECK_MS = 30_000;

export class PgArchiveTier {
  private known: { present: boolean; at: number } | undefined;

  constructor(
    private readonly exec: PgExecutor,
    /** Whether the tables are distributed by Citus (pg/distribute.ts): moves and expiry take their Citus form. */
    private readonly citus: () => Promise<boolean> = async () => false,
  ) {}

  /** Forgets what was known, so the next call looks again (a store found an archive created meanwhile). */
  forget(): void {
    this.known = undefined;
  }

  async archiveEnabled(): Promise<boolean> {
    const known = this.known;
    if (known && (known.present || Date.now() - known.at < ARCHIVE_RECHECK_MS)) return known.present;
    const t = this.exec.tables;
    const [, supersede] = archiveGuardFunctions(t);
    const result = await this.exec.query<{ present: boolean; guarded: boolean }>({
      name: "tl_archive_present",
      text: "SELECT to_regclass($1) IS NOT NULL AS present, to_regprocedure($2) IS NOT NULL AND to_regclass($3) IS NOT NULL AS guarded",
      values: [t.archive, `${supersede}(varchar[])`, archiveIds(t)],
    });
    const { present, guarded } = result.rows[0]!;
    // An archive made by an older taskledger lacks what every store needs now (archiveGuardDdl):
    // made here once, under the migration lock (filling the index of archived ids reads the
    // archive once; `migrate --archive` does the same ahead of time).
    if (present && !guarded)
      await this.underMigrateLock(archiveGuardDdl(t)).catch((error: unknown) => {
        throw new MigrationError(
          `the archive ${t.archive} predates the index of archived ids that reads and stores now need, and this connection could not add it (${(error as Error).message}); run \`taskledger migrate --archive\` once as a role that owns the archive`,
          { cause: error },
        );
      });
    this.known = { present, at: Date.now() };
    return present;
  }

  async archiveCreate(now: Date): Promise<void> {
    await this.underMigrateLock(archiveDdl(this.exec.tables));
    await ensurePartitions(this.exec, this.exec.tables, now, new Date(now.getTime() + 31 * 86_400_000), true);
    this.known = { present: true, at: Date.now() };
  }

  async archivePrepare(p: { now: Date; maxKeepMs: number }): Promise<string[]> {
    return (await ensurePartitions(this.exec, this.exec.tables, p.now, new Date(p.now.getTime() + p.maxKeepMs))).deferred;
  }

  async taskArchive(p: ArchiveMoveParams): Promise<number> {
    if (!(await this.citus())) return Number((await this.exec.rows(moveToArchive(this.exec.tables, PG_FRAGMENTS, p)))[0]?.["moved"] ?? 0);
    // One transaction whose mark (the delete trigger then leaves the history to the move) reaches
    // every worker it touches: Citus sends a transaction's SET LOCAL along when told to.
    const { sql: text, params } = new PgDialect().sqlToQuery(moveToArchive(this.exec.tables, PG_FRAGMENTS, p, true));
    const session = await this.exec.dedicated();
    try {
      await session.query("BEGIN");
      await session.query("SET LOCAL citus.propagate_set_commands = 'local'");
      await session.query(`SET LOCAL ${ARCHIVE_MOVE_SETTING} = 'on'`);
      const moved = Number((await session.query<{ moved: number }>(text, params)).rows[0]?.moved ?? 0);
      await session.query("COMMIT");
      return moved;
    } catch (error) {
      await session.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await session.end().catch(() => undefined);
    }
  }

  async archiveExpire(p: {
    ranked: readonly ArchiveRule[];
    now: Date;
    limit: number;
    maxKeepMs: number;
  }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean; deferred: string[] }> {
    // Whole partitions, so `limit` does not apply: a drop costs the same whatever it holds.
    return {
      ...(await expireArchive(this.exec, this.exec.tables, PG_FRAGMENTS, p.ranked, p.now, p.maxKeepMs, await this.citus())),
      more: false,
    };
  }

  async archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    // What expireArchive removes: rows of partitions whose month has passed and of "forever" whose
    // expiry under today's rules and holds is not later than now (the others are filed again).
    const monthStart = toNaiveUtc(new Date(Date.UTC(p.now.getUTCFullYear(), p.now.getUTCMonth(), 1)));
    const due = sql`(expires_at < ${monthStart} OR expires_at = 'infinity'::timestamp)`;
    const query = countArchiveExpired(this.exec.tables, PG_FRAGMENTS, p.ranked, due, (expiry) => sql`${expiry} <= ${toNaiveUtc(p.now)}`);
    return Number((await this.exec.rows(query))[0]?.["n"] ?? 0);
  }

  async taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return Number((await this.exec.rows(countArchivable(this.exec.tables, PG_FRAGMENTS, p)))[0]?.["n"] ?? 0);
  }

  /** Runs DDL under the migration lock, so two processes never race on it. */
  private async underMigrateLock(statements: readonly string[]): Promise<void> {
    const session = await this.exec.dedicated();
    try {
      await session.query("SELECT pg_advisory_lock(hashtext($1))", [MIGRATE_LOCK_KEY]);
      for (const statement of statements) await session.query(statement);
    } finally {
      await session.end().catch(() => undefined);
    }
  }
}
