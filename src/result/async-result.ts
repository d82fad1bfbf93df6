/**
 * AsyncResult: the receipt a caller holds for one task, and asks the store about. Celery's
 * AsyncResult in TypeScript's conventions: async reads, milliseconds, typed results. Once the
 * task is ready its meta is cached and never read again.
 *
 * Deliberately not a thenable: Celery's `then(callback)` would make `await result` (or an async
 * function returning a result) wait on the task silently and forever. Use get() or promise().
 */
import type { ResultBackend } from "../backend/result-backend.js";
import { IncompleteStreamError, InvalidIdError } from "../errors.js";
import { FAILURE, isReady, PROPAGATE_STATES, SUCCESS, type TaskState } from "../states.js";
import type { ResultTuple, TaskEvent, TaskMeta } from "../types.js";
import type { GetOptions, NoPropagate, Propagate, ResultCallback, ResultLike } from "./result-like.js";
import { resolveWait, waitUntil } from "./wait.js";

export type { GetOptions, ResultCallback };

/** Celery's as_tuple() form: `[[id, parentTuple], null]` for one result (a group's has its members). */
export type { ResultTuple } from "../types.js";

export class AsyncResult<T = unknown> implements ResultLike<T> {
  /** When true, get() returns null without waiting (Celery's `ignored`). */
  ignored = false;
  private cached: TaskMeta | undefined;

  constructor(
    readonly id: string,
    readonly backend: ResultBackend,
    /** The result this one was chained from, if known. */
    readonly parent: AsyncResult | null = null,
  ) {
    if (typeof id !== "string" || id.length === 0) throw new InvalidIdError("task", id, "an AsyncResult needs a task id");
  }

  /** Alias of id, as in Celery. */
  get taskId(): string {
    return this.id;
  }

  /** The task's stored meta; read again on every call until the task is ready. */
  async meta(): Promise<TaskMeta<T>> {
    if (this.cached) return this.cached as TaskMeta<T>;
    const meta = await this.backend.getTaskMeta(this.id);
    if (isReady(meta.status)) this.cached = meta;
    return meta as TaskMeta<T>;
  }

  /**
   * Every recorded change of the task's state, oldest first: when it was sent, received,
   * started, each retry with its exception, and how it ended; Celery's writes included.
   */
  history(): Promise<TaskEvent[]> {
    return this.backend.getTaskHistory(this.id);
  }

  async state(): Promise<TaskState> {
    return (await this.meta()).status;
  }

  /** Alias of state(). */
  status(): Promise<TaskState> {
    return this.state();
  }

