/**
 * GroupResult: a ResultSet with an id, saved to and restored from the TaskSet table
 * (celery_tasksetmeta) as Celery's GroupResult.save()/restore() do. A member may be a group
 * itself; saving keeps that nesting and the group's parent, in Celery's as_tuple() form.
 */
import { randomUUID } from "node:crypto";
import type { ResultBackend } from "../backend/result-backend.js";
import type { ResultTuple } from "../types.js";
import { TaskledgerError } from "../errors.js";
import { AsyncResult } from "./async-result.js";
import { ResultSet, type ResultMember } from "./result-set.js";

/** `[[groupId, parent], [member tuples]]`: Celery's as_tuple() form of a group. */
export type GroupTuple = [[string, ResultTuple | null], ResultTuple[]];

export class GroupResult extends ResultSet {
  constructor(
    readonly id: string = randomUUID(),
    results: Iterable<ResultMember | string>,
    backend: ResultBackend,
    /** The result this group was chained from, if known (a chain ending in a group). */
    readonly parent: AsyncResult | null = null,
  ) {
    super(results, backend);
  }

  /** The members, as Celery's `children`. */
  get children(): ResultMember[] {
    return this.results;
  }

  /** Stores the group's tree under its id (a second save replaces the first), nested groups and parent included. */
  async save(): Promise<this> {
    await this.backend.saveGroup(this.id, this.asTuples(), { parent: this.parent ? this.parent.asTuple() : null });
    return this;
  }

  /** Deletes the saved group (its tasks' results stay). */
  async delete(): Promise<boolean> {
    return this.backend.deleteGroup(this.id);
  }

  /** A saved group, or null when none was saved under `id`. Nested groups come back as GroupResults. */
  static async restore(id: string, backend: ResultBackend): Promise<GroupResult | null> {
    const saved = await backend.restoreGroup(id);
    if (!saved) return null;
    const [[, parent], members] = saved.tuple;
    return new GroupResult(
      saved.groupId,
      members.map((m) => resultFromTuple(m, backend)),
      backend,
      parent ? (resultFromTuple(parent, backend) as AsyncResult) : null,
    );
  }

  asTuple(): GroupTuple {
    return [[this.id, this.parent ? this.parent.asTuple() : null], this.asTuples()];
  }

  override toString(): string {
    return this.id;
  }
}

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
export function resultFromTuple(
  tuple: ResultTuple | GroupTuple | LegacyResultTuple | string,
  backend: ResultBackend,
): AsyncResult | GroupResult {
  if (typeof tuple === "string") return new AsyncResult(tuple, backend);
  if (!Array.isArray(tuple) || tuple.length !== 2) throw notATuple();
  const [head, members] = tuple as [unknown, unknown];
  // As Celery's result_from_tuple: `(id, parent)` when the head is a pair, else the head is the id.
  const [id, parentTuple] = Array.isArray(head) ? head : [head, null];
  if (typeof id !== "string" || (members != null && !Array.isArray(members))) throw notATuple();
  const parent = parentTuple ? (resultFromTuple(parentTuple as ResultTuple, backend) as AsyncResult) : null;
  if (Array.isArray(members)) {
    return new GroupResult(
      id,
      members.map((m) => resultFromTuple(m as ResultTuple, backend)),
      backend,
      parent,
    );
  }
  return new AsyncResult(id, backend, parent);
}

function notATuple(): TaskledgerError {
  return new TaskledgerError("not a result tuple: expected [[id, parent], children], [id, children] or an id");
}
