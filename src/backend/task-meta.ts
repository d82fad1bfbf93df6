/**
 * Turns a stored row into a TaskMeta: decodes the binary columns and rebuilds stored exceptions.
 */
import { isStoredException, storedToError } from "../codec/exception.js";
import { decodeStored, idsFromTuples } from "../codec/stored.js";
import type { TaskRow } from "../db/driver.js";
import { CorruptValueError } from "../errors.js";
import { EXCEPTION_STATES, PENDING } from "../states.js";
import type { TaskMeta } from "../types.js";

/** What Celery returns for an id it has never seen: PENDING, with nothing else known. */
export function pendingMeta(taskId: string): TaskMeta {
  return {
    taskId, status: PENDING, result: null, traceback: null, dateDone: null, name: null, args: null, kwargs: null,
    worker: null, retries: null, queue: null, parentId: null, groupId: null, children: [], dateUpdated: null, exists: false,
  };
}

/** Decodes a row; throws CorruptValueError (naming task and column) when a value cannot be read. */
export function rowToMeta(row: TaskRow): TaskMeta {
  const status = row.status ?? PENDING;
  let result = decodeStored(row.result, row.taskId, "result");
  if (EXCEPTION_STATES.has(status) && isStoredException(result)) result = storedToError(result, row.traceback);
  const args = decodeStored(row.args, row.taskId, "args");
  const kwargs = decodeStored(row.kwargs, row.taskId, "kwargs");
  if (args !== null && !Array.isArray(args)) throw new CorruptValueError(row.taskId, "args", "expected a list");
  if (kwargs !== null && (typeof kwargs !== "object" || Array.isArray(kwargs))) throw new CorruptValueError(row.taskId, "kwargs", "expected an object");
  return {
    taskId: row.taskId,
    status,
    result,
    traceback: row.traceback,
    dateDone: row.dateDone,
    name: row.name,
    args: args as unknown[] | null,
    kwargs: kwargs as Record<string, unknown> | null,
    worker: row.worker,
    retries: row.retries,
    queue: row.queue,
    parentId: row.parentId,
    groupId: row.groupId,
    children: idsFromTuples(decodeStored(row.children, row.taskId, "children"), row.taskId, "children"),
    dateUpdated: row.dateUpdated,
    exists: true,
  };
}