  async ready(): Promise<boolean> {
    return isReady(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === FAILURE;
  }

  /** The return value, or the Error for FAILURE, RETRY and REVOKED, without waiting. */
  async result(): Promise<T | Error | null> {
    return (await this.meta()).result as T | Error | null;
  }

  /** Alias of result(). */
  info(): Promise<T | Error | null> {
    return this.result();
  }

  async traceback(): Promise<string | null> {
    return (await this.meta()).traceback;
  }

  async dateDone(): Promise<Date | null> {
    return (await this.meta()).dateDone;
  }

  async name(): Promise<string | null> {
    return (await this.meta()).name;
  }

  async args(): Promise<unknown[] | null> {
    return (await this.meta()).args;
  }

  async kwargs(): Promise<Record<string, unknown> | null> {
    return (await this.meta()).kwargs;
  }

  async worker(): Promise<string | null> {
    return (await this.meta()).worker;
  }

  async retries(): Promise<number | null> {
    return (await this.meta()).retries;
  }

  async queue(): Promise<string | null> {
    return (await this.meta()).queue;
  }

  /** Whether the store has a row for this id (an unknown id and a stored PENDING both read PENDING). */
  exists(): Promise<boolean> {
    return this.backend.exists(this.id);
  }

  /**
   * Deletes the stored result and, as Celery does, its parents': all in one call to the backend
   * (one statement), so a chain is never left half forgotten.
   */
  async forget(): Promise<void> {
    const chain = [...this.ancestors(), this];
    for (const node of chain) node.cached = undefined;
    await this.backend.forget(chain.map((node) => node.id));
  }

  /**
   * Records REVOKED for a task that is not ready yet; a finished task keeps its outcome. No
   * broker is involved: a worker running it through runTask() sees the revoke and aborts.
   * Returns whether the revoke was recorded.
   */
  async revoke(reason = "revoked"): Promise<boolean> {
    const written = await this.backend.markAsRevoked(this.id, reason, { onlyIfUnready: true });
    if (written) this.cached = undefined;
    return written;
  }

  /** The results this task spawned, as stored by its worker. */
  async children(): Promise<AsyncResult[]> {
    return (await this.meta()).children.map((id) => new AsyncResult(id, this.backend, this));
  }

  /** The parent as stored by the worker (parentId), or the one this result was built with. */
  async getParent(): Promise<AsyncResult | null> {
    if (this.parent) return this.parent;
    const parentId = (await this.meta()).parentId;
    return parentId ? new AsyncResult(parentId, this.backend) : null;
  }

  /**
   * Waits for the task and returns its value. FAILURE and REVOKED throw the rebuilt error (with
   * the remote traceback) unless `propagate` is false, when the error is returned. A timeout
   * throws TimeoutError naming the task and the time waited.
   */
  get(options: NoPropagate): Promise<T | Error>;
  get(options?: Propagate): Promise<T>;
  get(options: GetOptions): Promise<T | Error>;
  async get(options: GetOptions = {}): Promise<T | Error> {
    if (this.ignored) return null as T;
    const wait = resolveWait(options);
    const propagate = options.propagate ?? true;
    // Celery's follow_parents: every ancestor (oldest first) is checked before this result, and
    // again after every wake-up and re-read, so a failure anywhere up the chain ends the wait.
    // The unready ancestors are read in the same query as this result.
    const ancestors = propagate && (options.followParents ?? true) ? this.ancestors() : [];
    const throwIfAncestorFailed = (): void => {
      for (const node of ancestors) node.throwIfCachedFailure();
    };
    throwIfAncestorFailed();
    const unread = [this, ...ancestors].filter((node) => !node.cached);
    if (unread.length > 0) {
      const byId = new Map(unread.map((node) => [node.id, node]));
      await waitUntil(
        this.backend,
        unread.map((node) => node.id),
        wait,
        (id, meta) => {
          if (meta instanceof Error) throw meta;
          byId.get(id)?.absorb(meta);
        },
        () => {
          throwIfAncestorFailed();
          return this.cached !== undefined;
        },
        1,
      );
      throwIfAncestorFailed();
    }
    return this.settle(this.cached!, propagate, options.callback);
  }

  /** Alias of get(). */
  wait(options: NoPropagate): Promise<T | Error>;
  wait(options?: Propagate): Promise<T>;
  wait(options: GetOptions): Promise<T | Error>;
  wait(options: GetOptions = {}): Promise<T | Error> {
    return this.get(options);
  }

  /** A Promise of the value: what Celery's then() offers, without making this object a thenable. */
  promise(options: NoPropagate): Promise<T | Error>;
  promise(options?: Propagate): Promise<T>;
  promise(options: GetOptions): Promise<T | Error>;
  promise(options: GetOptions = {}): Promise<T | Error> {
    return this.get(options);
  }

  /**
   * Without waiting: throws the stored error if the task failed or was revoked (unless
   * `propagate` is false), calls `callback(taskId, value)`, and returns the value (or the
   * Error), as Celery's maybe_throw.
   */
  async maybeThrow(options: { propagate?: boolean; callback?: ResultCallback } = {}): Promise<T | Error | null> {
    return this.settle(await this.meta(), options.propagate ?? true, options.callback);
  }

  /** Throws a ready meta's error when propagating, hands the value to the callback, returns it. */
  private settle(meta: TaskMeta, propagate: boolean, callback: ResultCallback | undefined): T {
    if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
    callback?.(this.id, meta.result);
    return meta.result as T;
  }

  /** The results this one was chained from, oldest first (the order Celery checks them in). */
  private ancestors(): AsyncResult[] {
    const chain: AsyncResult[] = [];
    const seen = new Set<string>([this.id]);
    for (let node = this.parent; node && !seen.has(node.id); node = node.parent) {
      seen.add(node.id);
      chain.unshift(node);
    }
    return chain;
  }

  /** Keeps a meta read on this result's behalf (by a waiter reading several ids at once). */
  private absorb(meta: TaskMeta): void {
    if (isReady(meta.status)) this.cached = meta;
  }

  private throwIfCachedFailure(): void {
    const meta = this.cached;
    if (meta && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
  }

  /**
   * Walks this result and its descendants breadth first, yielding [result, value] pairs as
   * Celery's collect() does: each node's value comes from get(options), so collect waits for
   * unready nodes (each with the same options, timeout included) and failures propagate unless
   * `propagate: false`. A node still unready after get() returned (an `ignored`
   * result) throws IncompleteStreamError unless `intermediate`, when it is yielded without its
   * children, as in Celery's iterdeps.
   */
  async *collect(options: GetOptions & { intermediate?: boolean } = {}): AsyncGenerator<[AsyncResult, unknown]> {
    const { intermediate = false, ...getOptions } = options;
    const queue: AsyncResult[] = [this];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const node = queue.shift()!;
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      yield [node, await node.get(getOptions)];
      if (await node.ready()) queue.push(...(await node.children()));
      else if (!intermediate) throw new IncompleteStreamError(node.id);
    }
  }

  /** Celery's as_tuple(): `[[id, parentTuple | null], null]`. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent ? this.parent.asTuple() : null], null];
  }

  /** Equal to another result with the same id, or to the id itself. */
  equals(other: AsyncResult | string): boolean {
    return typeof other === "string" ? other === this.id : other.id === this.id;
  }

  toString(): string {
    return this.id;
  }
}
