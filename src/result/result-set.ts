/**
 * ResultSet: many results handled as one. Every status check and every poll of join() is ONE
 * query for all tasks still unready (Celery's DB backend reads them one by one). A member may be
 * a GroupResult itself: its tasks are read in the same query, and join() gives its values as a
 * nested array, as Celery's join does.
 */
import type { MetaOrCorrupt, ResultBackend } from "../backend/result-backend.js";
import { TaskledgerError } from "../errors.js";
import { FAILURE, isReady, PROPAGATE_STATES, REVOKED, SUCCESS } from "../states.js";
import type { ResultTuple, TaskMeta } from "../types.js";
import { AsyncResult, type GetOptions, type ResultCallback } from "./async-result.js";
import { resolveWait, waitUntil } from "./wait.js";

/**
 * A group as a member of a set: a ResultSet with its own id, as GroupResult is. Spelled as an
 * interface here rather than imported, because GroupResult extends ResultSet: naming it would
 * make ./group-result.ts and this module import each other. `instanceof GroupResult` narrows a
 * member to the class.
 */
export interface GroupMember extends ResultSet {
  readonly id: string;
  readonly parent: AsyncResult | null;
  asTuple(): ResultTuple;
}

/** A member of a set: one task's result, or a whole group. */
export type ResultMember = AsyncResult | GroupMember;

export class ResultSet {
  readonly results: ResultMember[];
  /** Metas of tasks known to be ready: never read again. */
  protected readonly settled = new Map<string, TaskMeta>();

  constructor(
    results: Iterable<ResultMember | string>,
    readonly backend: ResultBackend,
  ) {
    this.results = [...results].map((r) => this.toResult(r));
  }

  get length(): number {
    return this.results.length;
  }

  [Symbol.iterator](): Iterator<ResultMember> {
    return this.results[Symbol.iterator]();
  }

  /** Adds a result unless one with the same id is a member already. */
  add(result: ResultMember | string): void {
    const r = this.toResult(result);
    if (!this.results.some((m) => m.id === r.id)) this.results.push(r);
  }

  /** Removes a member; throws when it is not one (Celery's remove). */
  remove(result: ResultMember | string): void {
    if (!this.discard(result)) throw new TaskledgerError(`${String(result)} is not a member of this result set`);
  }

  /** Removes a member if present; returns whether it was. */
  discard(result: ResultMember | string): boolean {
    const id = typeof result === "string" ? result : result.id;
    const index = this.results.findIndex((m) => m.id === id);
    if (index < 0) return false;
    this.results.splice(index, 1);
    this.settled.delete(id);
    return true;
  }

  update(results: Iterable<ResultMember | string>): void {
    for (const r of results) this.add(r);
  }

  clear(): void {
    this.results.length = 0;
    this.settled.clear();
  }

  /** Every task under this set, in member order, nested groups walked into. */
  leaves(): AsyncResult[] {
    return this.results.flatMap((member) => (member instanceof ResultSet ? member.leaves() : [member]));
  }

  /** Every task's meta (leaves(), in order), reading only the unready ones (one query). */
  async metas(): Promise<TaskMeta[]> {
    await this.readUnsettled();
    return this.leaves().map((r) => this.metaOf(r));
  }

  async ready(): Promise<boolean> {
    return (await this.metas()).every((m) => isReady(m.status));
  }

  /** Whether every member succeeded. */
  async successful(): Promise<boolean> {
    return (await this.metas()).every((m) => m.status === SUCCESS);
  }

  /** Whether any member failed (FAILURE only, as Celery's failed(); see revoked()). */
  async failed(): Promise<boolean> {
    return (await this.metas()).some((m) => m.status === FAILURE);
  }

  /** Whether any member was revoked. */
  async revoked(): Promise<boolean> {
    return (await this.metas()).some((m) => m.status === REVOKED);
  }

  /** Whether any member is not ready yet. */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /** How many members succeeded (Celery's completed_count); a nested group counts once, when all its tasks did. */
  async completedCount(): Promise<number> {
    await this.readUnsettled();
    const succeeded = (member: ResultMember): boolean =>
      member instanceof ResultSet
        ? member.leaves().every((leaf) => this.metaOf(leaf).status === SUCCESS)
        : this.metaOf(member).status === SUCCESS;
    return this.results.filter(succeeded).length;
  }

  /**
   * Without waiting, task by task in member order: throws the first error among tasks failed or
   * revoked (unless `propagate` is false) and calls `callback(taskId, value)` for each task before
   * it, as Celery's maybe_throw. Returns the members' values (a nested group's as an array).
   */
  async maybeThrow(options: { propagate?: boolean; callback?: ResultCallback } = {}): Promise<unknown[]> {
    const propagate = options.propagate ?? true;
    for (const meta of await this.metas()) {
      if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
      options.callback?.(meta.taskId, meta.result);
    }
    return this.results.map((member) => this.valueOf(member));
  }

