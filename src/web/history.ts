/**
 * The task page's state timeline comes from the task JSON's `history` field, filled here and
 * only here, from `backend.getTaskHistory` (the history of every state change): this function
 * calls it when the backend has it and returns [] otherwise.
 */
import type { DatabaseBackend } from "../backend/database-backend.js";

/** One state change as JSON (a TaskEvent of src/types.ts, dates as ISO text, errors as type + message). */
export interface HistoryEventJson {
  taskId: string;
  status: string;
  date: string | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  error: { type: string; message: string } | null;
  traceback: string | null;
}

interface TaskEventLike {
  taskId: string;
  status: string;
  date: Date | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
  error?: Error | null;
  traceback?: string | null;
}

/** A task's state history, oldest first; [] where the database keeps none. Read where audits read (a replica, with readUrl). */
export async function loadHistory(backend: DatabaseBackend, taskId: string): Promise<HistoryEventJson[]> {
  const events: TaskEventLike[] = await backend.audit.history(taskId);
  return events.map((e) => ({
    taskId: e.taskId,
    status: e.status,
    date: e.date ? e.date.toISOString() : null,
    worker: e.worker ?? null,
    retries: e.retries ?? null,
    queue: e.queue ?? null,
    error: e.error ? { type: (e.error as Error & { excType?: string }).excType ?? e.error.name, message: e.error.message } : null,
    traceback: e.traceback ?? null,
  }));
}
