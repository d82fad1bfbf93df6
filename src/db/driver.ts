/**
 * The database seam. Each dialect implements Driver once (src/db/pg, src/db/sqlite); everything
 * above src/db speaks only these entity-first methods and never sees SQL, drizzle or a driver.
 * Values cross this seam already encoded (bytes) and dates as JS Dates in UTC.
 */
import type { Tables } from "./tables.js";
import type {
  ArchiveMoveParams,
  ArchiveRule,
  AuditReads,
  Capabilities,
  ChangeListener,
  DeleteByRuleParams,
  DeleteExpiredParams,
  Dialect,
  DistributeReport,
  GroupRow,
  HoldRow,
  LockName,
  MigrationStatus,
  OutboxRow,
  ReplicaStatus,
  TaskHistoryEntry,
  TaskHistoryRow,
  TaskRow,
  TaskWrite,
  WebhookMatch,
  WebhookRow,
} from "./types.js";

export type * from "./types.js";

/**
 * A subscription to other connections' commits. `ready` settles once changes are being watched
 * (PostgreSQL: LISTEN is in place). Watching may pause while nobody waits.
 */
export interface ChangeWatch {
  readonly ready: Promise<void>;
  pause(): void;
  resume(): void;
  /**
   * Registers interest in these ids (PostgreSQL: rows in the interest table, so the notify
   * trigger notifies for them); settles once the registration is committed, or failed (the
   * waiter's bounded re-read covers that). Nothing to do on SQLite.
   */
  watch(taskIds: readonly string[]): Promise<void>;
  /** Withdraws interest in ids nobody in this process waits for any longer. */
  unwatch(taskIds: readonly string[]): void;
  close(): Promise<void>;
}

/** A named lock held until released; see Driver.lock. */
export interface HeldLock {
  release(): Promise<void>;
  /** Set when the lock was taken over from a holder found dead: who that was. */
  readonly takenOverFrom?: string;
  /** True once the lock was found lost (its heartbeat could not be renewed): stop at the next batch. */
  lost(): boolean;
}

/**
 * Writes inside a transaction the application opened and will commit or roll back. The
 * statements are the driver's own, so guards and triggers apply as to any store.
 */
export interface TransactionDriver {
  taskStore(write: TaskWrite): Promise<boolean>;
  /**
   * taskStore's answer at once, where the caller's transactions are synchronous (better-sqlite3):
   * a synchronous transaction must decide to roll back before it returns. Absent elsewhere.
   */
  taskStoreNow?(write: TaskWrite): boolean;
  taskStoreMany(writes: readonly TaskWrite[]): Promise<number>;
  groupSave(row: GroupRow): Promise<void>;
  /**
   * Resolves once the caller's transaction has ended (committed or rolled back), for databases
   * that cannot push commits (SQLite); undefined where the commit itself wakes waiters (NOTIFY).
   */
  ended(): Promise<void> | undefined;
}

export interface Driver {
  readonly dialect: Dialect;
  /** What this dialect can do; see Capabilities. */
  readonly capabilities: Capabilities;
  /** The configured table, sequence and schema names. */
  readonly tables: Tables;

