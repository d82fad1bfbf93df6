/**
 * The DatabaseBackend: Celery's backend contract (store_result, mark_as_*, get_task_meta, forget,
 * save/restore/delete_group, cleanup) over a Driver, in TypeScript's conventions. It knows no
 * dialect: everything dialect-specific is behind src/db.
 */
import { EventEmitter } from "node:events";
import { exceptionToStored, tracebackOf } from "../codec/exception.js";
import { decodeStored, idsFromGroupTuple } from "../codec/stored.js";
import type { ResolvedOptions } from "../config.js";
import type { Driver, MigrationStatus, TaskWrite } from "../db/driver.js";
import { runCleanup, type CleanupOptions } from "../cleanup/cleaner.js";
import { explainRetention } from "../cleanup/explain.js";
import { BackendClosedError, CorruptValueError, TaskRevokedError } from "../errors.js";
import { FAILURE, mayReplace, RETRY, REVOKED, STARTED, SUCCESS, type TaskState } from "../states.js";
import type { CleanupReport, RetentionExplanation, SavedGroup, StoreItem, TaskHold, TaskMeta, TaskRequest } from "../types.js";
import { TaskAuditor } from "./auditor.js";
import { ChangeHub } from "./change-hub.js";
import { withRetry } from "./retry.js";
import { pendingMeta, rowToMeta } from "./task-meta.js";
import { buildTaskWrite, validateId } from "./task-write.js";

export interface StoreOptions {
  traceback?: string | null;
  request?: TaskRequest | null;
  /** Write only if the task is not ready yet (a finished task keeps its outcome). */
  onlyIfUnready?: boolean;
  /** The clock, for tests and replays. */
  now?: Date;
}

/** A TaskMeta, or the error that kept a stored row from being decoded. */
export type MetaOrCorrupt = TaskMeta | CorruptValueError;

export interface BackendEvents {
  /** Task ids whose rows this backend just committed (the same-process wake-up for waiters). */
  stored: [taskIds: readonly string[]];
}

export class DatabaseBackend {
  /** Emits `stored` after each committed write from this process. */
  readonly events = new EventEmitter<BackendEvents>();
  /** Wakes waiters (get(), join()) when their tasks change; see change-hub.ts. */
  readonly changes: ChangeHub;
  /** Listing, counting, stats and export over stored tasks (the CLI's audit commands). */
  readonly audit: TaskAuditor;
  private closed = false;

  constructor(
    readonly driver: Driver,
    readonly options: ResolvedOptions,
  ) {
    this.events.setMaxListeners(0);
    this.changes = new ChangeHub(driver);
    this.events.on("stored", (ids) => this.changes.notify(ids));
    this.audit = new TaskAuditor(driver, driver.tables, (operation, attempt) => this.retrying(operation, undefined, attempt));
  }

