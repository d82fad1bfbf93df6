/**
 * The DatabaseBackend: Celery's backend contract (store_result, mark_as_*, get_task_meta, forget,
 * save/restore/delete_group, cleanup) over a Driver, in TypeScript's conventions. It knows no
 * dialect: everything dialect-specific is behind src/db.
 */
import { EventEmitter } from "node:events";
import { decodeStored, groupTupleFrom, leafIds } from "../codec/stored.js";
import type { ResolvedOptions } from "../config.js";
import type { DistributeReport, Driver, MigrationStatus, TaskWrite } from "../db/driver.js";
import { runCleanup, type CleanupOptions } from "../cleanup/cleaner.js";
import { CleanupJob, type CleanupJobOptions } from "../cleanup/job.js";
import { describeRetention, durationText } from "../cleanup/retention-text.js";
import { explainRetention } from "../cleanup/explain.js";
import { BackendClosedError, DistributeError } from "../errors.js";
import type { TaskState } from "../states.js";
import type { CleanupReport, ResultTuple, RetentionExplanation, SavedGroup, StoreItem, TaskEvent, TaskHold, TaskMeta } from "../types.js";
import { historyRowToEvent } from "./task-history.js";
import { decodeListed, TaskAuditor, type ListedTask } from "./auditor.js";
import { ChangeHub } from "./change-hub.js";
import { MarkAs, type StoreOptions } from "./mark-as.js";
import { withRetry } from "./retry.js";
import { pendingMeta, rowToMeta } from "./task-meta.js";
import { buildTaskWrite, foldWrites, groupRow, validateId } from "./task-write.js";
import { TransactionWriter } from "./transaction-writer.js";
import { synchronousTransaction, type TransactionLike } from "../db/external.js";
import type { MetaOrCorrupt, ResultBackend, Subscription } from "./result-backend.js";
import type { WebhookDispatcher, WebhookDispatcherOptions } from "./webhook-dispatcher.js";
import { checkedWebhook, startDispatcher, toDeadLetter, type AddWebhookOptions, type DeadLetter, type Webhook } from "./webhooks.js";
import type { TaskHistoryEntry } from "../db/driver.js";

export type { StoreOptions } from "./mark-as.js";

export type { MetaOrCorrupt };

export interface BackendEvents {
  /** Task ids whose rows this backend just committed (the same-process wake-up for waiters). */
  stored: [taskIds: readonly string[]];
}

export class DatabaseBackend extends MarkAs implements ResultBackend {
  /** Emits `stored` after each committed write from this process. */
  readonly events = new EventEmitter<BackendEvents>();
  /** Wakes waiters (get(), join()) when their tasks change; see change-hub.ts. */
  private readonly changes: ChangeHub;
  /** Listing, counting, stats and export over stored tasks (the CLI's audit commands). */
  readonly audit: TaskAuditor;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly jobs = new Set<CleanupJob>();
  private readonly dispatchers = new Set<WebhookDispatcher>();

  /** Where audit reads go: a read replica's driver (readUrl), else the backend's own. */
  private readonly reader: Driver;

  constructor(
    private readonly driver: Driver,
    readonly options: ResolvedOptions,
    reader?: Driver,
  ) {
    super();
    this.reader = reader ?? driver;
    this.events.setMaxListeners(0);
    this.changes = new ChangeHub(driver);
    this.events.on("stored", (ids) => this.changes.notify(ids));
    this.audit = new TaskAuditor(
      this.reader,
      (operation, attempt) => this.retrying(operation, undefined, attempt),
      (taskIds) => this.readMany("show", taskIds, undefined, this.reader),
    );
  }

  /** "postgresql", "sqlite" or "mysql"; code that must take another path asks `capabilities` instead. */
  get dialect() {
    return this.driver.dialect;
  }

  /**
   * What the database can do (pushed changes, concurrent writers, partitioned archive, session
   * locks): for code and tests that must take a different path, instead of naming the dialect.
   */
  get capabilities() {
    return this.driver.capabilities;
  }

  /** Whether audit reads (`audit`) go to a read replica (readUrl) rather than the database itself. */
  get readsReplica(): boolean {
    return this.reader !== this.driver;
  }

  /** The database URL with any password masked. */
  get url(): string {
    return this.options.target.display;
  }

  get resultExpiresMs(): number | null {
    return this.options.resultExpiresMs;
  }

