/**
 * Both dialects select the same columns under the same names, so one mapping turns a raw row
 * into a TaskRow.
 */
import type { TaskHistoryRow, TaskRow } from "./driver.js";
import { fromNaiveUtc } from "./naive-utc.js";

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
  return {
    taskId: r.task_id, status: r.status, result: r.result, traceback: r.traceback, dateDone: fromNaiveUtc(r.date_done),
    name: r.name, args: r.args, kwargs: r.kwargs, worker: r.worker, retries: r.retries, queue: r.queue,
    children: r.children, parentId: r.parent_id, groupId: r.group_id, dateUpdated: fromNaiveUtc(r.date_updated),
  };
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
  return { taskId: r.task_id, status: r.status, date: fromNaiveUtc(r.date), worker: r.worker, retries: r.retries, queue: r.queue, result: r.result, traceback: r.traceback };
}
