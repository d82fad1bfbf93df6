/**
 * Reading and writing the binary columns: result, args, kwargs, children and group rows.
 * Decoding never throws anything but CorruptValueError, naming the task and column.
 */
import { CorruptValueError } from "../errors.js";
import { jsonTooDeep, unwalkable, VALUE_MAX_DEPTH } from "./depth.js";
import type { ResultTuple } from "../types.js";
import { decodeJsonText, encodeJsonText } from "./json.js";
import { looksLikePickle, PythonResultRef, readPickle } from "./pickle.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a stored value; null stays null (Celery stores a None result as NULL). The format is
 * told per row by its first byte: 0x80 starts a pickle (Celery 5.6 and older pickle `result`
 * whatever the serializer), anything else is JSON (taskledger, and Celery 5.7's serializer).
 */
export function decodeStored(bytes: Buffer | null, subject: string, column: string): unknown {
  if (bytes === null || bytes.length === 0) return null;
  if (looksLikePickle(bytes)) {
    let value: unknown;
    try {
      value = readPickle(bytes);
    } catch (error) {
      throw new CorruptValueError(subject, column, `unreadable Python pickle (${(error as Error).message})`);
    }
    // A pickle may share and contain itself; whoever walks the value next recurses.
    const refused = unwalkable(value);
    if (refused) throw new CorruptValueError(subject, column, `the pickled value cannot be read: ${refused}`);
    return value;
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new CorruptValueError(subject, column, "it is neither UTF-8 JSON nor a pickle");
  }
  if (jsonTooDeep(text)) throw new CorruptValueError(subject, column, `the JSON value nests deeper than ${VALUE_MAX_DEPTH} levels`);
  try {
    return decodeJsonText(text);
  } catch (error) {
    throw new CorruptValueError(subject, column, `invalid JSON (${(error as Error).message})`);
  }
}

/**
 * Result ids as Celery's as_tuple() writes them: `[[id, parent], null]` for one result and
 * `[[groupId, parent], [...members]]` for a group. taskledger writes children and saved groups
 * in this form (what Celery 5.7 writes to its children column and group rows).
 */
export function encodeResultIds(ids: readonly string[]): Buffer {
  return Buffer.from(encodeJsonText(ids.map((id) => [[id, null], null])), "utf8");
}

/** A group row in taskledger's (and Celery 5.7's) form, the as_tuple() tree as JSON. */
export function encodeGroupTuple(tuple: ResultTuple): Buffer {
  return Buffer.from(encodeJsonText(tuple), "utf8");
}

/** Ids out of a list of result tuples; a nested group contributes its members. */
export function idsFromTuples(value: unknown, subject: string, column: string): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new CorruptValueError(subject, column, "expected a list of result tuples");
  const ids: string[] = [];
  for (const item of value) {
    if (typeof item === "string") ids.push(item);
    else if (item instanceof PythonResultRef) ids.push(...leafIds(toResultTuple(item, subject)));
    else if (Array.isArray(item) && Array.isArray(item[0]) && typeof item[0][0] === "string") {
      if (Array.isArray(item[1])) ids.push(...idsFromTuples(item[1], subject, column));
      else ids.push(item[0][0]);
    } else throw new CorruptValueError(subject, column, "expected result tuples [[id, parent], children]");
  }
  return ids;
}

/** A stored group, with its nesting and parent: `[[groupId, parent], [members]]`. */
export type GroupTupleShape = [[string, ResultTuple | null], ResultTuple[]];

/**
 * A stored group as its as_tuple() tree: the tuple taskledger and Celery 5.7 write (also
 * Celery's legacy `[id, children]` form inside it), or the pickled GroupResult Celery 5.6 and
 * older write. Nested groups stay groups and parents are kept.
 */
export function groupTupleFrom(value: unknown, groupId: string): GroupTupleShape {
  const tuple = toResultTuple(value, groupId);
  if (tuple[1] === null)
    throw new CorruptValueError(groupId, "group result", "expected a group tuple [[groupId, parent], [members]] or a pickled GroupResult");
  return tuple as GroupTupleShape;
}

/** Every task id under a result tuple, in order (a group's members, nested groups walked into). */
export function leafIds(tuple: ResultTuple): string[] {
  const [[id], members] = tuple;
  return members === null ? [id] : members.flatMap(leafIds);
}

function toResultTuple(value: unknown, groupId: string): ResultTuple {
  if (typeof value === "string") return [[value, null], null];
  if (value instanceof PythonResultRef) {
    const parent = value.parent ? toResultTuple(value.parent, groupId) : null;
    return [[value.id, parent], value.kind === "GroupResult" ? value.children.map((child) => toResultTuple(child, groupId)) : null];
  }
  if (Array.isArray(value) && value.length === 2) {
    const [head, members] = value as [unknown, unknown];
    // As Celery's result_from_tuple: the head is `[id, parent]`, or (legacy) the id alone.
    const [id, parent] = Array.isArray(head) && head.length === 2 ? head : [head, null];
    if (typeof id === "string" && (members === null || Array.isArray(members))) {
      return [
        [id, parent == null ? null : toResultTuple(parent, groupId)],
        members === null ? null : members.map((member) => toResultTuple(member, groupId)),
      ];
    }
  }
  throw new CorruptValueError(groupId, "group result", "expected result tuples [[id, parent], children] in the group");
}
