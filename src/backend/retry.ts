/**
 * Bounded exponential backoff with full jitter for transient faults (connection resets, server
 * restarts, SQLITE_BUSY), for as long as the retry budget allows (a time budget, since a
 * count of attempts ran out inside an ordinary restart). Every operation retried here is
 * idempotent (an upsert by task id under the precedence guard, a delete by key, a read), so a
 * retry after an unseen commit writes nothing twice.
 */
import type { RetryOptions } from "../config.js";
import { DatabaseError, TaskledgerError } from "../errors.js";

/** The delay before retry number `attempts` (1-based): doubling from baseDelayMs, capped, jittered. */
export function backoffDelay(retry: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">, attempts: number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(30, attempts - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export async function withRetry<T>(
  retry: RetryOptions,
  isTransient: (error: unknown) => boolean,
  operation: string,
  subject: string | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof TaskledgerError) throw error;
      const transient = isTransient(error);
      const elapsed = performance.now() - started;
      const left = retry.budgetMs - elapsed;
      const capped = retry.maxRetries !== null && attempts > retry.maxRetries;
      if (!transient || left <= 0 || capped) {
        throw new DatabaseError(operation, subject, attempts, { cause: error, transient, elapsedMs: elapsed });
      }
      const delay = Math.min(left, backoffDelay(retry, attempts));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
