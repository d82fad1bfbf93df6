/**
 * Bounded exponential backoff with full jitter for transient faults (connection resets, server
 * restarts, SQLITE_BUSY). Every operation retried here is idempotent (an upsert by task id, a
 * delete by key, a read), so a retry after an unseen commit writes nothing twice.
 */
import type { RetryOptions } from "../config.js";
import { DatabaseError, TaskledgerError } from "../errors.js";

export async function withRetry<T>(
  retry: RetryOptions,
  isTransient: (error: unknown) => boolean,
  operation: string,
  subject: string | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof TaskledgerError) throw error;
      const transient = isTransient(error);
      if (!transient || attempts > retry.maxRetries) throw new DatabaseError(operation, subject, attempts, { cause: error });
      const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempts - 1));
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }
}