  /** "postgresql" or "sqlite". */
  get dialect() {
    return this.driver.dialect;
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
  async storeResult(taskId: string, result: unknown, state: TaskState, options: StoreOptions = {}): Promise<boolean> {
    const write = this.toWrite({ taskId, status: state, result, traceback: options.traceback, request: options.request }, options.now);
    return this.storeWrite({ ...write, replaceReady: !options.onlyIfUnready });
  }

  /** STARTED, with optional meta (for example `{ pid, hostname }`) as its result. */
  markAsStarted(taskId: string, meta: Record<string, unknown> | null = null, options: StoreOptions = {}): Promise<boolean> {
    return this.storeResult(taskId, meta, STARTED, options);
  }

  markAsDone(taskId: string, result: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.storeResult(taskId, result, SUCCESS, options);
  }

  /** FAILURE with the error's type, module, message and (unless given) its stack as traceback. */
  markAsFailure(taskId: string, error: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.storeResult(taskId, error, FAILURE, { ...options, traceback: options.traceback ?? tracebackOf(error) });
  }

  markAsRetry(taskId: string, error: unknown, options: StoreOptions = {}): Promise<boolean> {
    return this.storeResult(taskId, error, RETRY, { ...options, traceback: options.traceback ?? tracebackOf(error) });
  }

  /**
   * REVOKED with a TaskRevokedError. With `onlyIfUnready`, a task that already finished keeps its
   * outcome (what a client-side revoke wants); otherwise it follows the ready-replaces-ready rule.
   */
  markAsRevoked(taskId: string, reason = "revoked", options: StoreOptions = {}): Promise<boolean> {
    return this.storeResult(taskId, exceptionToStored(new TaskRevokedError(reason)), REVOKED, options);
  }

  /**
   * Stores many results with as few statements as the dialect allows (one on PostgreSQL). Two
   * items for one id are folded first with the same precedence rule the database applies.
   */
  async storeMany(items: readonly StoreItem[], options: { now?: Date } = {}): Promise<number> {
    const byId = new Map<string, TaskWrite>();
    for (const item of items) {
      const write = this.toWrite(item, options.now);
      const previous = byId.get(write.taskId);
      if (!previous || mayReplace(previous.status, write.status)) byId.set(write.taskId, write);
    }
    if (byId.size === 0) return 0;
    const writes = [...byId.values()];
    const written = await this.retrying("storeMany", `${writes.length} tasks`, () => this.driver.taskStoreMany(writes));
    this.events.emit("stored", [...byId.keys()]);
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
   */
  async getManyTaskMeta(taskIds: readonly string[]): Promise<Map<string, MetaOrCorrupt>> {
    const unique = [...new Set(taskIds.map((id) => validateId(id, "task")))];
    const rows = await this.retrying("getManyTaskMeta", `${unique.length} tasks`, () => this.driver.taskGetMany(unique));
    const found = new Map(rows.map((row) => [row.taskId, row]));
    const metas = new Map<string, MetaOrCorrupt>();
    for (const id of unique) {
      const row = found.get(id);
      if (!row) metas.set(id, pendingMeta(id));
      else {
        try {
          metas.set(id, rowToMeta(row));
        } catch (error) {
          if (!(error instanceof CorruptValueError)) throw error;
          metas.set(id, error);
        }
      }
    }
    return metas;
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

  /** Saves a group's result ids (overwriting an earlier save of the same group). */
  async saveGroup(groupId: string, resultIds: readonly string[], options: { now?: Date } = {}): Promise<void> {
    validateId(groupId, "group");
    const result = this.options.valueFormat.group(groupId, resultIds.map((id) => validateId(id, "task")));
    await this.retrying("saveGroup", groupId, () => this.driver.groupSave({ groupId, result, dateDone: options.now ?? new Date() }));
  }

  /** A saved group, or null when none was saved under the id. */
  async restoreGroup(groupId: string): Promise<SavedGroup | null> {
    validateId(groupId, "group");
    const row = await this.retrying("restoreGroup", groupId, () => this.driver.groupGet(groupId));
    if (!row) return null;
    return { groupId, results: idsFromGroupTuple(decodeStored(row.result, groupId, "group result"), groupId), dateDone: row.dateDone };
  }

  /** Deletes a saved group (not its tasks); returns whether it existed. */
  deleteGroup(groupId: string): Promise<boolean> {
    validateId(groupId, "group");
    return this.retrying("deleteGroup", groupId, () => this.driver.groupDelete(groupId));
  }

  /** Deletes expired task and group rows in bounded batches; see CleanupOptions. */
  cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
    return runCleanup(this.driver, this.options.resultExpiresMs, options, (operation, attempt) => this.retrying(operation, undefined, attempt));
  }

  /**
   * For each task, the retention rule that governs its row and when cleanup may delete it, under
   * the same `expires`, `keep` and `rules` a cleanup would get (#12).
   */
  explainRetention(taskIds: readonly string[], options: Pick<CleanupOptions, "expires" | "keep" | "rules"> = {}): Promise<RetentionExplanation[]> {
    const ids = [...new Set(taskIds.map((id) => validateId(id, "task")))];
    return explainRetention(this.driver, this.options.resultExpiresMs, ids, options, (operation, attempt) => this.retrying(operation, undefined, attempt));
  }

  /**
   * Places a legal hold on tasks (#12): their rows survive every retention rule until released.
   * An id may be held before its task runs. Idempotent; returns how many holds are new.
   */
  hold(taskIds: string | readonly string[], options: { reason?: string | null; now?: Date } = {}): Promise<number> {
    const ids = [...new Set((typeof taskIds === "string" ? [taskIds] : [...taskIds]).map((id) => validateId(id, "task")))];
    return this.retrying("hold", ids.length === 1 ? ids[0] : `${ids.length} tasks`, () => this.driver.taskHold({ taskIds: ids, now: options.now ?? new Date(), reason: options.reason ?? null }));
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

  /** Applies pending migrations under the migration lock; returns applied and pending tags. */
  migrate(): Promise<MigrationStatus> {
    return this.retrying("migrate", undefined, () => this.driver.migrate());
  }

  /**
   * Creates the archive tier (#12; `taskledger migrate --archive`), idempotently: on PostgreSQL a
   * table partitioned by each row's expiry, with this month's and next month's partitions; on
   * SQLite a plain table. Without it the database stays as Celery's plus taskledger's migrations.
   */
  createArchive(options: { now?: Date } = {}): Promise<void> {
    return this.retrying("createArchive", undefined, () => this.driver.archiveCreate(options.now ?? new Date()));
  }

  /** Whether this database has the archive tier. */
  hasArchive(): Promise<boolean> {
    return this.retrying("hasArchive", undefined, () => this.driver.archiveEnabled());
  }

  /** What migrations are applied and pending, without changing anything. */
  migrationStatus(): Promise<MigrationStatus> {
    return this.retrying("migrationStatus", undefined, () => this.driver.migrationStatus());
  }

  /** Closes the pool or file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.removeAllListeners();
    await this.changes.close();
    await this.driver.close();
  }

  private toWrite(item: Omit<StoreItem, "traceback"> & { traceback?: string | null | undefined }, now: Date | undefined): TaskWrite {
    return buildTaskWrite({
      taskId: item.taskId, status: item.status, result: item.result, traceback: item.traceback, request: item.request,
      now: now ?? new Date(), resultExtended: this.options.resultExtended, format: this.options.valueFormat,
    });
  }

  private async storeWrite(write: TaskWrite): Promise<boolean> {
    const written = await this.retrying("storeResult", write.taskId, () => this.driver.taskStore(write));
    if (written) this.events.emit("stored", [write.taskId]);
    return written;
  }

  private retrying<T>(operation: string, subject: string | undefined, attempt: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BackendClosedError(operation));
    return withRetry(this.options.retry, (error) => this.driver.isTransient(error), operation, subject, attempt);
  }
}