  /**
   * Stores a task's state and result in one statement. An unready state (STARTED, RETRY, …) never
   * replaces a ready row (SUCCESS, FAILURE, REVOKED), even when writers race; returns whether
   * the row was written.
   */
  override async storeResult(taskId: string, result: unknown, state: TaskState, options: StoreOptions = {}): Promise<boolean> {
    const write = this.toWrite({ taskId, status: state, result, traceback: options.traceback, request: options.request }, options.now);
    return this.storeWrite({ ...write, replaceReady: !options.onlyIfUnready });
  }

  /**
   * Stores many results with as few statements as the dialect allows (one on PostgreSQL). Two
   * items for one id are folded first with the same precedence rule the database applies.
   */
  async storeMany(items: readonly StoreItem[], options: { now?: Date } = {}): Promise<number> {
    const now = options.now ?? new Date();
    const writes = foldWrites(items.map((item) => this.toWrite(item, now)));
    if (writes.length === 0) return 0;
    const written = await this.retrying("storeMany", `${writes.length} tasks`, () => this.driver.taskStoreMany(writes));
    this.events.emit(
      "stored",
      writes.map((w) => w.taskId),
    );
    return written;
  }

  /** A task's meta; an unknown id reads as PENDING. Throws CorruptValueError for an unreadable row. */
  async getTaskMeta(taskId: string): Promise<TaskMeta> {
    validateId(taskId, "task");
    const row = await this.retrying("getTaskMeta", taskId, () => this.driver.taskGet(taskId));
    return row ? rowToMeta(row) : pendingMeta(taskId);
  }

  /**
   * Many tasks' meta in one query, keyed by id, in the order asked. Unknown ids read as PENDING;
   * a row that cannot be decoded is a CorruptValueError in its slot rather than a thrown error.
   * `retryBudgetMs` shortens the retry budget for this call (a waiter near its timeout).
   */
  async getManyTaskMeta(taskIds: readonly string[], options: { retryBudgetMs?: number } = {}): Promise<Map<string, MetaOrCorrupt>> {
    const found = await this.readMany("getManyTaskMeta", taskIds, options.retryBudgetMs);
    const metas = new Map<string, MetaOrCorrupt>();
    for (const id of new Set(taskIds)) {
      const entry = found.get(id);
      metas.set(id, !entry ? pendingMeta(id) : (entry.meta ?? entry.corrupt));
    }
    return metas;
  }

  /**
   * The one many-read: the stored rows of these ids in one query, each decoded once,
   * with the raw row kept beside its meta (or beside why it could not be decoded). Unknown ids
   * are absent. getManyTaskMeta, `show` and the web view's task pages all read through it.
   */
  private async readMany(
    operation: string,
    taskIds: readonly string[],
    retryBudgetMs?: number,
    driver: Driver = this.driver,
  ): Promise<Map<string, ListedTask>> {
    const unique = [...new Set(taskIds.map((id) => validateId(id, "task")))];
    const rows = await this.retrying(operation, `${unique.length} tasks`, () => driver.taskGetMany(unique), retryBudgetMs);
    return new Map(rows.map((row) => [row.taskId, decodeListed(0, row)]));
  }

  /**
   * Every recorded change of a task's state, oldest first: the history triggers' rows,
   * whoever wrote them. Empty for an unknown id, a forgotten or cleaned-up task, or while history
   * is switched off.
   */
  async getTaskHistory(taskId: string): Promise<TaskEvent[]> {
    validateId(taskId, "task");
    const rows = await this.retrying("getTaskHistory", taskId, () => this.driver.taskHistory(taskId));
    return rows.map(historyRowToEvent);
  }

  /** Whether the database keeps history (its history triggers are installed). */
  historyEnabled(): Promise<boolean> {
    return this.retrying("historyEnabled", undefined, () => this.driver.historyEnabled());
  }

  /**
   * Switches history on or off for the whole database (every writer): installs or drops the
   * history triggers. Rows already kept stay until their task goes. Returns whether it changed.
   */
  setHistory(on: boolean): Promise<boolean> {
    return this.retrying("setHistory", undefined, () => this.driver.historySet(on));
  }

  /** Whether a row exists for the id (unknown and PENDING both read as PENDING otherwise). */
  exists(taskId: string): Promise<boolean> {
    validateId(taskId, "task");
    return this.retrying("exists", taskId, () => this.driver.taskExists(taskId));
  }

  /** Deletes the rows of one or more tasks; returns how many existed. */
  forget(taskIds: string | readonly string[]): Promise<number> {
    const ids = (typeof taskIds === "string" ? [taskIds] : [...taskIds]).map((id) => validateId(id, "task"));
    return this.retrying("forget", ids.length === 1 ? ids[0] : `${ids.length} tasks`, () => this.driver.taskForget(ids));
  }

