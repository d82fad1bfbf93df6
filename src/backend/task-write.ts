/**
 * Turns a store call into the row the driver writes. All encoding happens here, before any SQL,
 * so a value that cannot be encoded fails with nothing written.
 */
import { exceptionToStored, isStoredException, tracebackOf } from "../codec/exception.js";
import { encodeResultIds } from "../codec/stored.js";
import type { ValueFormat } from "../codec/value-format.js";
import type { TaskWrite } from "../db/driver.js";
import { InvalidIdError } from "../errors.js";
import { EXCEPTION_STATES, mayReplace, READY_STATES } from "../states.js";
import type { GroupRow } from "../db/driver.js";
import type { TaskRequest } from "../types.js";

/** Celery's columns are varchar(155). */
export const ID_MAX_LENGTH = 155;
const STATUS_MAX_LENGTH = 50;

export function validateId(id: unknown, kind: "task" | "group"): string {
  if (typeof id !== "string" || id.length === 0) throw new InvalidIdError(kind, id, "ids are non-empty strings");
  if (id.length > ID_MAX_LENGTH) throw new InvalidIdError(kind, id, `it has ${id.length} characters; the column holds ${ID_MAX_LENGTH}`);
  return id;
}

export interface WriteInput {
  taskId: string;
  status: string;
  result?: unknown;
  traceback?: string | null | undefined;
  request?: TaskRequest | null | undefined;
  replaceReady?: boolean | undefined;
  now: Date;
  resultExtended: boolean;
  format: ValueFormat;
}

export function buildTaskWrite(input: WriteInput): TaskWrite {
  const taskId = validateId(input.taskId, "task");
  if (typeof input.status !== "string" || input.status.length === 0 || input.status.length > STATUS_MAX_LENGTH) {
    throw new InvalidIdError("task", taskId, `status must be a non-empty string of at most ${STATUS_MAX_LENGTH} characters`);
  }
  let result = input.result;
  let traceback = input.traceback ?? null;
  // An Error stored in an exception state takes Celery's {exc_type, exc_message, exc_module} form.
  if (EXCEPTION_STATES.has(input.status) && result !== undefined && result !== null && !isStoredException(result)) {
    if (result instanceof Error || typeof result !== "object") {
      traceback ??= tracebackOf(result);
      result = exceptionToStored(result);
    }
  }
  const request = input.request ?? null;
  const parentId = request?.parentId ? validateId(request.parentId, "task") : null;
  const groupId = request?.groupId ? validateId(request.groupId, "group") : null;
  return {
    taskId,
    status: input.status,
    result: input.format.result(result),
    traceback,
    dateDone: READY_STATES.has(input.status) ? input.now : null,
    extended: input.resultExtended && request !== null
      ? {
          name: request.name ?? null,
          args: input.format.args(request.args ?? null),
          kwargs: input.format.args(request.kwargs ?? null),
          worker: request.worker ?? null,
          retries: request.retries ?? null,
          queue: request.queue ?? null,
        }
      : null,
    parentId,
    groupId,
    children: request?.children && request.children.length > 0 ? encodeResultIds(request.children.map((id) => validateId(id, "task"))) : null,
    dateUpdated: input.now,
    replaceReady: input.replaceReady ?? true,
  };
}

/** One write per id: two for one id are folded with the precedence rule the database applies. */
export function foldWrites(writes: readonly TaskWrite[]): TaskWrite[] {
  const byId = new Map<string, TaskWrite>();
  for (const write of writes) {
    const previous = byId.get(write.taskId);
    if (!previous || mayReplace(previous.status, write.status)) byId.set(write.taskId, write);
  }
  return [...byId.values()];
}

/** A saved group's row: its member ids encoded as Celery's group tuple. */
export function groupRow(groupId: string, resultIds: readonly string[], format: ValueFormat, now: Date): GroupRow {
  validateId(groupId, "group");
  return { groupId, result: format.group(groupId, resultIds.map((id) => validateId(id, "task"))), dateDone: now };
}
