/**
 * The SQLite driver: one better-sqlite3 connection per backend (its own in WAL mode, or the
 * application's as the application configured it), so readers never block the writer and several
 * processes can share one file. Every statement goes through one executor (./executor.ts), and
 * each entity has its module: task reads and writes, groups, history, holds, expiry, the archive
 * tier, named locks (a lease), change watching (PRAGMA data_version). better-sqlite3 is
 * synchronous; each method runs one short statement (or one transaction) and returns a settled
 * promise, and a short busy timeout plus the backend's async retry keeps lock waits from freezing
 * the event loop.
 */
import Database from "better-sqlite3";
import { NotInTransactionError } from "../../errors.js";
import { SqlAuditReads } from "../audit-reads.js";
import type {
  ArchiveMoveParams,
  ArchiveRule,
  AuditReads,
  Capabilities,
  ChangeListener,
  ChangeWatch,
  DeleteByRuleParams,
  DeleteExpiredParams,
  Driver,
  GroupRow,
  HeldLock,
  HoldRow,
  LockName,
  MigrationStatus,
  OutboxRow,
  ReplicaStatus,
  TaskHistoryEntry,
  TaskHistoryRow,
  TaskRow,
  TaskWrite,
  TransactionDriver,
  WebhookMatch,
  WebhookRow,
} from "../driver.js";
import { adoptTransaction, type SqliteDatabaseLike } from "../external.js";
import type { Tables } from "../tables.js";
import { SqliteArchiveTier } from "./archive-tier.js";
import { SqliteChangePoller } from "./changes.js";
import { interpretError, isTransientSqliteError } from "./errors.js";
import { SqliteExecutor, untilFalse } from "./executor.js";
import { SqliteExpiry } from "./expiry.js";
import { SQLITE_FRAGMENTS } from "./fragments.js";
import { SqliteGroups } from "./groups.js";
import { SqliteHistory } from "./history.js";
import { SqliteHolds } from "./holds.js";
import { sameDatabaseFile } from "./identity.js";
import { lockHolder, takeLock } from "./lock.js";
import { migrateSqlite } from "./migrate.js";
import { buildStatements } from "./statements.js";
import { SqliteTaskReads } from "./task-reads.js";
import { SqliteWrites } from "./task-writes.js";
import { SqliteWebhooks } from "./webhooks.js";