  /**
   * Saves a group (overwriting an earlier save of the same group). Members are task ids or
   * as_tuple() trees, so a nested group stays a group; `parent` is the group's own parent.
   * Stored in Celery's form: the as_tuple() tree (JSON) or a pickled GroupResult (celeryCompatible).
   */
  async saveGroup(
    groupId: string,
    members: readonly (string | ResultTuple)[],
    options: { now?: Date; parent?: ResultTuple | null } = {},
  ): Promise<void> {
    const row = groupRow(groupId, members, options.parent ?? null, this.options.valueFormat, options.now ?? new Date());
    await this.retrying("saveGroup", groupId, () => this.driver.groupSave(row));
  }

  /** A saved group, or null when none was saved under the id. */
  async restoreGroup(groupId: string): Promise<SavedGroup | null> {
    validateId(groupId, "group");
    const row = await this.retrying("restoreGroup", groupId, () => this.driver.groupGet(groupId));
    if (!row) return null;
    const tuple = groupTupleFrom(decodeStored(row.result, groupId, "group result"), groupId);
    return { groupId, results: leafIds(tuple), tuple, dateDone: row.dateDone };
  }

  /** Deletes a saved group (not its tasks); returns whether it existed. */
  deleteGroup(groupId: string): Promise<boolean> {
    validateId(groupId, "group");
    return this.retrying("deleteGroup", groupId, () => this.driver.groupDelete(groupId));
  }

