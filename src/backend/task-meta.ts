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
    taskId,
    status: PENDING,
    result: null,
    traceback: null,
    dateDone: null,
    name: null,
    args: null,
    kwargs: null,
    worker: null,
    retries: null,
    queue: null,
    parentId: null,
    groupId: null,
    children: [],
    dateUpdated: null,
    exists: false,
  };
}

/**
 * Decodes a row; throws CorruptValueError (naming task and column) when a value cannot be read.
 * Any failure while decoding a column, whatever threw it, is that row's CorruptValueError, so a
 * bad row is reported in place and never stops a listing.
 */
export function rowToMeta(row: TaskRow): TaskMeta {
  const wrong = row.mistyped?.[0];
  if (wrong)
    throw new CorruptValueError(row.taskId, wrong.column, `it is stored as ${wrong.storedAs}, but the column holds ${wrong.expected}`);
  const status = row.status ?? PENDING;
  const result = column(row, "result", () => {
    const value = decodeStored(row.result, row.taskId, "result");
    return EXCEPTION_STATES.has(status) && isStoredException(value) ? storedToError(value, row.traceback) : value;
  });
  const args = column(row, "args", () => decodeStored(row.args, row.taskId, "args"));
  const kwargs = column(row, "kwargs", () => decodeStored(row.kwargs, row.taskId, "kwargs"));
  if (args !== null && !Array.isArray(args)) throw new CorruptValueError(row.taskId, "args", "expected a list");
  if (kwargs !== null && (typeof kwargs !== "object" || Array.isArray(kwargs)))
    throw new CorruptValueError(row.taskId, "kwargs", "expected an object");
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
    children: column(row, "children", () => idsFromTuples(decodeStored(row.children, row.taskId, "children"), row.taskId, "children")),
    dateUpdated: row.dateUpdated,
    exists: true,
  };
}

/** Runs one column's decoding; an unexpected error (a stored exception whose message is an object that cannot become text) is that column's CorruptValueError. */
function column<T>(row: TaskRow, name: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof CorruptValueError) throw error;
    throw new CorruptValueError(
      row.taskId,
      name,
      `the stored value cannot be rebuilt (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
