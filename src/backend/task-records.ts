/**
 * A listed task as a flat record, shared by the CLI (show, list, export) and the web view (its
 * JSON API and downloads): decoded values made JSON-safe (bigints become decimal strings, which
 * JSON.stringify refuses; bytes base64; Errors their stored form; Maps and Sets objects and
 * arrays), and the same record as a CSV line.
 */
import { exceptionToStored } from "../codec/exception.js";
import type { ListedTask } from "./auditor.js";

export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString("base64") };
  if (value instanceof Error) {
    const stored = exceptionToStored(value);
    return { exc_type: stored.exc_type, exc_module: stored.exc_module, exc_message: stored.exc_message.map(toPlain) };
  }
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v)]));
  if (value instanceof Set) return [...value].map(toPlain);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === "object") {
    const described = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof described === "function" && Object.getPrototypeOf(value) !== Object.prototype) return toPlain(described.call(value));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/** The plain columns every flat form of a task starts with (records, the web view's list rows). */
export function taskColumns(row: ListedTask["row"]) {
  return {
    task_id: row.taskId,
    status: row.status,
    name: row.name,
    worker: row.worker,
    queue: row.queue,
    retries: row.retries,
    date_done: row.dateDone?.toISOString() ?? null,
    date_updated: row.dateUpdated?.toISOString() ?? null,
  };
}

/** A listed task as a flat record for JSON lines and CSV. */
export function taskRecord(entry: ListedTask): Record<string, unknown> {
  const row = entry.row;
  const base = { ...taskColumns(row), parent_id: row.parentId, group_id: row.groupId };
  if (entry.corrupt) {
    return { ...base, args: null, kwargs: null, children: null, result: null, traceback: row.traceback, error: entry.corrupt.message };
  }
  const meta = entry.meta;
  return {
    ...base,
    args: toPlain(meta.args),
    kwargs: toPlain(meta.kwargs),
    children: meta.children,
    result: toPlain(meta.result),
    traceback: meta.traceback,
    error: null,
  };
}

/** The CSV columns of a task record, in order. */
export const CSV_COLUMNS = [
  "task_id",
  "status",
  "name",
  "worker",
  "queue",
  "retries",
  "date_done",
  "date_updated",
  "parent_id",
  "group_id",
  "args",
  "kwargs",
  "children",
  "result",
  "traceback",
  "error",
];

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : typeof value === "number" ? String(value) : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A task record as one CSV line (newline included), cells in CSV_COLUMNS order. */
export function csvLine(record: Record<string, unknown>): string {
  return `${CSV_COLUMNS.map((column) => csvCell(record[column])).join(",")}\n`;
}
