/** Celery's result_from_tuple(): rebuilds results from their as_tuple() form (or a bare id). */
import type { DatabaseBackend } from "../backend/database-backend.js";
import { TaskledgerError } from "../errors.js";
import { AsyncResult, type ResultTuple } from "./async-result.js";
import { GroupResult, type GroupTuple } from "./group-result.js";

/**
 * The older form Celery still reads: `[id, null]` for one result and `[groupId, [members]]` for a
 * group, the id standing alone where as_tuple() has `[id, parent]`.
 */
export type LegacyResultTuple = [string, (ResultTuple | GroupTuple | LegacyResultTuple)[] | null];

/**
 * A result from `[[id, parent], children]`, Celery's legacy `[id, children]`, or a bare id. A
 * non-null children list makes a GroupResult (members may be groups themselves); the parent, when
 * present, is rebuilt too.
 */
export function resultFromTuple(tuple: ResultTuple | GroupTuple | LegacyResultTuple | string, backend: DatabaseBackend): AsyncResult | GroupResult {
  if (typeof tuple === "string") return new AsyncResult(tuple, backend);
  if (!Array.isArray(tuple) || tuple.length !== 2) throw notATuple();
  const [head, members] = tuple as [unknown, unknown];
  // As Celery's result_from_tuple: `(id, parent)` when the head is a pair, else the head is the id.
  const [id, parentTuple] = Array.isArray(head) ? head : [head, null];
  if (typeof id !== "string" || (members != null && !Array.isArray(members))) throw notATuple();
  const parent = parentTuple ? (resultFromTuple(parentTuple as ResultTuple, backend) as AsyncResult) : null;
  if (Array.isArray(members)) {
    return new GroupResult(id, members.map((m) => resultFromTuple(m as ResultTuple, backend) as AsyncResult), backend, parent);
  }
  return new AsyncResult(id, backend, parent);
}

function notATuple(): TaskledgerError {
  return new TaskledgerError("not a result tuple: expected [[id, parent], children], [id, children] or an id");
}