  async forget(): Promise<void> {
    await this.backend.forget(this.leaves().map((r) => r.id));
    this.settled.clear();
  }

  /** Revokes every task not ready yet; returns how many revokes were recorded. */
  async revoke(reason = "revoked"): Promise<number> {
    let count = 0;
    for (const r of this.leaves()) if (await r.revoke(reason)) count++;
    return count;
  }

  /**
   * Waits for every member and returns their values in member order, a nested group's as an
   * array. With `propagate` (default) the first failure to be seen is thrown at once, without
   * waiting for the rest. With `callback`, once all are ready it is called with (id, value) per
   * member in member order, and join returns [] (Celery's join with a callback returns no values).
   */
  async join(options: GetOptions = {}): Promise<unknown[]> {
    const wait = resolveWait(options);
    const propagate = options.propagate ?? true;
    const leaves = this.leaves();
    const unready = leaves.filter((r) => !this.settled.has(r.id)).map((r) => r.id);
    if (propagate) this.maybeThrowSettled(leaves);
    if (unready.length > 0) {
      await waitUntil(
        this.backend,
        unready,
        wait,
        (id, meta) => {
          this.remember(id, meta);
          if (propagate && !(meta instanceof Error) && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
        },
        undefined,
        new Set(leaves.map((r) => r.id)).size,
      );
    }
    const values = this.results.map((member) => this.valueOf(member));
    if (!options.callback) return values;
    this.results.forEach((r, index) => options.callback!(r.id, values[index]));
    return [];
  }

  /** Alias of join(). */
  get(options: GetOptions = {}): Promise<unknown[]> {
    return this.join(options);
  }

  /**
   * Yields [result, value] for each task as it becomes ready (those ready already first, then
   * in completion order; nested groups walked into), one query per poll. With `propagate` a failed
   * task throws when reached.
   */
  async *iterate(options: GetOptions = {}): AsyncGenerator<[AsyncResult, unknown]> {
    const wait = resolveWait(options);
    const propagate = options.propagate ?? true;
    const remaining = new Map(this.leaves().map((r) => [r.id, r]));
    while (remaining.size > 0) {
      const pending = [...remaining.keys()].filter((id) => !this.settled.has(id));
      let readyInRound = 0;
      await waitUntil(
        this.backend,
        pending,
        wait,
        (id, meta) => {
          if (this.remember(id, meta)) readyInRound++;
        },
        () => readyInRound > 0,
        remaining.size,
      );
      for (const [id, result] of remaining) {
        const meta = this.settled.get(id);
        if (!meta) continue;
        remaining.delete(id);
        if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
        yield [result, meta.result];
      }
    }
  }

  /** The members' as_tuple() forms: `[[id, parent], null]`, or a nested group's own tree. */
  asTuples(): ResultTuple[] {
    return this.results.map((r) => r.asTuple());
  }

  private readonly lastRead = new Map<string, TaskMeta>();

  /** Records a read meta; returns true when the member is ready. Corrupt rows throw. */
  protected remember(id: string, meta: MetaOrCorrupt): boolean {
    if (meta instanceof Error) throw meta;
    this.lastRead.set(id, meta);
    if (!isReady(meta.status)) return false;
    this.settled.set(id, meta);
    return true;
  }

  private maybeThrowSettled(leaves: AsyncResult[]): void {
    for (const r of leaves) {
      const meta = this.settled.get(r.id);
      if (meta && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
    }
  }

  /** Reads every task not known to be ready, in one query. */
  private async readUnsettled(): Promise<void> {
    const unknown = [
      ...new Set(
        this.leaves()
          .filter((r) => !this.settled.has(r.id))
          .map((r) => r.id),
      ),
    ];
    if (unknown.length === 0) return;
    const read = await this.backend.getManyTaskMeta(unknown);
    for (const [id, meta] of read) this.remember(id, meta);
  }

  private metaOf(result: AsyncResult): TaskMeta {
    return this.settled.get(result.id) ?? this.lastRead.get(result.id)!;
  }

  /** A member's value from what was read: a task's result, or a nested group's values as an array. */
  private valueOf(member: ResultMember): unknown {
    return member instanceof ResultSet ? member.results.map((inner) => this.valueOf(inner)) : this.metaOf(member).result;
  }

  private toResult(result: ResultMember | string): ResultMember {
    return typeof result === "string" ? new AsyncResult(result, this.backend) : result;
  }
}
