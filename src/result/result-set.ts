/**
 * ResultSet: many results handled as one. Every status check and every poll of join() is ONE
 * query for all members still unready (Celery's DB backend reads them one by one).
 */
import type { DatabaseBackend, MetaOrCorrupt } from "../backend/database-backend.js";
import { TaskledgerError } from "../errors.js";
import { FAILURE, isReady, PROPAGATE_STATES, REVOKED, SUCCESS } from "../states.js";
import type { TaskMeta } from "../types.js";
import { AsyncResult, type GetOptions, type ResultCallback } from "./async-result.js";
import { resolveWait, waitUntil } from "./wait.js";

export class ResultSet {
  readonly results: AsyncResult[];
  /** Metas of members known to be ready: never read again. */
  protected readonly settled = new Map<string, TaskMeta>();

  constructor(
    results: Iterable<AsyncResult | string>,
    readonly backend: DatabaseBackend,
  ) {
    this.results = [...results].map((r) => this.toResult(r));
  }

  get length(): number {
    return this.results.length;
  }

  [Symbol.iterator](): Iterator<AsyncResult> {
    return this.results[Symbol.iterator]();
  }

  /** Adds a result unless one with the same id is a member already. */
  add(result: AsyncResult | string): void {
    const r = this.toResult(result);
    if (!this.results.some((m) => m.id === r.id)) this.results.push(r);
  }

  /** Removes a member; throws when it is not one (Celery's remove). */
  remove(result: AsyncResult | string): void {
    if (!this.discard(result)) throw new TaskledgerError(`${String(result)} is not a member of this result set`);
  }

  /** Removes a member if present; returns whether it was. */
  discard(result: AsyncResult | string): boolean {
    const id = typeof result === "string" ? result : result.id;
    const index = this.results.findIndex((m) => m.id === id);
    if (index < 0) return false;
    this.results.splice(index, 1);
    this.settled.delete(id);
    return true;
  }

  update(results: Iterable<AsyncResult | string>): void {
    for (const r of results) this.add(r);
  }

  clear(): void {
    this.results.length = 0;
    this.settled.clear();
  }

  /** Every member's meta, in member order, reading only the unready ones (one query). */
  async metas(): Promise<TaskMeta[]> {
    const unknown = this.results.filter((r) => !this.settled.has(r.id)).map((r) => r.id);
    if (unknown.length > 0) {
      const read = await this.backend.getManyTaskMeta(unknown);
      for (const [id, meta] of read) this.remember(id, meta);
    }
    return this.results.map((r) => this.settled.get(r.id) ?? this.lastRead.get(r.id)!);
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

  /** How many members succeeded (Celery's completed_count). */
  async completedCount(): Promise<number> {
    return (await this.metas()).filter((m) => m.status === SUCCESS).length;
  }

  /**
   * Without waiting, in member order: throws the first error among members failed or revoked
   * (unless `propagate` is false) and calls `callback(taskId, value)` for each member before it,
   * as Celery's maybe_throw. Returns the members' values (an Error for a failed one).
   */
  async maybeThrow(options: { propagate?: boolean; callback?: ResultCallback } = {}): Promise<unknown[]> {
    const propagate = options.propagate ?? true;
    const metas = await this.metas();
    return metas.map((meta) => {
      if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
      options.callback?.(meta.taskId, meta.result);
      return meta.result;
    });
  }

  async forget(): Promise<void> {
    await this.backend.forget(this.results.map((r) => r.id));
    this.settled.clear();
  }

  /** Revokes every member not ready yet; returns how many revokes were recorded. */
  async revoke(reason = "revoked"): Promise<number> {
    let count = 0;
    for (const r of this.results) if (await r.revoke(reason)) count++;
    return count;
  }

  /**
   * Waits for every member and returns their values in member order. With `propagate` (default)
   * the first failure to be seen is thrown at once, without waiting for the rest. With
   * `callback`, once all are ready it is called with (taskId, value) per member in member order,
   * and join returns [] (Celery's join with a callback returns no values either).
   */
  async join(options: GetOptions = {}): Promise<unknown[]> {
    const wait = resolveWait(options);
    const propagate = options.propagate ?? true;
    const unready = this.results.filter((r) => !this.settled.has(r.id)).map((r) => r.id);
    if (propagate) await this.maybeThrowSettled();
    if (unready.length > 0) {
      await waitUntil(this.backend, unready, wait, (id, meta) => {
        this.remember(id, meta);
        if (propagate && !(meta instanceof Error) && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
      }, undefined, this.results.length);
    }
    const values = this.results.map((r) => this.settled.get(r.id)!.result);
    if (!options.callback) return values;
    this.results.forEach((r, index) => options.callback!(r.id, values[index]));
    return [];
  }

  /** Alias of join(). */
  get(options: GetOptions = {}): Promise<unknown[]> {
    return this.join(options);
  }

  /**
   * Yields [result, value] for each member as it becomes ready (those ready already first, then
   * in completion order), one query per poll. With `propagate` a failed member throws when reached.
   */
  async *iterate(options: GetOptions = {}): AsyncGenerator<[AsyncResult, unknown]> {
    const wait = resolveWait(options);
    const propagate = options.propagate ?? true;
    const remaining = new Map(this.results.map((r) => [r.id, r]));
    while (remaining.size > 0) {
      const pending = [...remaining.keys()].filter((id) => !this.settled.has(id));
      let readyInRound = 0;
      await waitUntil(this.backend, pending, wait, (id, meta) => {
        if (this.remember(id, meta)) readyInRound++;
      }, () => readyInRound > 0, this.results.length);
      for (const [id, result] of remaining) {
        const meta = this.settled.get(id);
        if (!meta) continue;
        remaining.delete(id);
        if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
        yield [result, meta.result];
      }
    }
  }

  /** `[[id, parent], null]` tuples of the members. */
  asTuples() {
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

  private async maybeThrowSettled(): Promise<void> {
    for (const r of this.results) {
      const meta = this.settled.get(r.id);
      if (meta && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
    }
  }

  private toResult(result: AsyncResult | string): AsyncResult {
    return typeof result === "string" ? new AsyncResult(result, this.backend) : result;
  }
}