  /** Upserts one task; false when the precedence guard kept the existing row. */
  taskStore(write: TaskWrite): Promise<boolean>;
  /** Upserts many tasks in as few statements as the dialect allows; returns rows written. */
  taskStoreMany(writes: readonly TaskWrite[]): Promise<number>;
  taskGet(taskId: string): Promise<TaskRow | undefined>;
  /** One query for all ids; rows come back in no particular order, missing ids are absent. */
  taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]>;
  taskExists(taskId: string): Promise<boolean>;
  taskForget(taskIds: readonly string[]): Promise<number>;
  /** The history rows of one task, oldest first. */
  taskHistory(taskId: string): Promise<TaskHistoryRow[]>;
  /**
   * History rows of these tasks with an id above `afterId`, oldest first, at most `limit`: what a
   * status stream has not sent yet. The hot tier only (a stream follows live tasks).
   */
  taskHistoryAfter(params: { taskIds: readonly string[]; afterId: number; limit: number }): Promise<TaskHistoryEntry[]>;
  /** The highest history id among these tasks, 0 when they have none: where a new stream starts. */
  taskHistoryLatestId(taskIds: readonly string[]): Promise<number>;
  /** Whether the history triggers are installed. */
  historyEnabled(): Promise<boolean>;
  /** Installs (true) or drops (false) the history triggers; returns whether anything changed. */
  historySet(on: boolean): Promise<boolean>;
  /** Deletes one bounded batch of expired task rows (date_done index); returns the count. */
  taskDeleteExpired(params: DeleteExpiredParams): Promise<number>;
  /**
   * Deletes one bounded batch of the rows a retention rule governs that finished before
   * `before`, oldest first; held rows never go. Returns the count.
   */
  taskDeleteByRule(params: DeleteByRuleParams): Promise<number>;
  /** Places holds (idempotent: an existing hold keeps its time and reason); returns how many are new. */
  taskHold(params: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number>;
  /** Lifts holds; returns how many there were. */
  taskRelease(taskIds: readonly string[]): Promise<number>;
  /** The holds among these ids. */
  taskHolds(taskIds: readonly string[]): Promise<HoldRow[]>;
  /** Whether the archive tier exists here (checked at run time, cached briefly). */
  archiveEnabled(): Promise<boolean>;
  /** Creates the archive tier (idempotent; `migrate --archive`). */
  archiveCreate(now: Date): Promise<void>;
  /**
   * Makes ready what moves into the archive need (PostgreSQL: the partitions their expiry lands
   * in). Returns what it could not do because the archive stayed locked; moves must then wait
   * for the next run.
   */
  archivePrepare(params: { now: Date; maxKeepMs: number }): Promise<string[]>;
  /**
   * Moves one bounded batch of finished rows done before `before` into the archive, each filed
   * under its expiry by the ranked rules, atomically (one statement on PostgreSQL, one
   * transaction on SQLite). Returns the count.
   */
  taskArchive(params: ArchiveMoveParams): Promise<number>;
  /** Expires the archive: whole partitions on PostgreSQL, bounded batches on SQLite. */
  archiveExpire(params: {
    ranked: readonly ArchiveRule[];
    now: Date;
    limit: number;
    maxKeepMs: number;
  }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean; deferred?: string[] }>;
  /** The dry run's twin of taskDeleteExpired: how many rows it would delete, on the same predicate. */
  taskCountExpired(params: Omit<DeleteExpiredParams, "limit">): Promise<number>;
  /** The dry run's twin of taskDeleteByRule. */
  taskCountByRule(params: Omit<DeleteByRuleParams, "limit">): Promise<number>;
  /** The dry run's twin of taskArchive: finished rows done before `before` that expiry under `ranked` at `now` leaves. */
  taskCountArchivable(params: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number>;
  /** The dry run's twin of taskDeleteStale. */
  taskCountStale(params: { before: Date }): Promise<number>;
  /** The dry run's twin of archiveExpire: archived rows it would remove now. */
  archiveCountExpired(params: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number>;
  /** Deletes one bounded batch of unready rows (date_done NULL) last written before `before`. */
  taskDeleteStale(params: { before: Date; limit: number }): Promise<number>;
  /** Gives unready rows that have no date_updated (written by Celery) one, so they can age. */
  taskStampUnaged(params: { now: Date; limit: number }): Promise<number>;

  groupSave(row: GroupRow): Promise<void>;
  groupGet(groupId: string): Promise<GroupRow | undefined>;
  groupDelete(groupId: string): Promise<boolean>;
  groupDeleteExpired(params: { before: Date; limit: number }): Promise<number>;
  /** The dry run's twin of groupDeleteExpired. */
  groupCountExpired(params: { before: Date }): Promise<number>;

  /**
   * Binds writes to a caller's open transaction: a node-postgres client, a better-sqlite3
   * Database or a drizzle transaction (see ./external.ts). Throws NotInTransactionError or
   * InvalidClientError for anything else.
   */
  inTransaction(tx: unknown): TransactionDriver;
  /** Whether the configured task and group tables exist. */
  tablesExist(): Promise<boolean>;

  /**
   * Widens value and time columns narrower than taskledger makes them (MySQL: a table Celery
   * created, with BLOB, TEXT and DATETIME(0)), under the migration lock; returns the statements
   * run. Absent where no column can be narrower (PostgreSQL's bytea, SQLite's dynamic types).
   */
  widenColumns?(): Promise<string[]>;
  /** Applies pending migrations under a lock, so concurrent starters all succeed. */
  migrate(): Promise<MigrationStatus>;
  migrationStatus(): Promise<MigrationStatus>;
  /**
   * Sets the migrated tables up for a scaled-out server (PostgreSQL with Citus, on the
   * coordinator), idempotently; absent where a dialect has no such profile. Throws
   * DistributeError where the server cannot take it.
   */
  distribute?(): Promise<DistributeReport>;
  /**
   * Takes the named lock (`cleanup`, and later a metrics collector or a chord dispatcher): one
   * holder per database at a time, across processes and hosts. Undefined when another holder has
   * it and `wait` is false. A session lock on servers that have them (ended by the server with the
   * holder's connection), a heartbeat lease elsewhere (see Capabilities.sessionLocks).
   */
  lock(name: LockName, options: { wait: boolean }): Promise<HeldLock | undefined>;
  /** Who holds the named lock now and whether it is known to be alive, for messages; undefined when free. */
  lockHolder(name: LockName): Promise<string | undefined>;

  /**
   * Registers a webhook; returns its id. From the next commit on, the outbox triggers
   * (migrations/<dialect>/0006_webhooks.sql) write one outbox row per ready state it matches.
   */
  webhookAdd(params: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number>;
  /** Every webhook, oldest first, with its pending and dead outbox counts. */
  webhookList(): Promise<WebhookRow[]>;
  /** Removes webhooks and their outbox rows (dead letters included); returns how many existed. */
  webhookRemove(ids: readonly number[]): Promise<number>;
  /**
   * Claims up to `limit` due outbox rows, oldest first, in one transaction: each is leased until
   * `leaseUntil` (epoch ms), so no other claim takes it meanwhile (PostgreSQL and MySQL: FOR UPDATE
   * SKIP LOCKED; SQLite: the single writer). A lease that runs out (a dispatcher killed) frees its rows.
   */
  webhookClaim(params: { now: number; leaseUntil: number; limit: number }): Promise<OutboxRow[]>;
  /**
   * Ends every lease: called by a dispatcher that has just taken the `webhooks` lock, which proves
   * the previous holder gone, so a killed dispatcher's rows are sent again at once.
   */
  webhookReleaseClaims(): Promise<number>;
  /** Deletes delivered outbox rows. */
  webhookDelivered(ids: readonly number[]): Promise<void>;
  /** Records a failed attempt: retried at `retryAt` (epoch ms), or a dead letter from `deadAt` when null. */
  webhookFailed(params: { id: number; error: string; retryAt: number | null; deadAt: number }): Promise<void>;
  /** Dead letters, most recent first. */
  webhookDeadLetters(params: { limit: number }): Promise<OutboxRow[]>;
  /** Makes dead letters due again with a fresh attempt count (all when `ids` is null); returns how many. */
  webhookReplay(params: { ids: readonly number[] | null }): Promise<number>;

  /**
   * Watches for task rows committed by other connections and processes: pushed per task id on
   * PostgreSQL (LISTEN/NOTIFY, reconnecting when the connection drops), a cheap change check on
   * SQLite (PRAGMA data_version). Writes through this driver are not reported here.
   */
  watchChanges(onChange: ChangeListener): ChangeWatch;

  /** The cold-path audit reads (list, count, stats, the web overview), across both tiers. */
  readonly audit: AuditReads;

  /**
   * Where this connection's database stands as a replica: how far its replay is behind (the age
   * of the last transaction it replayed, 0 when it has replayed all it received) and whether
   * replay is paused; undefined when it is not a replica (a primary, or a dialect without them).
   */
  replicaStatus(): Promise<ReplicaStatus | undefined>;

  /** Whether an error is worth retrying: connection loss, server restart, busy database. */
  isTransient(error: unknown): boolean;
  close(): Promise<void>;
}
