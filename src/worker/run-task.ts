/**
 * The worker's side: runs a task function for a request and records its life in the backend.
 * STARTED (when asked), then SUCCESS with the value, FAILURE with the error and its stack, or
 * RETRY when the function calls ctx.retry(). A task already REVOKED is not run; one revoked while
 * running sees ctx.signal abort (revokes reach it pushed, like get()'s wake-ups). Inside the
 * function get() refuses to block (see result/context.ts).
 */
import { hostname } from "node:os";
import type { ResultBackend } from "../backend/result-backend.js";
import { parseDuration, type Duration } from "../config.js";
import { SynchronousTransactionError, TaskRevokedError } from "../errors.js";
import { runInTaskContext } from "../result/task-context.js";
import { REVOKED, RETRY, FAILURE, SUCCESS, isReady } from "../states.js";
import type { TaskRequest } from "../types.js";
import { Retry } from "./retry-signal.js";

/** A task delivered to a worker: its id plus what Celery calls the request. */
export interface RunRequest extends TaskRequest {
  id: string;
  /** Store nothing for this run (Celery's request-level ignore_result); see RunTaskOptions.ignoreResult. */
  ignoreResult?: boolean;
}

export interface TaskContext<Tx = undefined> {
  id: string;
  /**
   * The application's transaction the function runs in, when runTask was given `transaction`:
   * do the task's business writes on it, and its result is recorded in it too.
   */
  tx: Tx;
  request: RunRequest;
  /** Aborts when the task is revoked while it runs. */
  signal: AbortSignal;
  /** Records a task this one spawned, so children() and collect() find it. */
  addChild(taskId: string): void;
  /** Asks for another attempt: throws the Retry signal, which runTask records as RETRY. */
  retry(options?: { reason?: unknown; countdown?: Duration }): never;
}

export interface RunTaskOptions<Tx = undefined> {
  /**
   * Runs the function and records its success inside one application transaction: anything
   * with drizzle's `transaction(body)` method, such as a drizzle database (or your own wrapper of
   * BEGIN … COMMIT on a pool client). The function gets the transaction as `ctx.tx` for its
   * business writes, and the SUCCESS row commits with them. When the function throws, the
   * transaction rolls back and the failure (or retry) is recorded outside it, so a failed attempt
   * leaves no business effect but its failure.
   *
   * Over better-sqlite3 (drizzle(sqlite), or the Database itself) transactions are synchronous:
   * the task function must be synchronous too, and runs with the SUCCESS row inside the one
   * synchronous transaction. An async function is refused before anything is written, and a
   * function that returns a promise rolls back, with SynchronousTransactionError either way and
   * nothing recorded for the task.
   */
  transactionOn?: { transaction<R>(body: (tx: Tx) => Promise<R>): Promise<R> };
  /** Record STARTED before running (Celery's task_track_started). Default false. */
  trackStarted?: boolean;
  /** How often a running task re-checks for a revoke if no wake-up arrives. Default 1 s. */
  revokeCheckInterval?: Duration;
  /**
   * Write nothing: no STARTED, no SUCCESS, no FAILURE or RETRY (Celery's ignore_result, which
   * also turns task_track_started off). Callers reading the id see PENDING. Default false.
   */
  ignoreResult?: boolean;
  /** With ignoreResult, still record FAILURE and RETRY (Celery's store_errors_even_if_ignored). */
  storeErrorsEvenIfIgnored?: boolean;
}

export type TaskOutcome<T> =
  | { taskId: string; status: typeof SUCCESS; result: T }
  | { taskId: string; status: typeof FAILURE; error: unknown }
  | { taskId: string; status: typeof RETRY; error: Error; countdownMs: number | null }
  | { taskId: string; status: typeof REVOKED; ran: boolean };

const REVOKE_CHECK_DEFAULT_MS = 1_000;

