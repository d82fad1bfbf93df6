/**
 * Reading and writing the binary columns: result, args, kwargs, children and group rows.
 * Decoding never throws anything but CorruptValueError, naming the task and column.
 */
import { CorruptValueError } from "../errors.js";
import { jsonTooDeep, unwalkable, VALUE_MAX_DEPTH } from "./depth.js";
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
    // A pickle may share and contain itself; whoever walks the value next recurses (#9).
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

export function encodeGroupTuple(groupId: string, ids: readonly string[]): Buffer {
  return Buffer.from(encodeJsonText([[groupId, null], ids.map((id) => [[id, null], null])]), "utf8");
}

/** Ids out of a list of result tuples; a nested group contributes its members. */
export function idsFromTuples(value: unknown, subject: string, column: string): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new CorruptValueError(subject, column, "expected a list of result tuples");
  const ids: string[] = [];
  for (const item of value) {
    if (typeof item === "string") ids.push(item);
    else if (item instanceof PythonResultRef) ids.push(...(item.kind === "GroupResult" ? idsFromGroupTuple(item, subject) : [item.id]));
    else if (Array.isArray(item) && Array.isArray(item[0]) && typeof item[0][0] === "string") {
      if (Array.isArray(item[1])) ids.push(...idsFromTuples(item[1], subject, column));
      else ids.push(item[0][0]);
    } else throw new CorruptValueError(subject, column, "expected result tuples [[id, parent], children]");
  }
  return ids;
}

/**
 * The member ids of a stored group: the tuple `[[groupId, parent], [...members]]` taskledger and
 * Celery 5.7 write, or the pickled GroupResult Celery 5.6 and older write.
 */
export function idsFromGroupTuple(value: unknown, groupId: string): string[] {
  if (value instanceof PythonResultRef) return value.children.flatMap((child) => (child.kind === "GroupResult" ? idsFromGroupTuple(child, groupId) : [child.id]));
  if (Array.isArray(value) && value.length === 2 && Array.isArray(value[1])) return idsFromTuples(value[1], groupId, "group result");
  throw new CorruptValueError(groupId, "group result", "expected a group tuple [[groupId, parent], [members]] or a pickled GroupResult");
}

