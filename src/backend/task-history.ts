/**
 * Turns a history row into a TaskEvent. Exceptions are decoded at read time, with the same
 * codec as the task row, so rows Celery pickled read like taskledger's own.
 */
import { isStoredException, storedToError } from "../codec/exception.js";
import { decodeStored } from "../codec/stored.js";
import type { TaskHistoryRow } from "../db/driver.js";
import { CorruptValueError } from "../errors.js";
import { PENDING } from "../states.js";
import type { TaskEvent } from "../types.js";

/** A history row as an event; an undecodable exception becomes the CorruptValueError in `error`. */
export function historyRowToEvent(row: TaskHistoryRow): TaskEvent {
  let error: Error | null = null;
  if (row.result !== null) {
    try {
      const stored = decodeStored(row.result, row.taskId, "history result");
      if (isStoredException(stored)) error = storedToError(stored, row.traceback);
      else if (stored instanceof Error) error = stored;
    } catch (decodeError) {
      if (!(decodeError instanceof CorruptValueError)) throw decodeError;
      error = decodeError;
    }
  }
  return {
    taskId: row.taskId,
    status: row.status ?? PENDING,
    date: row.date ?? new Date(0),
    worker: row.worker,
    retries: row.retries,
    queue: row.queue,
    error,
    traceback: row.traceback,
  };
}