export async function runTask<T, Tx = undefined>(
  backend: ResultBackend,
  request: RunRequest,
  fn: (ctx: TaskContext<Tx>) => T | Promise<T>,
  options: RunTaskOptions<Tx> = {},
): Promise<TaskOutcome<T>> {
  const taskId = request.id;
  const synchronous = options.transactionOn ? backend.synchronousTransaction<Tx>(options.transactionOn) : undefined;
  // Refused before anything is written: an async function would run on outside the transaction
  // once the synchronous transaction had returned (and, before, was recorded as a FAILURE).
  if (synchronous && Object.prototype.toString.call(fn) === "[object AsyncFunction]") throw new SynchronousTransactionError(taskId);
  const { ignoreResult: requestIgnores, ...fields } = request;
  const stored: TaskRequest = { worker: `taskledger@${hostname()}`, ...fields };
  const ignoreResult = options.ignoreResult === true || requestIgnores === true;
  const storeErrors = !ignoreResult || options.storeErrorsEvenIfIgnored === true;
  const before = await backend.getTaskMeta(taskId);
  if (before.status === REVOKED) return { taskId, status: REVOKED, ran: false };
  if (options.trackStarted && !ignoreResult) {
    const written = await backend.markAsStarted(
      taskId,
      { pid: process.pid, hostname: stored.worker },
      { request: stored, onlyIfUnready: true },
    );
    if (!written && (await backend.getTaskMeta(taskId)).status === REVOKED) return { taskId, status: REVOKED, ran: false };
  }

  const controller = new AbortController();
  const children: string[] = [...(request.children ?? [])];
  const stopWatching = await watchForRevoke(
    backend,
    taskId,
    controller,
    parseDuration(options.revokeCheckInterval ?? REVOKE_CHECK_DEFAULT_MS, "revokeCheckInterval"),
  );
  const ctx: TaskContext<Tx> = {
    id: taskId,
    tx: undefined as Tx,
    request,
    signal: controller.signal,
    addChild: (id) => void children.push(id),
    retry: ({ reason, countdown } = {}) => {
      const error = reason instanceof Error ? reason : new Error(reason === undefined ? "retry" : String(reason));
      throw new Retry(error, countdown === undefined ? null : parseDuration(countdown, "countdown"));
    },
  };
  const finalRequest = () => ({ ...stored, children });
  try {
    let value: T;
    let recorded: boolean | undefined; // set when the SUCCESS row was written in the caller's transaction
    try {
      if (synchronous) {
        value = synchronous((tx) => {
          const result = runInTaskContext(taskId, () => fn({ ...ctx, tx }));
          if (isThenable(result)) {
            // It runs on after this transaction has rolled back; nobody awaits it, so its
            // rejection must not float.
            Promise.resolve(result).catch(() => undefined);
            throw new SynchronousTransactionError(taskId);
          }
          if (controller.signal.aborted) throw controller.signal.reason;
          recorded = backend
            .inTransaction(tx as object)
            .storeResultNow(taskId, result, SUCCESS, { request: finalRequest(), onlyIfUnready: true });
          if (recorded === false) throw new TaskRevokedError("revoked while running");
          return result;
        });
      } else if (options.transactionOn) {
        value = await options.transactionOn.transaction(async (tx) => {
          const result = await runInTaskContext(taskId, () => fn({ ...ctx, tx }));
          if (controller.signal.aborted) throw controller.signal.reason;
          recorded = await backend.inTransaction(tx as object).markAsDone(taskId, result, { request: finalRequest(), onlyIfUnready: true });
          // Revoked meanwhile: roll the business effect back with the result.
          if (!recorded) throw new TaskRevokedError("revoked while running");
          return result;
        });
      } else {
        value = await runInTaskContext(taskId, () => fn(ctx));
      }
    } catch (error) {
      if (error instanceof SynchronousTransactionError) throw error; // a misuse, not the task's failure
      if (controller.signal.aborted || (recorded === false && error instanceof TaskRevokedError))
        return { taskId, status: REVOKED, ran: true };
      if (error instanceof Retry) {
        if (storeErrors)
          await backend.markAsRetry(taskId, error.reason, {
            request: { ...finalRequest(), retries: (request.retries ?? 0) + 1 },
            onlyIfUnready: true,
          });
        return { taskId, status: RETRY, error: error.reason, countdownMs: error.countdownMs };
      }
      // A revoke that lands now wins: the failure is written only over an unready row.
      if (storeErrors) await backend.markAsFailure(taskId, error, { request: finalRequest(), onlyIfUnready: true });
      return { taskId, status: FAILURE, error };
    }
    if (recorded) return { taskId, status: SUCCESS, result: value };
    if (controller.signal.aborted) return { taskId, status: REVOKED, ran: true };
    if (ignoreResult) return { taskId, status: SUCCESS, result: value };
    const written = await backend.markAsDone(taskId, value, { request: finalRequest(), onlyIfUnready: true });
    if (!written && (await backend.getTaskMeta(taskId)).status === REVOKED) return { taskId, status: REVOKED, ran: true };
    return { taskId, status: SUCCESS, result: value };
  } finally {
    stopWatching();
  }
}

/** Aborts `controller` when the task's row turns REVOKED; woken by the backend's change hub. */
async function watchForRevoke(
  backend: ResultBackend,
  taskId: string,
  controller: AbortController,
  intervalMs: number,
): Promise<() => void> {
  const subscription = await backend.subscribe([taskId]);
  let stopped = false;
  void (async () => {
    while (!stopped) {
      await subscription.wait(intervalMs);
      if (stopped) break;
      try {
        const meta = await backend.getTaskMeta(taskId);
        if (meta.status === REVOKED) {
          const reason = meta.result instanceof Error ? meta.result.message : "revoked";
          controller.abort(new TaskRevokedError(reason));
          break;
        }
        if (isReady(meta.status)) break;
      } catch {
        // a transient read failure: check again on the next wake-up
      }
    }
    subscription.close();
  })();
  return () => {
    stopped = true;
    subscription.close();
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}
