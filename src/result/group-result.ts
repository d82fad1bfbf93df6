/**
 * GroupResult: a ResultSet with an id, saved to and restored from the TaskSet table
 * (celery_tasksetmeta) as Celery's GroupResult.save()/restore() do.
 */
import { randomUUID } from "node:crypto";
import type { DatabaseBackend } from "../backend/database-backend.js";
import type { AsyncResult, ResultTuple } from "./async-result.js";
import { ResultSet } from "./result-set.js";

/** `[[groupId, parent], [member tuples]]`: Celery's as_tuple() form of a group. */
export type GroupTuple = [[string, ResultTuple | null], ResultTuple[]];

export class GroupResult extends ResultSet {
  constructor(
    readonly id: string = randomUUID(),
    results: Iterable<AsyncResult | string>,
    backend: DatabaseBackend,
    readonly parent: AsyncResult | null = null,
  ) {
    super(results, backend);
  }

  /** The members, as Celery's `children`. */
  get children(): AsyncResult[] {
    return this.results;
  }

  /** Stores the member ids under the group id (a second save replaces the first). */
  async save(): Promise<this> {
    await this.backend.saveGroup(this.id, this.results.map((r) => r.id));
    return this;
  }

  /** Deletes the saved group (its tasks' results stay). */
  async delete(): Promise<boolean> {
    return this.backend.deleteGroup(this.id);
  }

  /** A saved group, or null when none was saved under `id`. */
  static async restore(id: string, backend: DatabaseBackend): Promise<GroupResult | null> {
    const saved = await backend.restoreGroup(id);
    return saved ? new GroupResult(saved.groupId, saved.results, backend) : null;
  }

  asTuple(): GroupTuple {
    return [[this.id, this.parent ? this.parent.asTuple() : null], this.asTuples()];
  }

  override toString(): string {
    return this.id;
  }
}
