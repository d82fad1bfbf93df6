/** Celery's result_from_tuple(): rebuilds results from their as_tuple() form (or a bare id). */
import type { DatabaseBackend } from "../backend/database-backend.js";
import { TaskledgerError } from "../errors.js";
import { AsyncResult, type ResultTuple } from "./async-result.js";
import { GroupResult, type GroupTuple } from "./group-result.js";

export function resultFromTuple(tuple: ResultTuple | GroupTuple | string, backend: DatabaseBackend): AsyncResult | GroupResult {
  if (typeof tuple === "string") return new AsyncResult(tuple, backend);
  if (!Array.isArray(tuple) || !Array.isArray(tuple[0]) || typeof tuple[0][0] !== "string") {
    throw new TaskledgerError("not a result tuple: expected [[id, parent], children] or an id");
  }
  const [[id, parentTuple], members] = tuple;
  const parent = parentTuple ? (resultFromTuple(parentTuple, backend) as AsyncResult) : null;
  if (Array.isArray(members)) {
    return new GroupResult(id, members.map((m) => resultFromTuple(m, backend) as AsyncResult), backend, parent);
  }
  return new AsyncResult(id, backend, parent);
}
