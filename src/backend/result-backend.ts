/**
 * What results (src/result) and workers (src/worker) need from a backend: reads,
 * the mark-as life cycle, groups, and waiting for changes. DatabaseBackend implements it; those
 * folders depend on this contract, never on the concrete class or its driver.
 */
import type { CorruptValueError } from "../errors.js";
import type { TaskState } from "../states.js";
import type { ResultTuple, SavedGroup, TaskEvent, TaskMeta, TaskRequest } from "../types.js";
import type { Subscription } from "./change-hub.js";
import type { StoreOptions } from "./mark-as.js";
import type { TransactionWriter } from "./transaction-writer.js";
import type { TransactionLike } from "../db/external.js";

export type { Subscription };

/** A TaskMeta, or the error that kept a stored row from being decoded. */
export type MetaOrCorrupt = TaskMeta | CorruptValueError;

export interface ResultBackend {
  /** A task's meta; an unknown id reads as PENDING. Throws CorruptValueError for an unreadable row. */
  getTaskMeta(taskId: string): Promise<TaskMeta>;
  /** Many tasks' meta in one read, keyed by id; a corrupt row is its error in its slot. */
  getManyTaskMeta(taskIds: readonly string[], options?: { retryBudgetMs?: number }): Promise<Map<string, MetaOrCorrupt>>;
  getTaskHistory(taskId: string): Promise<TaskEvent[]>;
  exists(taskId: string): Promise<boolean>;
  forget(taskIds: string | readonly string[]): Promise<number>;

  storeResult(taskId: string, result: unknown, state: TaskState, options?: StoreOptions): Promise<boolean>;
  markAsSent(taskId: string, request?: TaskRequest | null, options?: StoreOptions): Promise<boolean>;
  markAsStarted(taskId: string, meta?: Record<string, unknown> | null, options?: StoreOptions): Promise<boolean>;
  markAsDone(taskId: string, result: unknown, options?: StoreOptions): Promise<boolean>;
  markAsFailure(taskId: string, error: unknown, options?: StoreOptions): Promise<boolean>;
  markAsRetry(taskId: string, error: unknown, options?: StoreOptions): Promise<boolean>;
  markAsRevoked(taskId: string, reason?: string, options?: StoreOptions): Promise<boolean>;

  saveGroup(
    groupId: string,
    members: readonly (string | ResultTuple)[],
    options?: { now?: Date; parent?: ResultTuple | null },
  ): Promise<void>;
  restoreGroup(groupId: string): Promise<SavedGroup | null>;
  deleteGroup(groupId: string): Promise<boolean>;

  /** A writer whose stores commit or roll back with the application's transaction `tx`. */
  inTransaction(tx: TransactionLike): TransactionWriter;
  /**
   * How to run a transaction on `on` when its transactions are synchronous (better-sqlite3, or
   * drizzle over it): nothing inside can await. undefined for any other connection.
   */
  synchronousTransaction<Tx>(on: unknown): (<R>(body: (tx: Tx) => R) => R) | undefined;

  /**
   * Watches task ids for committed changes, from this process or any other writer: subscribe
   * before reading, so a change between the read and the wait is not missed.
   */
  subscribe(taskIds: Iterable<string>): Promise<Subscription>;
  /** Whether close() was called; waiters stop on it. */
  readonly isClosed: boolean;
}
