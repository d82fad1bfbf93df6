/**
 * What the API returns for tasks and groups, shared by the JSON routes, the live feed and
 * the pages. Values go through toPlain (bigints, bytes, errors become JSON); a corrupt row keeps
 * its readable columns and says why the rest could not be decoded.
 */
import type { DatabaseBackend } from "../backend/database-backend.js";
import type { ListedTask, TaskAuditor } from "../backend/auditor.js";
import { describeFailure, failureKey } from "../backend/failure-groups.js";
import { taskColumns, taskRecord } from "../backend/task-records.js";
import { READY_STATES } from "../states.js";
import type { WebFilters } from "./filters.js";
import { loadHistory } from "./history.js";

/** A row of the tasks list: the columns a table shows, no values. */
export interface TaskSummary {
  task_id: string;
  status: string | null;
  name: string | null;
  worker: string | null;
  queue: string | null;
  retries: number | null;
  date_done: string | null;
  date_updated: string | null;
  group_id: string | null;
  /** "Type: message" for FAILURE/RETRY rows. */
  exception: string | null;
  /** Why the row's values could not be decoded, or null. */
  corrupt: string | null;
}

export function taskSummary(entry: ListedTask): TaskSummary {
  const row = entry.row;
  const failed = row.status === "FAILURE" || row.status === "RETRY";
  let exception: string | null = null;
  if (failed && !entry.corrupt) {
    const { type, message } = describeFailure(entry);
    exception = failureKey(type, message);
  }
  return {
    ...taskColumns(row),
    group_id: row.groupId,
    exception,
    corrupt: entry.corrupt ? entry.corrupt.message : null,
  };
}

/** Every field of one task (the Task page and GET /api/tasks/:id). */
export async function taskDetail(backend: DatabaseBackend, entry: ListedTask): Promise<Record<string, unknown>> {
  const record = taskRecord(entry);
  const failure = entry.meta?.result instanceof Error ? describeFailure(entry) : null;
  const rawResult =
    entry.corrupt && entry.row.result
      ? { bytes: entry.row.result.length, hex_prefix: entry.row.result.subarray(0, 64).toString("hex") }
      : null;
  return {
    ...record,
    exists: true,
    ready: entry.row.status !== null && READY_STATES.has(entry.row.status),
    exception: failure,
    corrupt: entry.corrupt ? entry.corrupt.message : null,
    raw_result: rawResult,
    history: await loadHistory(backend, entry.row.taskId),
  };
}

/**
 * One page of the tasks list. With an `error` filter ("Type: message" from a failure group) the
 * FAILURE rows are decoded and matched here, a page of 500 at a time, at most `scanLimit` rows
 * per request; `next` then resumes where the scan stopped.
 */
export async function listPage(
  audit: TaskAuditor,
  filters: WebFilters,
  scanLimit = 20_000,
): Promise<{ items: ListedTask[]; next: string | null }> {
  if (!filters.error) return audit.page(filters.query, { limit: filters.limit, before: filters.before });
  const items: ListedTask[] = [];
  let before = filters.before;
  let scanned = 0;
  for (;;) {
    const page = await audit.page(filters.query, { limit: 500, before });
    for (const entry of page.items) {
      const { type, message } = describeFailure(entry);
      if (failureKey(type, message) === filters.error) items.push(entry);
      if (items.length === filters.limit) return { items, next: page.next === null && entry === page.items.at(-1) ? null : entry.cursor };
    }
    scanned += page.items.length;
    if (page.next === null) return { items, next: null };
    before = page.next;
    if (scanned >= scanLimit) return { items, next: before };
  }
}
