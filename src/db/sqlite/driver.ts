/**
 * The SQLite driver: one better-sqlite3 connection per backend (its own in WAL mode, or the
 * application's as the application configured it), so readers never
 * block the writer and several processes can share one file. better-sqlite3 is synchronous; each
 * method runs one short statement (or one transaction) and returns a settled promise, and a
 * short busy timeout plus the backend's async retry keeps lock waits from freezing the event loop.
 */
import Database from "better-sqlite3";
import { sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { AuditFragments } from "../audit.js";
import { SqlAuditReads, type AuditRow } from "../audit-reads.js";
import type {
  ArchiveMoveParams,
  ArchiveRule,
  AuditReads,
  Capabilities,
  DeleteByRuleParams,
  DeleteExpiredParams,
  Driver,
  GroupRow,
  HeldLock,
  HoldRow,
  LockName,
  MigrationStatus,
  TaskHistoryRow,
  TaskRow,
  TaskWrite,
  TransactionDriver,
} from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { NotInTransactionError } from "../../errors.js";
import { adoptTransaction, type SqliteDatabaseLike } from "../external.js";
import { sameDatabaseFile } from "./identity.js";
import { fromNaiveUtc } from "../naive-utc.js";
import { countByRule, deleteByRule, globToSqliteGlob } from "../retention.js";
import { archiveBatch, archiveDdl, copyToArchive, expireBatch, refileForever, SQLITE_FOREVER } from "./archive.js";
import { countArchivable, countArchiveExpired, TIER_COLUMNS } from "../archive.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toHistoryRow, toTaskRow, type RawGroupRow, type RawHistoryRow, type RawTaskRow } from "../rows.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { SqliteChangePoller } from "./changes.js";
import { isTransientSqliteError } from "./errors.js";
import { lockHolder, takeLock } from "./lock.js";
import { migrateSqlite } from "./migrate.js";
import { buildStatements } from "./statements.js";
import { interpretSqliteError, SqliteWrites } from "./task-writes.js";

export type SqliteDriverOptions =
  | { file: string; busyTimeoutMs: number; tables: Tables }
  /** The application's connection: used as it is configured, never closed. */
  | { db: SqliteDatabaseLike; tables: Tables };

/**
 * How long a statement waits for the application's open transaction on a shared connection to
 * end before failing as busy (and being retried by the backend): as long as a lock wait may be.
 */
const OUTSIDE_TRANSACTION_WAIT_MS = 5_000;

type Statements = { [K in keyof ReturnType<typeof buildStatements>]: Database.Statement };

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite" as const;
  readonly capabilities: Capabilities = {
    pushedChanges: false,
    concurrentWriters: false,
    archivePartitions: false,
    sessionLocks: false,
  };
  readonly db: Database.Database;
  private statements: Statements | undefined;
  readonly tables: Tables;
  readonly audit: AuditReads;
  private readonly texts: ReturnType<typeof buildStatements>;
  private readonly writes: SqliteWrites;
  /** Writers for other connections a caller's transaction runs on. */
  private readonly otherWrites = new WeakMap<object, SqliteWrites>();
  /** False for the application's connection: it is neither configured nor closed here. */
  private readonly owned: boolean;

  constructor(options: SqliteDriverOptions) {
    this.tables = options.tables;
    this.audit = new SqlAuditReads(
      this.tables,
      this.fragments,
      (query) => this.query(query),
      () => this.archiveEnabled(),
    );
    this.texts = buildStatements(options.tables);
    this.owned = !("db" in options);
    if ("db" in options) {
      // Its pragmas (journal mode, busy timeout, synchronous) are the application's choice; the
      // README recommends WAL for a file other processes read.
      this.db = options.db as Database.Database;
      this.writes = new SqliteWrites(this.db, this.texts, this.tables);
      return;
    }
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
    this.writes = new SqliteWrites(this.db, this.texts, this.tables);
  }

  // Statements are prepared on first use: the tables exist only once migrations have run.
  /** Runs a statement with a missing table reported as such (a table dropped after its statement was prepared). */
  private mapped<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw interpretSqliteError(error, this.tables);
    }
  }

  private prepared(): Statements {
    if (!this.statements) {
      try {
        this.statements = Object.fromEntries(Object.entries(this.texts).map(([key, text]) => [key, this.db.prepare(text)])) as Statements;
      } catch (error) {
        throw interpretSqliteError(error, this.tables);
      }
    }
    return this.statements;
  }

  /**
   * On a shared connection the application may hold a transaction open across awaits
   * (BEGIN … await … COMMIT); a statement run now would join it and commit or roll back with it.
   * So every statement of this driver's own waits until the connection is outside any
   * transaction. better-sqlite3's db.transaction() is synchronous and never seen open here.
   */
  private async outsideTransaction(): Promise<void> {
    if (!this.db.inTransaction) return;
    const deadline = Date.now() + OUTSIDE_TRANSACTION_WAIT_MS;
    await untilFalse(
      () => this.db.inTransaction && this.db.open,
      () => {
        if (Date.now() > deadline) {
          throw Object.assign(new Error("the shared SQLite connection stayed inside the application's transaction"), {
            code: "SQLITE_BUSY_TRANSACTION",
          });
        }
      },
    );
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.writes.taskStore(w);
  }

  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.writes.taskStoreMany(writes);
  }

  /**
   * Writes on the caller's connection inside the caller's transaction. Each call runs its
   * statement before it returns and throws at once on failure, so it works inside better-sqlite3's
   * synchronous db.transaction(), where nothing else can run until commit.
   */
  inTransaction(tx: unknown): TransactionDriver {
    const adopted = adoptTransaction(tx, "sqlite");
    if (adopted.dialect !== "sqlite") throw new Error("unreachable");
    const db = adopted.db;
    if (db !== this.db) sameDatabaseFile(db, this.db);
    let writes = db === this.db ? this.writes : this.otherWrites.get(db);
    if (!writes) this.otherWrites.set(db, (writes = new SqliteWrites(db, this.texts, this.tables)));
    const w = writes;
    const now = <T>(write: () => T): T => {
      if (!db.open || !db.inTransaction)
        throw new NotInTransactionError("the better-sqlite3 Database is no longer inside a transaction (already committed or rolled back)");
      try {
        return write();
      } catch (error) {
        throw interpretSqliteError(error, this.tables);
      }
    };
    const inside = <T>(write: () => T): Promise<T> => Promise.resolve(now(write));
    return {
      taskStore: (write) => inside(() => w.taskStore(write)),
      taskStoreNow: (write) => now(() => w.taskStore(write)),
      taskStoreMany: (list) => inside(() => w.taskStoreMany(list)),
      groupSave: (row) => inside(() => w.groupSave(row)),
      ended: () => untilFalse(() => db.inTransaction && db.open),
    };
  }

  async tablesExist(): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const count = this.db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)")
      .pluck()
      .get(this.tables.config.task, this.tables.config.group);
    return count === 2;
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const hot = this.prepared().taskGet.get(taskId) as RawTaskRow | undefined;
    if (hot) return toTaskRow(hot);
    if (!this.archivePresent()) return undefined;
    // The latest archived row, as in every read (an id archived twice by older versions has two).
    const cold = this.cached(
      `SELECT ${TIER_COLUMNS} FROM ${this.tables.archive} WHERE task_id = ? ORDER BY archived_at DESC, id DESC LIMIT 1`,
    ).get(taskId) as RawTaskRow | undefined;
    return cold && toTaskRow(cold);
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (taskIds.length === 0) return [];
    if (!this.archivePresent()) return (this.prepared().taskGetMany.all(JSON.stringify(taskIds)) as RawTaskRow[]).map(toTaskRow);
    // Archive rows first, oldest move first, so for an id in both tiers the hot row (read last)
    // wins, and among archived rows the latest, as taskGet reads them.
    const ids = JSON.stringify(taskIds);
    const rows = this.cached(
      `SELECT ${TIER_COLUMNS} FROM (
        SELECT ${TIER_COLUMNS}, 0 AS tier, archived_at FROM ${this.tables.archive} WHERE task_id IN (SELECT value FROM json_each(?))
        UNION ALL SELECT ${TIER_COLUMNS}, 1 AS tier, NULL FROM ${this.tables.task} WHERE task_id IN (SELECT value FROM json_each(?)))
      ORDER BY tier, archived_at, id`,
    ).all(ids, ids) as RawTaskRow[];
    return [...new Map(rows.map((row) => [row.task_id, toTaskRow(row)])).values()];
  }

  async taskExists(taskId: string): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (this.prepared().taskExists.get(taskId) !== undefined) return true;
    return this.archivePresent() && this.cached(`SELECT 1 FROM ${this.tables.archive} WHERE task_id = ?`).get(taskId) !== undefined;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (taskIds.length === 0) return 0;
    if (!this.archivePresent()) return this.prepared().taskForget.run(JSON.stringify(taskIds)).changes;
    const ids = JSON.stringify(taskIds);
    return this.db
      .transaction(() => {
        const gone = this.cached(
          `SELECT count(DISTINCT task_id) AS n FROM (SELECT task_id FROM ${this.tables.task} WHERE task_id IN (SELECT value FROM json_each(?))
        UNION ALL SELECT task_id FROM ${this.tables.archive} WHERE task_id IN (SELECT value FROM json_each(?)))`,
        ).get(ids, ids) as { n: number };
        this.prepared().taskForget.run(ids);
        this.cached(`DELETE FROM ${this.tables.archive} WHERE task_id IN (SELECT value FROM json_each(?))`).run(ids);
        return gone.n;
      })
      .immediate();
  }

  async taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return (this.prepared().taskHistory.all(taskId) as RawHistoryRow[]).map(toHistoryRow);
  }

  async historyEnabled(): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.historyTriggerCount() === this.tables.historyTriggers.length;
  }

  /** Drops the history triggers and, to switch history on, creates them again: one transaction. */
  async historySet(on: boolean): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const n = this.historyTriggerCount();
    if (on ? n === this.tables.historyTriggers.length : n === 0) return false;
    const statements = on ? historyTriggerStatements("sqlite", this.tables) : [];
    this.db
      .transaction(() => {
        for (const name of this.tables.historyTriggers) this.db.exec(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")}`);
        for (const statement of statements) this.db.exec(statement);
      })
      .immediate();
    return true;
  }

  private historyTriggerCount(): number {
    return this.db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (SELECT value FROM json_each(?))")
      .pluck()
      .get(JSON.stringify(this.tables.historyTriggers)) as number;
  }

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared().taskDeleteExpired.run({
      before: toNaiveUtc(p.before),
      limit: p.limit,
      only: p.onlyStatuses ? JSON.stringify(p.onlyStatuses) : null,
      except: p.exceptStatuses ? JSON.stringify(p.exceptStatuses) : null,
    }).changes;
  }

  async taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared()
      .taskCountExpired.pluck()
      .get({
        before: toNaiveUtc(p.before),
        only: p.onlyStatuses ? JSON.stringify(p.onlyStatuses) : null,
        except: p.exceptStatuses ? JSON.stringify(p.exceptStatuses) : null,
      }) as number;
  }

  async taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return Number((await this.query(countByRule(this.tables, this.fragments, p)))[0]?.["n"] ?? 0);
  }

  async taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return Number((await this.query(countArchivable(this.tables, this.fragments, p)))[0]?.["n"] ?? 0);
  }

  async taskCountStale(p: { before: Date }): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared()
      .taskCountStale.pluck()
      .get({ before: toNaiveUtc(p.before) }) as number;
  }

  async groupCountExpired(p: { before: Date }): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared()
      .groupCountExpired.pluck()
      .get({ before: toNaiveUtc(p.before) }) as number;
  }

  async taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const query = deleteByRule(this.tables, this.fragments, p, (select) => sql`id IN (${select})`);
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return this.db.prepare(text).run(...params).changes;
  }

  async taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (p.taskIds.length === 0) return 0;
    return this.mapped(
      () => this.prepared().taskHold.run({ ids: JSON.stringify(p.taskIds), now: toNaiveUtc(p.now), reason: p.reason }).changes,
    );
  }

  async taskRelease(taskIds: readonly string[]): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (taskIds.length === 0) return 0;
    return this.mapped(() => this.prepared().taskRelease.run(JSON.stringify(taskIds)).changes);
  }

  async taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (taskIds.length === 0) return [];
    const rows = this.mapped(() => this.prepared().taskHolds.all(JSON.stringify(taskIds))) as {
      task_id: string;
      held_at: string;
      reason: string | null;
    }[];
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
    return this.writes.archivePresent();
  }

  async archiveEnabled(): Promise<boolean> {
    return this.archivePresent();
  }

  async archiveCreate(): Promise<void> {
    if (this.db.inTransaction) await this.outsideTransaction();
    this.db
      .transaction(() => {
        for (const statement of archiveDdl(this.tables)) this.db.exec(statement);
      })
      .immediate();
  }

  /** Nothing to prepare: SQLite's archive is one plain table. */
  async archivePrepare(): Promise<string[]> {
    return [];
  }

  async taskArchive(p: ArchiveMoveParams): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    // Unlike PostgreSQL, SQLite has no DELETE … RETURNING inside a WITH, so the copy and the delete
    // are two statements in one IMMEDIATE transaction: a killed process commits both or neither.
    return this.db
      .transaction(() => {
        const ids = (this.cached(archiveBatch(this.tables)).all(toNaiveUtc(p.before), p.limit) as { id: number }[]).map((r) => r.id);
        if (ids.length === 0) return 0;
        const json = JSON.stringify(ids);
        this.runSql(copyToArchive(this.tables, this.fragments, p.ranked, json, p.now));
        return this.cached(`DELETE FROM ${this.tables.task} WHERE id IN (SELECT value FROM json_each(?))`).run(json).changes;
      })
      .immediate();
  }

  async archiveExpire(p: {
    ranked: readonly ArchiveRule[];
    now: Date;
    limit: number;
  }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean }> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const refiled = this.runSql(refileForever(this.tables, this.fragments, p.ranked, p.now));
    const rows = this.runSql(expireBatch(this.tables, this.fragments, p.ranked, p.now, p.limit));
    return { rows, partitions: 0, refiled, more: rows === p.limit };
  }

  async archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    // What archiveExpire removes: rows past their stored expiry (or filed "forever") whose expiry
    // under today's rules and holds has passed too.
    const at = toNaiveUtc(p.now);
    const due = sql`(expires_at < ${at} OR expires_at = ${SQLITE_FOREVER})`;
    const query = countArchiveExpired(this.tables, this.fragments, p.ranked, due, (expiry) => sql`${expiry} < ${at}`);
    return Number((await this.query(query))[0]?.["n"] ?? 0);
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared().taskDeleteStale.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes;
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared().taskStampUnaged.run({ now: toNaiveUtc(p.now), limit: p.limit }).changes;
  }

  async groupSave(row: GroupRow): Promise<void> {
    if (this.db.inTransaction) await this.outsideTransaction();
    this.writes.groupSave(row);
  }

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const row = this.prepared().groupGet.get(groupId) as RawGroupRow | undefined;
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared().groupDelete.run(groupId).changes > 0;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared().groupDeleteExpired.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes;
  }

  async migrate(): Promise<MigrationStatus> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return migrateSqlite(this.db, this.tables, { apply: true });
  }

  async migrationStatus(): Promise<MigrationStatus> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return migrateSqlite(this.db, this.tables, { apply: false });
  }

  lock(name: LockName, options: { wait: boolean }): Promise<HeldLock | undefined> {
    return takeLock(this.prepared(), () => this.outsideTransaction(), name, options.wait);
  }

  async lockHolder(name: LockName): Promise<string | undefined> {
    await this.outsideTransaction();
    return lockHolder(this.prepared(), name);
  }

  // date_done is text 'YYYY-MM-DD HH:MM:SS.ffffff' here, so its first 13 characters are the hour.
  // GLOB, not LIKE: SQLite's LIKE ignores ASCII case, and a rule for "Billing.*" must not take "billing.x".
  private readonly fragments: AuditFragments = {
    hourBucket: sql`substr(date_done, 1, 13)`,
    timeBucket: (seconds) => sql`(CAST(strftime('%s', date_done) AS INTEGER) / ${seconds}) * ${seconds}`,
    // SQLite's LIKE ignores case and so cannot use the BINARY index on task_id; a range on it can,
    // and BINARY (UTF-8 byte) order puts every id with the prefix inside [prefix, prefix + U+10FFFF).
    idPrefix: (prefix) =>
      sql`(task_id >= ${prefix} AND task_id < ${`${prefix}\u{10FFFF}`} AND substr(task_id, 1, ${prefix.length}) = ${prefix})`,
    glob: (column, glob) => sql`${column} GLOB ${globToSqliteGlob(glob)}`,
    // date_done text plus seconds, in the same sortable text form (milliseconds kept).
    plusMs: (column, ms) => sql`strftime('%Y-%m-%d %H:%M:%f', ${column}, ${`+${ms / 1000} seconds`})`,
    forever: sql`${SQLITE_FOREVER}`,
    greatest: (a, b) => sql`max(${a}, ${b})`,
  };
  private readonly drizzleDialect = new SQLiteSyncDialect();

  /** Runs a cold-path query built with drizzle's `sql` (audit reads, rule deletes, dry-run counts). */
  private async query(query: SQL): Promise<AuditRow[]> {
    if (this.db.inTransaction) await this.outsideTransaction();
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
    if (this.owned && this.db.open) this.db.close();
  }
}

/** Resolves once `holds()` is false, checking with a backoff from 1 to 20 ms; `check` may throw. */
async function untilFalse(holds: () => boolean, check: () => void = () => undefined): Promise<void> {
  let delay = 1;
  while (holds()) {
    check();
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 20);
  }
}
