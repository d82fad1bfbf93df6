/**
 * The SQLite driver: one better-sqlite3 connection per backend (its own in WAL mode, or the
 * application's as the application configured it: #13), so readers never
 * block the writer and several processes can share one file. better-sqlite3 is synchronous; each
 * method runs one short statement (or one transaction) and returns a settled promise, and a
 * short busy timeout plus the backend's async retry keeps lock waits from freezing the event loop.
 */
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { AuditFragments } from "../audit.js";
import type { AuditRow, DeleteExpiredParams, Driver, GroupRow, HeldLock, MigrationStatus, TaskRow, TaskWrite, TransactionDriver } from "../driver.js";
import { NotInTransactionError } from "../../errors.js";
import { adoptTransaction, type SqliteDatabaseLike } from "../external.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toTaskRow, type RawGroupRow, type RawTaskRow } from "../rows.js";
import type { Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { SqliteChangePoller } from "./change-poller.js";
import { isTransientSqliteError } from "./errors.js";
import { migrateSqlite } from "./migrate.js";
import { buildStatements } from "./statements.js";
import { interpretSqliteError, SqliteWrites } from "./writes.js";

const CLEANUP_LOCK = "cleanup";
const LOCK_LEASE_MS = 30_000;
const LOCK_POLL_MS = 200;

export type SqliteDriverOptions =
  | { file: string; busyTimeoutMs: number; tables: Tables }
  /** The application's connection (#13): used as it is configured, never closed. */
  | { db: SqliteDatabaseLike; tables: Tables };

/**
 * How long a statement waits for the application's open transaction on a shared connection to
 * end before failing as busy (and being retried by the backend): as long as a lock wait may be.
 */
const OUTSIDE_TRANSACTION_WAIT_MS = 5_000;


type Statements = { [K in keyof ReturnType<typeof buildStatements>]: Database.Statement };

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite" as const;
  readonly concurrentWriters = false;
  readonly supportsNotify = false;
  readonly db: Database.Database;
  private statements: Statements | undefined;
  readonly tables: Tables;
  private readonly texts: ReturnType<typeof buildStatements>;
  private readonly writes: SqliteWrites;
  /** Writers for other connections a caller's transaction runs on. */
  private readonly otherWrites = new WeakMap<object, SqliteWrites>();
  /** False for the application's connection: it is neither configured nor closed here. */
  private readonly owned: boolean;

  constructor(options: SqliteDriverOptions) {
    this.tables = options.tables;
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
   * transaction (#13). better-sqlite3's db.transaction() is synchronous and never seen open here.
   */
  private async outsideTransaction(): Promise<void> {
    if (!this.db.inTransaction) return;
    const deadline = Date.now() + OUTSIDE_TRANSACTION_WAIT_MS;
    await untilFalse(() => this.db.inTransaction && this.db.open, () => {
      if (Date.now() > deadline) {
        throw Object.assign(new Error("the shared SQLite connection stayed inside the application's transaction"), { code: "SQLITE_BUSY_TRANSACTION" });
      }
    });
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
   * Writes on the caller's connection inside the caller's transaction (#13). Each call runs its
   * statement before it returns and throws at once on failure, so it works inside better-sqlite3's
   * synchronous db.transaction(), where nothing else can run until commit.
   */
  inTransaction(tx: unknown): TransactionDriver {
    const adopted = adoptTransaction(tx, "sqlite");
    if (adopted.dialect !== "sqlite") throw new Error("unreachable");
    const db = adopted.db;
    let writes = db === this.db ? this.writes : this.otherWrites.get(db);
    if (!writes) this.otherWrites.set(db, (writes = new SqliteWrites(db, this.texts, this.tables)));
    const w = writes;
    const inside = <T>(write: () => T): Promise<T> => {
      if (!db.open || !db.inTransaction) throw new NotInTransactionError("the better-sqlite3 Database is no longer inside a transaction (already committed or rolled back)");
      try {
        return Promise.resolve(write());
      } catch (error) {
        throw interpretSqliteError(error, this.tables);
      }
    };
    return {
      taskStore: (write) => inside(() => w.taskStore(write)),
      taskStoreMany: (list) => inside(() => w.taskStoreMany(list)),
      groupSave: (row) => inside(() => w.groupSave(row)),
      ended: () => untilFalse(() => db.inTransaction && db.open),
    };
  }

  async tablesExist(): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const count = this.db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)").pluck().get(this.tables.config.task, this.tables.config.group);
    return count === 2;
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    if (this.db.inTransaction) await this.outsideTransaction();
    const row = this.prepared().taskGet.get(taskId) as RawTaskRow | undefined;
    return row ? toTaskRow(row) : undefined;
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (taskIds.length === 0) return [];
    return (this.prepared().taskGetMany.all(JSON.stringify(taskIds)) as RawTaskRow[]).map(toTaskRow);
  }

  async taskExists(taskId: string): Promise<boolean> {
    if (this.db.inTransaction) await this.outsideTransaction();
    return this.prepared().taskExists.get(taskId) !== undefined;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (this.db.inTransaction) await this.outsideTransaction();
    if (taskIds.length === 0) return 0;
    return this.prepared().taskForget.run(JSON.stringify(taskIds)).changes;
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

  /** A lease row in taskledger_lock, renewed while held; a crashed holder's lease runs out. */
  async cleanupLock(wait: boolean): Promise<HeldLock | undefined> {
    const holder = randomUUID();
    const s = this.prepared();
    if (this.db.inTransaction) await this.outsideTransaction();
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
  readonly auditFragments: AuditFragments = { hourBucket: sql`substr(date_done, 1, 13)` };
  private readonly drizzleDialect = new SQLiteSyncDialect();

  async audit(query: SQL): Promise<AuditRow[]> {
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