export type SqliteDriverOptions =
  | { file: string; busyTimeoutMs: number; tables: Tables }
  /** The application's connection: used as it is configured, never closed. */
  | { db: SqliteDatabaseLike; tables: Tables };

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite" as const;
  readonly capabilities: Capabilities = {
    pushedChanges: false,
    concurrentWriters: false,
    archivePartitions: false,
    sessionLocks: false,
  };
  readonly tables: Tables;
  readonly audit: AuditReads;
  private readonly db: Database.Database;
  private readonly texts: ReturnType<typeof buildStatements>;
  private readonly exec: SqliteExecutor;
  private readonly reads: SqliteTaskReads;
  private readonly writes: SqliteWrites;
  private readonly groups: SqliteGroups;
  private readonly history: SqliteHistory;
  private readonly holds: SqliteHolds;
  private readonly expiry: SqliteExpiry;
  private readonly archive: SqliteArchiveTier;
  private readonly webhooks: SqliteWebhooks;
  /** Writers for other connections a caller's transaction runs on. */
  private readonly otherWrites = new WeakMap<object, SqliteWrites>();
  /** False for the application's connection: it is neither configured nor closed here. */
  private readonly owned: boolean;

  constructor(options: SqliteDriverOptions) {
    this.tables = options.tables;
    this.texts = buildStatements(options.tables);
    this.owned = !("db" in options);
    // The application's connection keeps its pragmas (journal mode, busy timeout, synchronous):
    // they are its choice; the README recommends WAL for a file other processes read.
    this.db = "db" in options ? (options.db as Database.Database) : openFile(options.file, options.busyTimeoutMs);
    this.exec = new SqliteExecutor(this.db, this.tables, this.texts);
    this.writes = new SqliteWrites(this.db, this.texts, this.tables);
    this.archive = new SqliteArchiveTier(this.exec, () => this.writes.archivePresent());
    this.reads = new SqliteTaskReads(this.exec, this.archive.present);
    this.groups = new SqliteGroups(this.exec);
    this.history = new SqliteHistory(this.exec);
    this.holds = new SqliteHolds(this.exec);
    this.expiry = new SqliteExpiry(this.exec);
    this.webhooks = new SqliteWebhooks(this.exec);
    this.audit = new SqlAuditReads(
      this.tables,
      SQLITE_FRAGMENTS,
      (query) => this.exec.rows(query),
      () => this.archive.archiveEnabled(),
    );
  }

  taskStore(w: TaskWrite): Promise<boolean> {
    return this.exec.run(() => this.writes.taskStore(w));
  }
  taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    return this.exec.run(() => this.writes.taskStoreMany(writes));
  }
  taskForget(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return Promise.resolve(0);
    return this.exec.run(() => this.writes.taskForget(taskIds));
  }
  groupSave(row: GroupRow): Promise<void> {
    return this.exec.run(() => this.writes.groupSave(row));
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
        throw interpretError(error, this.tables);
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

  taskGet(taskId: string): Promise<TaskRow | undefined> {
    return this.reads.taskGet(taskId);
  }
  taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    return this.reads.taskGetMany(taskIds);
  }
  taskExists(taskId: string): Promise<boolean> {
    return this.reads.taskExists(taskId);
  }
  tablesExist(): Promise<boolean> {
    return this.reads.tablesExist();
  }

  groupGet(groupId: string): Promise<GroupRow | undefined> {
    return this.groups.groupGet(groupId);
  }
  groupDelete(groupId: string): Promise<boolean> {
    return this.groups.groupDelete(groupId);
  }

  taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    return this.history.taskHistory(taskId);
  }
  taskHistoryAfter(p: { taskIds: readonly string[]; afterId: number; limit: number }): Promise<TaskHistoryEntry[]> {
    return this.history.taskHistoryAfter(p);
  }
  taskHistoryLatestId(taskIds: readonly string[]): Promise<number> {
    return this.history.taskHistoryLatestId(taskIds);
  }
  historyEnabled(): Promise<boolean> {
    return this.history.historyEnabled();
  }
  historySet(on: boolean): Promise<boolean> {
    return this.history.historySet(on);
  }

  taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    return this.holds.taskHold(p);
  }
  taskRelease(taskIds: readonly string[]): Promise<number> {
    return this.holds.taskRelease(taskIds);
  }
  taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    return this.holds.taskHolds(taskIds);
  }

  taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    return this.expiry.taskDeleteExpired(p);
  }
  taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    return this.expiry.taskCountExpired(p);
  }
  taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    return this.expiry.taskDeleteByRule(p);
  }
  taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return this.expiry.taskCountByRule(p);
  }
  taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return this.expiry.taskDeleteStale(p);
  }
  taskCountStale(p: { before: Date }): Promise<number> {
    return this.expiry.taskCountStale(p);
  }
  taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return this.expiry.taskStampUnaged(p);
  }
  groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return this.expiry.groupDeleteExpired(p);
  }
  groupCountExpired(p: { before: Date }): Promise<number> {
    return this.expiry.groupCountExpired(p);
  }

  archiveEnabled(): Promise<boolean> {
    return this.archive.archiveEnabled();
  }
  archiveCreate(): Promise<void> {
    return this.archive.archiveCreate();
  }
  /** Nothing to prepare: SQLite's archive is one plain table. */
  async archivePrepare(): Promise<string[]> {
    return [];
  }
  taskArchive(p: ArchiveMoveParams): Promise<number> {
    return this.archive.taskArchive(p);
  }
  archiveExpire(p: { ranked: readonly ArchiveRule[]; now: Date; limit: number }) {
    return this.archive.archiveExpire(p);
  }
  archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return this.archive.archiveCountExpired(p);
  }
  taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return this.archive.taskCountArchivable(p);
  }

  migrate(): Promise<MigrationStatus> {
    return this.exec.run(() => migrateSqlite(this.db, this.tables, { apply: true }));
  }
  migrationStatus(): Promise<MigrationStatus> {
    return this.exec.run(() => migrateSqlite(this.db, this.tables, { apply: false }));
  }

  async lock(name: LockName, options: { wait: boolean }): Promise<HeldLock | undefined> {
    return takeLock(await this.exec.run(() => this.exec.statements), () => this.exec.outsideTransaction(), name, options.wait);
  }
  lockHolder(name: LockName): Promise<string | undefined> {
    return this.exec.run(() => lockHolder(this.exec.statements, name));
  }

  webhookAdd(p: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number> {
    return this.webhooks.webhookAdd(p);
  }
  webhookList(): Promise<WebhookRow[]> {
    return this.webhooks.webhookList();
  }
  webhookRemove(ids: readonly number[]): Promise<number> {
    return this.webhooks.webhookRemove(ids);
  }
  webhookClaim(p: { now: number; leaseUntil: number; limit: number }): Promise<OutboxRow[]> {
    return this.webhooks.webhookClaim(p);
  }
  webhookReleaseClaims(): Promise<number> {
    return this.webhooks.webhookReleaseClaims();
  }
  webhookDelivered(ids: readonly number[]): Promise<void> {
    return this.webhooks.webhookDelivered(ids);
  }
  webhookFailed(p: { id: number; error: string; retryAt: number | null; deadAt: number }): Promise<void> {
    return this.webhooks.webhookFailed(p);
  }
  webhookDeadLetters(p: { limit: number }): Promise<OutboxRow[]> {
    return this.webhooks.webhookDeadLetters(p);
  }
  webhookReplay(p: { ids: readonly number[] | null }): Promise<number> {
    return this.webhooks.webhookReplay(p);
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    return new SqliteChangePoller(this.db, onChange);
  }

  /** A SQLite file has no replicas of its own. */
  async replicaStatus(): Promise<ReplicaStatus | undefined> {
    return undefined;
  }

  isTransient(error: unknown): boolean {
    return isTransientSqliteError(error);
  }

  async close(): Promise<void> {
    if (this.owned && this.db.open) this.db.close();
  }
}

/** taskledger's own connection to a file, set up for several processes sharing it. */
function openFile(file: string, busyTimeoutMs: number): Database.Database {
  const db = new Database(file);
  db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  if (file !== ":memory:") db.pragma("journal_mode = WAL");
  // WAL with synchronous=NORMAL survives a process crash; only an OS crash or power loss can
  // lose the last commits. FULL would cost an fsync per store (BENCHMARKS.md).
  db.pragma("synchronous = NORMAL");
  // SQLite's default 2 MB page cache made reads on a 10M-row table 1.9x slower than on 10k rows
  // and made each cleanup batch re-read its index pages (BENCHMARKS.md); 64 MB is an upper
  // bound, pages are only held once read.
  db.pragma("cache_size = -65536");
  return db;
}
