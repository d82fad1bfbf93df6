/**
 * Both dialects select the same columns under the same names, so one mapping turns a raw row
 * into a TaskRow.
 */
import { fromNaiveUtc, toNaiveUtc } from "./naive-utc.js";
import type { TaskHistoryRow, TaskRow, TaskWrite } from "./types.js";

/** The task table's columns as every read selects them (every dialect, both tiers). */
export const TASK_COLUMNS =
  "task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue, children, parent_id, group_id, date_updated";

/** A write's values in TASK_COLUMNS order, as every dialect's store statements bind them first. */
export function taskColumnValues(w: TaskWrite): unknown[] {
  const x = w.extended;
  return [
    w.taskId,
    w.status,
    w.result,
    w.dateDone && toNaiveUtc(w.dateDone),
    w.traceback,
    x?.name ?? null,
    x?.args ?? null,
    x?.kwargs ?? null,
    x?.worker ?? null,
    x?.retries ?? null,
    x?.queue ?? null,
    w.children,
    w.parentId,
    w.groupId,
    toNaiveUtc(w.dateUpdated),
  ];
}

/** The columns a task row has in both tiers, id first (the archive adds expires_at and archived_at). */
export const TIER_COLUMNS = `id, ${TASK_COLUMNS}`;

export interface RawTaskRow {
  task_id: string;
  status: string | null;
  result: Buffer | null;
  date_done: string | null;
  traceback: string | null;
  name: string | null;
  args: Buffer | null;
  kwargs: Buffer | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  children: Buffer | null;
  parent_id: string | null;
  group_id: string | null;
  date_updated: string | null;
}

export interface RawGroupRow {
  taskset_id: string;
  result: Buffer | null;
  date_done: string | null;
}

export function toTaskRow(r: RawTaskRow): TaskRow {
  const row: TaskRow = {
    taskId: r.task_id,
    status: r.status,
    result: r.result,
    traceback: r.traceback,
    dateDone: fromNaiveUtc(r.date_done),
    name: r.name,
    args: r.args,
    kwargs: r.kwargs,
    worker: r.worker,
    retries: r.retries,
    queue: r.queue,
    children: r.children,
    parentId: r.parent_id,
    groupId: r.group_id,
    dateUpdated: fromNaiveUtc(r.date_updated),
  };
  // SQLite keeps whatever storage class a writer used: a result as TEXT or INTEGER, a traceback as
  // a BLOB. Such a value is taken out of the row and named, so the row is reported as corrupt
  // instead of stopping a listing with a TypeError.
  if (!isBytes(r.result) || !isBytes(r.args) || !isBytes(r.kwargs) || !isBytes(r.children) || !isText(r.traceback))
    return withMistyped(row, r);
  return row;
}

function isBytes(value: unknown): boolean {
  return value === null || value === undefined || Buffer.isBuffer(value);
}

function isText(value: unknown): boolean {
  return value === null || value === undefined || typeof value === "string";
}

function storageClass(value: unknown): string {
  if (typeof value === "string") return "text";
  if (typeof value === "number" || typeof value === "bigint") return "a number";
  if (Buffer.isBuffer(value)) return "bytes";
  return typeof value;
}

function withMistyped(row: TaskRow, r: RawTaskRow): TaskRow {
  const mistyped: { column: string; storedAs: string; expected: string }[] = [];
  const fixed = { ...row };
  for (const column of ["result", "args", "kwargs", "children"] as const) {
    if (!isBytes(r[column])) {
      mistyped.push({ column, storedAs: storageClass(r[column]), expected: "bytes" });
      fixed[column] = null;
    }
  }
  if (!isText(r.traceback)) {
    mistyped.push({ column: "traceback", storedAs: storageClass(r.traceback), expected: "text" });
    fixed.traceback = null;
  }
  return { ...fixed, mistyped };
}

export function toGroupRow(r: RawGroupRow) {
  return { groupId: r.taskset_id, result: r.result, dateDone: fromNaiveUtc(r.date_done) };
}

export interface RawHistoryRow {
  task_id: string;
  status: string | null;
  date: string | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  result: Buffer | null;
  traceback: string | null;
}

export function toHistoryRow(r: RawHistoryRow): TaskHistoryRow {
  return {
    taskId: r.task_id,
    status: r.status,
    date: fromNaiveUtc(r.date),
    worker: r.worker,
    retries: r.retries,
    queue: r.queue,
    result: r.result,
    traceback: r.traceback,
  };
}
