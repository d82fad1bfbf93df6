/**
 * Turns a store call into the row the driver writes. All encoding happens here, before any SQL,
 * so a value that cannot be encoded fails with nothing written.
 */
import { exceptionToStored, isStoredException, tracebackOf, type StoredException } from "../codec/exception.js";
import { encodeResultIds } from "../codec/stored.js";
import type { ValueFormat } from "../codec/value-format.js";
import type { TaskWrite } from "../db/driver.js";
import { InvalidIdError, TaskledgerError } from "../errors.js";
import { EXCEPTION_STATES, mayReplace, READY_STATES } from "../states.js";
import type { GroupRow } from "../db/driver.js";
import type { ResultTuple, TaskRequest } from "../types.js";

/** Celery's columns are varchar(155). */
export const ID_MAX_LENGTH = 155;
const STATUS_MAX_LENGTH = 50;

/**
 * Checks an id before anything is written or read. Ids must be well-formed Unicode without NUL:
 * PostgreSQL turns a lone surrogate into U+FFFD, so `x\uD800` and `x\uDC00` would share one row
 * and one task would read the other's result, and it refuses NUL outright. The length is
 * counted in characters (code points), as varchar(155) counts them, not in UTF-16 units.
 */
export function validateId(id: unknown, kind: "task" | "group"): string {
  if (typeof id !== "string" || id.length === 0) throw new InvalidIdError(kind, id, "ids are non-empty strings");
  if (LONE_SURROGATE.test(id))
    throw new InvalidIdError(kind, id, "it is not well-formed Unicode (it holds a lone surrogate); use ids such as UUIDs");
  if (id.includes("\0")) throw new InvalidIdError(kind, id, "it contains a NUL character, which the database cannot store");
  if (id.length > ID_MAX_LENGTH) {
    const characters = countCharacters(id);
    if (characters > ID_MAX_LENGTH)
      throw new InvalidIdError(kind, id, `it has ${characters} characters; the column holds ${ID_MAX_LENGTH}`);
  }
  return id;
}

/** With the `u` flag a paired surrogate is one code point, so only a lone one matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Code points, as PostgreSQL's varchar counts them (an emoji is one character, two UTF-16 units). */
function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
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
  let traceback = input.traceback ?? null;
  // Tagged here, once: in an exception state an Error (or a bare message) takes
  // Celery's {exc_type, exc_message, exc_module} form and is written as an exception; anything
  // else, in any state, is plain data, even a SUCCESS result shaped like {exc_type: …}.
  const result = input.result;
  let stored: StoredException | undefined;
  if (EXCEPTION_STATES.has(input.status) && result !== undefined && result !== null) {
    if (isStoredException(result)) stored = normalizedException(result);
    else if (result instanceof Error || typeof result !== "object") {
      traceback ??= tracebackOf(result);
      stored = exceptionToStored(result);
    }
  }
  const request = input.request ?? null;
  const parentId = request?.parentId ? validateId(request.parentId, "task") : null;
  const groupId = request?.groupId ? validateId(request.groupId, "group") : null;
  return {
    taskId,
    status: input.status,
    result: stored ? input.format.exception(stored) : input.format.result(result),
    traceback,
    dateDone: READY_STATES.has(input.status) ? input.now : null,
    extended:
      input.resultExtended && request !== null
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
    children:
      request?.children && request.children.length > 0 ? encodeResultIds(request.children.map((id) => validateId(id, "task"))) : null,
    dateUpdated: input.now,
    replaceReady: input.replaceReady ?? true,
  };
}

/**
 * A caller's own {exc_type, …} value (Celery's form, e.g. relayed from another worker): a single
 * message becomes the one-argument list Celery's exc_message holds.
 */
function normalizedException(value: StoredException): StoredException {
  const message: unknown = value.exc_message;
  if (Array.isArray(message)) return value;
  return { ...value, exc_message: message === undefined || message === null ? [] : [message] };
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
/**
 * A group's row: members are task ids or as_tuple() trees (a nested group stays a group) and
 * `parent` is the group's own parent, every id checked before anything is written.
 */
export function groupRow(
  groupId: string,
  members: readonly (string | ResultTuple)[],
  parent: ResultTuple | null,
  format: ValueFormat,
  now: Date,
): GroupRow {
  validateId(groupId, "group");
  const tuple: ResultTuple = [
    [groupId, parent ? checkedTuple(parent) : null],
    members.map((m) => (typeof m === "string" ? [[validateId(m, "task"), null], null] : checkedTuple(m))),
  ];
  return { groupId, result: format.group(tuple), dateDone: now };
}

/** A caller's as_tuple() tree with every id checked (a group's id as a group id), before anything is written. */
function checkedTuple(tuple: ResultTuple): ResultTuple {
  if (!Array.isArray(tuple) || !Array.isArray(tuple[0]) || (tuple[1] !== null && !Array.isArray(tuple[1]))) {
    throw new TaskledgerError("not a result tuple: expected [[id, parent], children] or a task id");
  }
  const [[id, parent], members] = tuple;
  return [
    [validateId(id, members === null ? "task" : "group"), parent ? checkedTuple(parent) : null],
    members === null
      ? null
      : members.map((member) => (typeof member === "string" ? [[validateId(member, "task"), null], null] : checkedTuple(member))),
  ];
}
