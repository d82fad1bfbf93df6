/**
 * AsyncResult: the receipt a caller holds for one task, and asks the store about. Celery's
 * AsyncResult in TypeScript's conventions: async reads, milliseconds, typed results. Once the
 * task is ready its meta is cached and never read again.
 *
 * Deliberately not a thenable: Celery's `then(callback)` would make `await result` (or an async
 * function returning a result) wait on the task silently and forever. Use get() or promise().
 */
import type { DatabaseBackend } from "../backend/database-backend.js";
import { IncompleteStreamError, InvalidIdError } from "../errors.js";
import { FAILURE, isReady, PROPAGATE_STATES, SUCCESS, type TaskState } from "../states.js";
import type { TaskEvent, TaskMeta } from "../types.js";
import { resolveWait, waitUntil, type WaitOptions } from "./wait.js";

export interface GetOptions extends WaitOptions {
  /** Throw the task's error for FAILURE and REVOKED (default true); otherwise return it. */
  propagate?: boolean;
  /** With propagate, first throw a failed parent's error (default true). */
  followParents?: boolean;
}

/** `[[id, parentTuple], null]`: Celery's as_tuple() form of one result. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

export class AsyncResult<T = unknown> {
  /** When true, get() returns null without waiting (Celery's `ignored`). */
  ignored = false;
  private cached: TaskMeta | undefined;

  constructor(
    readonly id: string,
    readonly backend: DatabaseBackend,
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
  async meta(): Promise<TaskMeta> {
    if (this.cached) return this.cached;
    const meta = await this.backend.getTaskMeta(this.id);
    if (isReady(meta.status)) this.cached = meta;
    return meta;
  }

  /**
   * Every recorded change of the task's state, oldest first (#11): when it was sent, received,
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

  /** Deletes the stored result (and, as Celery does, the parents'). */
  async forget(): Promise<void> {
    this.cached = undefined;
    await this.parent?.forget();
    await this.backend.forget(this.id);
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
  async get(options: GetOptions = {}): Promise<T> {
    if (this.ignored) return null as T;
    const wait = resolveWait(options);
    const propagate = options.propagate ?? true;
    if (propagate && (options.followParents ?? true) && this.parent) await this.parent.maybeThrow();
    if (!this.cached) {
      await waitUntil(this.backend, [this.id], wait, (_, meta) => {
        if (meta instanceof Error) throw meta;
        if (isReady(meta.status)) this.cached = meta;
      });
    }
    const meta = this.cached!;
    if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
    return meta.result as T;
  }

  /** Alias of get(). */
  wait(options: GetOptions = {}): Promise<T> {
    return this.get(options);
  }

  /** A Promise of the value: what Celery's then() offers, without making this object a thenable. */
  promise(options: GetOptions = {}): Promise<T> {
    return this.get(options);
  }

  /** Throws the stored error if the task failed or was revoked; does not wait. */
  async maybeThrow(): Promise<void> {
    const meta = await this.meta();
    if (PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) throw meta.result;
  }

  /**
   * Walks this result and its descendants breadth first, yielding [result, value] pairs as
   * Celery's collect() does (each value through get(), so failures propagate unless
   * `propagate: false`). An unready node throws IncompleteStreamError, unless `intermediate`,
   * when collect waits for it.
   */
  async *collect(options: GetOptions & { intermediate?: boolean } = {}): AsyncGenerator<[AsyncResult, unknown]> {
    const queue: AsyncResult[] = [this];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const node = queue.shift()!;
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      if (!(await node.ready()) && !options.intermediate) throw new IncompleteStreamError(node.id);
      yield [node, await node.get(options)];
      queue.push(...(await node.children()));
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
