/**
 * The waiting loop shared by AsyncResult.get and ResultSet.join/iterate: subscribe, read all
 * unready tasks in one query, stop or wait for a change (pushed) or the re-read interval
 * (bounded), repeat. A missed notification costs at most one interval, never a hang.
 *
 * A waiter has a deadline, so a database that is briefly away (restart, killed connections)
 * does not end it early: transient read failures are waited out, re-reading with backoff, until
 * the caller's timeout (before waiters had one, 363 of 400 died in a 1.6 s `pg_ctl restart -m fast`).
 * Only the timeout, close() (BackendClosedError) or a non-transient error ends a wait.
 */
import type { MetaOrCorrupt, ResultBackend } from "../backend/result-backend.js";
import { parseDuration, type Duration } from "../config.js";
import { BackendClosedError, DatabaseError, TimeoutError } from "../errors.js";
import { isReady } from "../states.js";
import { assertWillNotBlock } from "./task-context.js";

/** Celery's default polling interval; here only the safety net behind pushed wake-ups. */
export const WAIT_INTERVAL_DEFAULT_MS = 500;

export interface WaitOptions {
  /** Give up after this long with a TimeoutError; default: wait forever. */
  timeout?: Duration | null;
  /** Re-read at least this often even without a wake-up. Default 500 ms. */
  interval?: Duration;
  /** Called after each wait that ended without the result being ready. */
  onInterval?: () => void;
  /** Refuse to wait inside a task (default true); see allowJoinResult(). */
  disableSyncSubtasks?: boolean;
}

export interface ResolvedWait {
  /** performance.now() when waiting began; the timeout counts from here across rounds. */
  startedAt: number;
  timeoutMs: number | null;
  intervalMs: number;
  onInterval: (() => void) | undefined;
}

export function resolveWait(options: WaitOptions): ResolvedWait {
  if (options.disableSyncSubtasks !== false) assertWillNotBlock();
  return {
    startedAt: performance.now(),
    timeoutMs: options.timeout == null ? null : parseDuration(options.timeout, "timeout"),
    intervalMs: Math.max(1, parseDuration(options.interval ?? WAIT_INTERVAL_DEFAULT_MS, "interval")),
    onInterval: options.onInterval,
  };
}

/**
 * Reads `ids` until all are ready, or until `stopAfterRound` says enough. Each round is one query
 * for the ids not yet ready; `onRead` sees every meta read (and may throw to stop). Throws
 * TimeoutError listing what is still pending.
 */
export async function waitUntil(
  backend: ResultBackend,
  ids: readonly string[],
  wait: ResolvedWait,
  onRead: (taskId: string, meta: MetaOrCorrupt) => void,
  stopAfterRound: () => boolean = () => false,
  /** How many tasks the caller waits on in all (a set's ready members are not passed again). */
  total = ids.length,
): Promise<void> {
  let pending = [...new Set(ids)];
  if (pending.length === 0) return;
  const subscription = await backend.subscribe(pending);
  try {
    for (;;) {
      const metas = await readWaitingOut(backend, pending, wait, subscription, total);
      const stillPending: string[] = [];
      for (const id of pending) {
        const meta = metas.get(id)!;
        onRead(id, meta);
        if (!(meta instanceof Error) && !isReady(meta.status)) stillPending.push(id);
      }
      if (stillPending.length === 0 || stopAfterRound()) return;
      if (stillPending.length !== pending.length) subscription.watch(stillPending);
      pending = stillPending;
      const waited = performance.now() - wait.startedAt;
      if (wait.timeoutMs !== null && waited >= wait.timeoutMs) throw new TimeoutError(pending, waited, total);
      const budget = wait.timeoutMs === null ? wait.intervalMs : Math.min(wait.intervalMs, wait.timeoutMs - waited);
      const woken = await subscription.wait(budget);
      if (!woken) wait.onInterval?.();
    }
  } finally {
    subscription.close();
  }
}

/**
 * One read of the pending ids; transient database failures are retried (each read with the
 * backend's own backoff, bounded by the time left) until the waiter's timeout. A wake-up on the
 * subscription (the listener reconnected, or close()) cuts a pause short.
 */
async function readWaitingOut(
  backend: ResultBackend,
  pending: string[],
  wait: ResolvedWait,
  subscription: { wait(ms: number): Promise<boolean> },
  total: number,
): Promise<Map<string, MetaOrCorrupt>> {
  for (;;) {
    const left = wait.timeoutMs === null ? Infinity : wait.timeoutMs - (performance.now() - wait.startedAt);
    try {
      return await backend.getManyTaskMeta(pending, { retryBudgetMs: Math.max(0, left) });
    } catch (error) {
      if (backend.isClosed) throw new BackendClosedError("wait");
      if (!(error instanceof DatabaseError) || !error.transient) throw error;
      const waited = performance.now() - wait.startedAt;
      if (wait.timeoutMs !== null && waited >= wait.timeoutMs) throw new TimeoutError(pending, waited, total, error);
      const pause = Math.min(wait.intervalMs, wait.timeoutMs === null ? Infinity : wait.timeoutMs - waited);
      await subscription.wait(pause);
    }
  }
}
