/**
 * Celery's mark_as_* family, written once over a storeResult: the backend's (its own connection)
 * and a transaction writer's (the caller's transaction) both extend it. Each method returns
 * what storeResult returns, as it returns it, so a writer that throws synchronously (SQLite,
 * inside better-sqlite3's synchronous transactions) keeps doing so.
 */
import { exceptionToStored, tracebackOf } from "../codec/exception.js";
import { TaskRevokedError } from "../errors.js";
import { FAILURE, PENDING, RETRY, REVOKED, STARTED, SUCCESS, type TaskState } from "../states.js";
import type { TaskRequest } from "../types.js";

export interface StoreOptions {
  traceback?: string | null;
  request?: TaskRequest | null;
  /** Write only if the task is not ready yet (a finished task keeps its outcome). */
  onlyIfUnready?: boolean;
  /** The clock, for tests and replays. */
  now?: Date;
}

export abstract class MarkAs {
  /**
   * Stores a task's state and result in one statement. An unready state (STARTED, RETRY, …) never
   * replaces a ready row (SUCCESS, FAILURE, REVOKED), even when writers race; returns whether
   * the row was written.
   */
  abstract storeResult(taskId: string, result: unknown, state: TaskState, options?: StoreOptions): Promise<boolean>;

  /**
   * PENDING with the request, written by the producer when it sends the task: the history
   * then knows the send time, so queue time (sent to started) can be measured. Never replaces a
   * row a worker already wrote, so a fast worker's STARTED is not undone.
   */
  markAsSent(taskId: string, request: TaskRequest | null = null, options: StoreOptions = {}): Promise<boolean> {
    return this.storeResult(taskId, null, PENDING, { ...options, request });
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
}
