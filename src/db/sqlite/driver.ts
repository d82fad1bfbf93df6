/**
 * The SQLite driver: one better-sqlite3 connection per backend in WAL mode, so readers never
 * block the writer and several processes can share one file. better-sqlite3 is synchronous; each
 * method runs one short statement (or one transaction) and returns a settled promise, and a
 * short busy timeout plus the backend's async retry keeps lock waits from freezing the event loop.
 */
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { AuditFragments } from "../audit.js";
import type { ArchiveMoveParams, ArchiveRule, AuditRow, DeleteByRuleParams, DeleteExpiredParams, Driver, GroupRow, HeldLock, HoldRow, MigrationStatus, TaskRow, TaskWrite } from "../driver.js";
import { fromNaiveUtc } from "../naive-utc.js";
import { deleteByRule, globToSqliteGlob } from "../retention.js";
import { archiveBatch, archiveDdl, copyToArchive, expireBatch, refileForever, SQLITE_FOREVER } from "./archive.js";
import { TIER_COLUMNS } from "../archive.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toTaskRow, type RawGroupRow, type RawTaskRow } from "../rows.js";
import type { Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { SqliteChangePoller } from "./change-poller.js";
import { isTransientSqliteError } from "./errors.js";
import { migrateSqlite } from "./migrate.js";
import { buildStatements } from "./statements.js";

const CLEANUP_LOCK = "cleanup";
const LOCK_LEASE_MS = 30_000;
const LOCK_POLL_MS = 200;

export interface SqliteDriverOptions {
  file: string;
  busyTimeoutMs: number;
  tables: Tables;
}


type Statements = { [K in keyof ReturnType<typeof buildStatements>]: Database.Statement };

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite" as const;
  readonly concurrentWriters = false;
  readonly supportsNotify = false;
  readonly db: Database.Database;
  private statements: Statements | undefined;
  readonly tables: Tables;
  private readonly texts: ReturnType<typeof buildStatements>;
  private readonly storeManyTx: Database.Transaction<(writes: readonly TaskWrite[]) => number>;

  constructor(options: SqliteDriverOptions) {
    this.tables = options.tables;
    this.texts = buildStatements(options.tables);
    this.db = new Database(options.file);
    this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    if (options.file !== ":memory:") this.db.pragma("journal_mode = WAL");
    // WAL with synchronous=NORMAL survives a process crash; only an OS crash or power loss can
    // lose the last commits. FULL would cost an fsync per store (BENCHMARKS.md).
    this.db.pragma("synchronous = NORMAL");
    // SQLite's default 2 MB page cache made reads on a 10M-row table 1.9x slower than on 10k rows
    // and made each cleanup batch re-read its index pages (BENCHMARKS.md); 64 MB is an upper
    // bound, pages are only held once read.
    this.db.pragma("cache_size = -65536");
    this.storeManyTx = this.db.transaction((writes: readonly TaskWrite[]) => {
      let written = 0;
      const store = this.prepared().taskStore;
      for (const w of writes) written += store.run(...writeParams(w)).changes;
      return written;
    });
  }

  // Statements are prepared on first use: the tables exist only once migrations have run.
  private prepared(): Statements {
    if (!this.statements) {
      this.statements = Object.fromEntries(Object.entries(this.texts).map(([key, text]) => [key, this.db.prepare(text)])) as Statements;
    }
    return this.statements;
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    return this.prepared().taskStore.run(...writeParams(w)).changes > 0;
  }

  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    return this.storeManyTx.immediate(writes);
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    const row = (this.archivePresent()
      ? this.cached(`SELECT ${TIER_COLUMNS} FROM ${this.tables.task} WHERE task_id = ? UNION ALL SELECT ${TIER_COLUMNS} FROM ${this.tables.archive} WHERE task_id = ? LIMIT 1`).get(taskId, taskId)
      : this.prepared().taskGet.get(taskId)) as RawTaskRow | undefined;
    return row ? toTaskRow(row) : undefined;
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (taskIds.length === 0) return [];
    if (!this.archivePresent()) return (this.prepared().taskGetMany.all(JSON.stringify(taskIds)) as RawTaskRow[]).map(toTaskRow);
    // Archive rows first, so for an id in both tiers the hot row (read last) wins.
    const ids = JSON.stringify(taskIds);
    const rows = this.cached(`SELECT ${TIER_COLUMNS} FROM ${this.tables.archive} WHERE task_id IN (SELECT value FROM json_each(?))
      UNION ALL SELECT ${TIER_COLUMNS} FROM ${this.tables.task} WHERE task_id IN (SELECT value FROM json_each(?))`).all(ids, ids) as RawTaskRow[];
    return [...new Map(rows.map((row) => [row.task_id, toTaskRow(row)])).values()];
  }

  async taskExists(taskId: string): Promise<boolean> {
    if (this.prepared().taskExists.get(taskId) !== undefined) return true;
    return this.archivePresent() && this.cached(`SELECT 1 FROM ${this.tables.archive} WHERE task_id = ?`).get(taskId) !== undefined;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    if (!this.archivePresent()) return this.prepared().taskForget.run(JSON.stringify(taskIds)).changes;
    const ids = JSON.stringify(taskIds);
    return this.db.transaction(() => {
      const gone = this.cached(`SELECT count(DISTINCT task_id) AS n FROM (SELECT task_id FROM ${this.tables.task} WHERE task_id IN (SELECT value FROM json_each(?))
        UNION ALL SELECT task_id FROM ${this.tables.archive} WHERE task_id IN (SELECT value FROM json_each(?)))`).get(ids, ids) as { n: number };
      this.prepared().taskForget.run(ids);
      this.cached(`DELETE FROM ${this.tables.archive} WHERE task_id IN (SELECT value FROM json_each(?))`).run(ids);
      return gone.n;
    }).immediate();
  }

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    return this.prepared().taskDeleteExpired.run({
      before: toNaiveUtc(p.before),
      limit: p.limit,
      only: p.onlyStatuses ? JSON.stringify(p.onlyStatuses) : null,
      except: p.exceptStatuses ? JSON.stringify(p.exceptStatuses) : null,
    }).changes;
  }

  async taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    const query = deleteByRule(this.tables, this.auditFragments, p, (select) => sql`id IN (${select})`);
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return this.db.prepare(text).run(...params).changes;
  }

  async taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    if (p.taskIds.length === 0) return 0;
    return this.prepared().taskHold.run({ ids: JSON.stringify(p.taskIds), now: toNaiveUtc(p.now), reason: p.reason }).changes;
  }

  async taskRelease(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return this.prepared().taskRelease.run(JSON.stringify(taskIds)).changes;
  }

  async taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    if (taskIds.length === 0) return [];
    const rows = this.prepared().taskHolds.all(JSON.stringify(taskIds)) as { task_id: string; held_at: string; reason: string | null }[];
    return rows.map((r) => ({ taskId: r.task_id, heldAt: fromNaiveUtc(r.held_at)!, reason: r.reason }));
  }

  private readonly statementCache = new Map<string, Database.Statement>();

  private cached(text: string): Database.Statement {
    let statement = this.statementCache.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statementCache.set(text, statement);
    }
    return statement;
  }

  private runSql(query: SQL): number {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return this.cached(text).run(...params).changes;
  }

  /** Checked on every call: one lookup in SQLite's in-memory schema, no I/O. */
  private archivePresent(): boolean {
    return this.cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(this.tables.config.task + "_archive") !== undefined;
  }

  async archiveEnabled(): Promise<boolean> {
    return this.archivePresent();
  }

  async archiveCreate(): Promise<void> {
    this.db.transaction(() => {
      for (const statement of archiveDdl(this.tables)) this.db.exec(statement);
    }).immediate();
  }

  async taskArchive(p: ArchiveMoveParams): Promise<number> {
    // Unlike PostgreSQL, SQLite has no DELETE … RETURNING inside a WITH, so the copy and the delete
    // are two statements in one IMMEDIATE transaction: a killed process commits both or neither.
    return this.db.transaction(() => {
      const ids = (this.cached(archiveBatch(this.tables)).all(toNaiveUtc(p.before), p.limit) as { id: number }[]).map((r) => r.id);
      if (ids.length === 0) return 0;
      const json = JSON.stringify(ids);
      this.runSql(copyToArchive(this.tables, this.auditFragments, p.ranked, json, p.now));
      return this.cached(`DELETE FROM ${this.tables.task} WHERE id IN (SELECT value FROM json_each(?))`).run(json).changes;
    }).immediate();
  }

  async archiveExpire(p: { ranked: readonly ArchiveRule[]; now: Date; limit: number }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean }> {
    const refiled = this.runSql(refileForever(this.tables, this.auditFragments, p.ranked, p.now));
    const rows = this.runSql(expireBatch(this.tables, this.auditFragments, p.ranked, p.now, p.limit));
    return { rows, partitions: 0, refiled, more: rows === p.limit };
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return this.prepared().taskDeleteStale.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes;
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return this.prepared().taskStampUnaged.run({ now: toNaiveUtc(p.now), limit: p.limit }).changes;
  }

  async groupSave(row: GroupRow): Promise<void> {
    this.prepared().groupSave.run(row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone));
  }

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    const row = this.prepared().groupGet.get(groupId) as RawGroupRow | undefined;
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    return this.prepared().groupDelete.run(groupId).changes > 0;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return this.prepared().groupDeleteExpired.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes;
  }

  async migrate(): Promise<MigrationStatus> {
    return migrateSqlite(this.db, this.tables, { apply: true });
  }

  async migrationStatus(): Promise<MigrationStatus> {
    return migrateSqlite(this.db, this.tables, { apply: false });
  }

  /** A lease row in taskledger_lock, renewed while held; a crashed holder's lease runs out. */
  async cleanupLock(wait: boolean): Promise<HeldLock | undefined> {
    const holder = randomUUID();
    const s = this.prepared();
    const take = () => s.lockTake.run({ name: CLEANUP_LOCK, holder, expires_at: Date.now() + LOCK_LEASE_MS, now: Date.now() }).changes > 0;
    while (!take()) {
      if (!wait) return undefined;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    const renew = setInterval(() => {
      try {
        s.lockRenew.run({ name: CLEANUP_LOCK, holder, expires_at: Date.now() + LOCK_LEASE_MS });
      } catch {
        // a busy database delays one renewal; the lease has room for two more
      }
    }, LOCK_LEASE_MS / 3);
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        s.lockRelease.run({ name: CLEANUP_LOCK, holder });
      },
    };
  }

  // date_done is text 'YYYY-MM-DD HH:MM:SS.ffffff' here, so its first 13 characters are the hour.
  // GLOB, not LIKE: SQLite's LIKE ignores ASCII case, and a rule for "Billing.*" must not take "billing.x".
  readonly auditFragments: AuditFragments = {
    hourBucket: sql`substr(date_done, 1, 13)`,
    glob: (column, glob) => sql`${column} GLOB ${globToSqliteGlob(glob)}`,
    // date_done text plus seconds, in the same sortable text form (milliseconds kept).
    plusMs: (column, ms) => sql`strftime('%Y-%m-%d %H:%M:%f', ${column}, ${`+${ms / 1000} seconds`})`,
    forever: sql`${SQLITE_FOREVER}`,
    greatest: (a, b) => sql`max(${a}, ${b})`,
  };
  private readonly drizzleDialect = new SQLiteSyncDialect();

  async audit(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return this.db.prepare(text).all(...params) as AuditRow[];
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    return new SqliteChangePoller(this.db, onChange);
  }

  isTransient(error: unknown): boolean {
    return isTransientSqliteError(error);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** taskStore's parameters in statement order: the 15 columns, `extended` six times, `replaceReady`. */
function writeParams(w: TaskWrite): unknown[] {
  const x = w.extended;
  const extended = x !== null ? 1 : 0;
  return [
    w.taskId, w.status, w.result, w.dateDone && toNaiveUtc(w.dateDone), w.traceback,
    x?.name ?? null, x?.args ?? null, x?.kwargs ?? null, x?.worker ?? null, x?.retries ?? null, x?.queue ?? null,
    w.children, w.parentId, w.groupId, toNaiveUtc(w.dateUpdated),
    extended, extended, extended, extended, extended, extended, w.replaceReady ? 1 : 0,
  ];
}