  /** Deletes expired task and group rows in bounded batches; see CleanupOptions. */
  cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
    return runCleanup(this.driver, this.options.resultExpiresMs, options, (operation, attempt) =>
      this.retrying(operation, undefined, attempt),
    );
  }

  /**
   * Starts the cleanup job: runs `cleanup()` with the given options within a few seconds
   * and then every `every` (± jitter), one run at a time across processes, skipping a tick when
   * another cleanup holds the lock. Errors go to `onError` and never escape. The timer does not
   * keep the process alive. `close()` stops every job, waiting for a run to reach a batch boundary.
   */
  startCleanupJob(options: CleanupJobOptions): CleanupJob {
    if (this.closed || this.closing) throw new BackendClosedError("startCleanupJob");
    const job: CleanupJob = new CleanupJob(
      (cleanupOptions) => this.cleanup(cleanupOptions),
      (cleanupOptions) => describeRetention(this.expiresText(cleanupOptions.expires), cleanupOptions),
      options,
      () => this.jobs.delete(job),
    );
    this.jobs.add(job);
    return job;
  }

  private expiresText(expires: CleanupOptions["expires"]): string | null {
    if (expires === undefined) return this.options.resultExpiresMs === null ? null : durationText(this.options.resultExpiresMs);
    return expires === null || expires === 0 ? null : String(expires);
  }

  /**
   * For each task, the retention rule that governs its row and when cleanup may delete it, under
   * the same `expires`, `keep`, `rules` and `customStates` a cleanup would get.
   */
  explainRetention(
    taskIds: readonly string[],
    options: Pick<CleanupOptions, "expires" | "keep" | "rules" | "customStates"> = {},
  ): Promise<RetentionExplanation[]> {
    const ids = [...new Set(taskIds.map((id) => validateId(id, "task")))];
    return explainRetention(this.driver, this.options.resultExpiresMs, ids, options, (operation, attempt) =>
      this.retrying(operation, undefined, attempt),
    );
  }

  /**
   * Places a legal hold on tasks: their rows survive every retention rule until released.
   * An id may be held before its task runs. Idempotent; returns how many holds are new.
   */
  hold(taskIds: string | readonly string[], options: { reason?: string | null; now?: Date } = {}): Promise<number> {
    const ids = [...new Set((typeof taskIds === "string" ? [taskIds] : [...taskIds]).map((id) => validateId(id, "task")))];
    return this.retrying("hold", ids.length === 1 ? ids[0] : `${ids.length} tasks`, () =>
      this.driver.taskHold({ taskIds: ids, now: options.now ?? new Date(), reason: options.reason ?? null }),
    );
  }

  /** Lifts legal holds; returns how many there were. Retention applies again from the next cleanup. */
  release(taskIds: string | readonly string[]): Promise<number> {
    const ids = [...new Set((typeof taskIds === "string" ? [taskIds] : [...taskIds]).map((id) => validateId(id, "task")))];
    return this.retrying("release", ids.length === 1 ? ids[0] : `${ids.length} tasks`, () => this.driver.taskRelease(ids));
  }

  /** The holds among these task ids. */
  holds(taskIds: string | readonly string[]): Promise<TaskHold[]> {
    const ids = [...new Set((typeof taskIds === "string" ? [taskIds] : [...taskIds]).map((id) => validateId(id, "task")))];
    return this.retrying("holds", undefined, () => this.driver.taskHolds(ids));
  }

  /**
   * Applies pending migrations under the migration lock; returns applied and pending tags. With
   * `distribute`, then sets the tables up for a Citus cluster as distribute() does.
   */
  async migrate(options: { distribute?: boolean } = {}): Promise<MigrationStatus> {
    const status = await this.retrying("migrate", undefined, () => this.driver.migrate());
    if (options.distribute) await this.distribute();
    return status;
  }

  /**
   * Distributes the migrated tables on a Citus coordinator (`taskledger migrate --distribute`):
   * every table by task id and co-located, the Citus form of the history triggers, waking by
   * taskledger's own NOTIFY on the coordinator (README, Scaling out). Idempotent. Throws
   * DistributeError on a server without Citus, on a Citus worker, or on a database that has no
   * such profile.
   */
  async distribute(): Promise<DistributeReport> {
    const driver = this.driver;
    const distribute = driver.distribute;
    if (!distribute)
      throw new DistributeError(
        `${this.url} cannot be distributed: --distribute needs PostgreSQL with the Citus extension, on the coordinator. Run migrate without it here.`,
      );
    return this.retrying("distribute", undefined, () => distribute.call(driver));
  }

  /**
   * Creates the archive tier (`taskledger migrate --archive`), idempotently: on PostgreSQL a
   * table partitioned by each row's expiry, with this month's and next month's partitions; on
   * SQLite a plain table. Without it the database stays as Celery's plus taskledger's migrations.
   */
  createArchive(options: { now?: Date } = {}): Promise<void> {
    return this.retrying("createArchive", undefined, () => this.driver.archiveCreate(options.now ?? new Date()));
  }

  /**
   * Widens columns narrower than taskledger makes them (`taskledger migrate --widen`): on MySQL, the
   * BLOB, TEXT and DATETIME columns of a table Celery created become LONGBLOB, LONGTEXT and
   * DATETIME(6), which Celery reads the same. Returns the statements run (none elsewhere).
   */
  widenColumns(): Promise<string[]> {
    return this.retrying("widenColumns", undefined, async () => (await this.driver.widenColumns?.()) ?? []);
  }

  /** Whether this database has the archive tier. */
  hasArchive(): Promise<boolean> {
    return this.retrying("hasArchive", undefined, () => this.driver.archiveEnabled());
  }

  /** What migrations are applied and pending, without changing anything. */
  migrationStatus(): Promise<MigrationStatus> {
    return this.retrying("migrationStatus", undefined, () => this.driver.migrationStatus());
  }

  /**
   * A writer bound to a transaction the application opened: `tx` is a node-postgres client
   * after BEGIN, a better-sqlite3 Database inside a transaction, or a drizzle transaction
   * (`db.transaction(async (tx) => …)`), on this backend's database. Its stores commit or roll
   * back with the application's own writes, and wake waiters only once committed. On SQLite each
   * call has run its statement before it returns (better-sqlite3 transactions are synchronous).
   * Throws NotInTransactionError when `tx` is not inside an open transaction.
   */
  inTransaction(tx: TransactionLike): TransactionWriter {
    if (this.closed) throw new BackendClosedError("inTransaction");
    return new TransactionWriter(this.driver.inTransaction(tx), this.driver, this.options, (ids) => this.events.emit("stored", ids));
  }
  /** See ResultBackend.synchronousTransaction: recognised by shape in db/, where connections are known. */
  synchronousTransaction<Tx>(on: unknown): (<R>(body: (tx: Tx) => R) => R) | undefined {
    return synchronousTransaction<Tx>(on);
  }

  /** Stops any cleanup job (waiting for its run to reach a batch boundary), then closes the pool or file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    // Jobs first: their run in progress still needs the connection to finish its batch.
    await Promise.all([...this.jobs].map((job) => job.stop()));
    await Promise.all([...this.dispatchers].map((d) => d.stop()));
    this.closed = true;
    this.events.removeAllListeners();
    await this.changes.close();
    await this.driver.close();
    if (this.reader !== this.driver) await this.reader.close();
  }

  private toWrite(item: Omit<StoreItem, "traceback"> & { traceback?: string | null | undefined }, now: Date | undefined): TaskWrite {
    return buildTaskWrite({
      taskId: item.taskId,
      status: item.status,
      result: item.result,
      traceback: item.traceback,
      request: item.request,
      now: now ?? new Date(),
      resultExtended: this.options.resultExtended,
      format: this.options.valueFormat,
    });
  }

  private async storeWrite(write: TaskWrite): Promise<boolean> {
    const written = await this.retrying("storeResult", write.taskId, () => this.driver.taskStore(write));
    if (written) this.events.emit("stored", [write.taskId]);
    return written;
  }

  /**
   * Registers a webhook: from the next commit on, each ready state (SUCCESS, FAILURE, REVOKED) of
   * a matching task, written by any writer, is queued in the database's outbox and POSTed by a
   * dispatcher (startWebhookDispatcher(), `taskledger webhooks dispatch`). Returns its id and
   * its signing secret: the only time the secret is handed back.
   */
  async addWebhook(options: AddWebhookOptions): Promise<{ id: number; secret: string }> {
    const checked = checkedWebhook(options);
    const id = await this.retrying("addWebhook", undefined, () => this.driver.webhookAdd({ ...checked, now: new Date() }));
    return { id, secret: checked.secret };
  }

  /** Every webhook, oldest first, with its pending and dead deliveries (never its secret). */
  async listWebhooks(): Promise<Webhook[]> {
    const rows = await this.retrying("listWebhooks", undefined, () => this.driver.webhookList());
    return rows.map(({ secret: _secret, ...row }) => row);
  }

  /** Removes webhooks with their pending deliveries and dead letters; returns how many existed. */
  removeWebhooks(ids: number | readonly number[]): Promise<number> {
    const list = typeof ids === "number" ? [ids] : [...ids];
    return this.retrying("removeWebhooks", undefined, () => this.driver.webhookRemove(list));
  }

  /** Deliveries given up on, most recent first. */
  async deadLetters(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const rows = await this.retrying("deadLetters", undefined, () => this.driver.webhookDeadLetters({ limit: options.limit ?? 100 }));
    return rows.map(toDeadLetter);
  }

  /** Queues dead letters for delivery again with a fresh count of attempts (all when `ids` is absent); returns how many. */
  replayDeadLetters(ids?: readonly number[]): Promise<number> {
    return this.retrying("replayDeadLetters", undefined, () => this.driver.webhookReplay({ ids: ids ? [...ids] : null }));
  }

  /**
   * Starts delivering webhooks from this process. Several processes may start one: one delivers
   * at a time (a named lock), the others stand by and take over when it stops or dies. `close()`
   * stops it too. See WebhookDispatcherOptions.
   */
  startWebhookDispatcher(options: WebhookDispatcherOptions = {}): WebhookDispatcher {
    if (this.closed || this.closing) throw new BackendClosedError("startWebhookDispatcher");
    const dispatcher = startDispatcher(this.driver, options, (d) => this.dispatchers.delete(d));
    this.dispatchers.add(dispatcher);
    return dispatcher;
  }

  /** History rows of these tasks after `afterId`, oldest first (status streams resume from an id). */
  historyAfter(taskIds: readonly string[], afterId: number, limit = 500): Promise<TaskHistoryEntry[]> {
    return this.retrying("historyAfter", undefined, () => this.driver.taskHistoryAfter({ taskIds, afterId, limit }));
  }

  /** The latest history id among these tasks (0 for none): where a new status stream starts. */
  latestHistoryId(taskIds: readonly string[]): Promise<number> {
    return this.retrying("latestHistoryId", undefined, () => this.driver.taskHistoryLatestId(taskIds));
  }

  /** Whether close() was called; waiters stop on it. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Watches task ids for committed changes (stores from this process, and other writers' commits:
   * pushed on PostgreSQL, polled on SQLite). Subscribe before reading; close the subscription after.
   */
  subscribe(taskIds: Iterable<string>): Promise<Subscription> {
    return this.changes.subscribe(taskIds);
  }

  /** How many waiters are subscribed now, their registration committed (for tests and the fault suite's progress lines). */
  get waiterCount(): number {
    return this.changes.size;
  }

  private retrying<T>(operation: string, subject: string | undefined, attempt: () => Promise<T>, budgetMs?: number): Promise<T> {
    if (this.closed) return Promise.reject(new BackendClosedError(operation));
    const retry =
      budgetMs === undefined ? this.options.retry : { ...this.options.retry, budgetMs: Math.min(budgetMs, this.options.retry.budgetMs) };
    // A retry that wakes after close() ends with BackendClosedError, not with the closed pool's error.
    const guarded = () => (this.closed ? Promise.reject(new BackendClosedError(operation)) : attempt());
    return withRetry(retry, (error) => this.driver.isTransient(error), operation, subject, guarded);
  }
}
